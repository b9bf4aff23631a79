"""The register's tables, as SQLAlchemy Core metadata (the source for Alembic migrations).

Times are integer microseconds since the Unix epoch, UTC: the same on SQLite and PostgreSQL,
cheap to compare and to load into Arrow. Contact points are referred to by their keyed hash
(``contact_hash``); only ``contact_points.value`` and ``events.personal`` hold personal data,
and erasure clears exactly those.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()


def _id() -> Column[int]:
    return Column("id", Integer, primary_key=True, autoincrement=True)


principals = Table(
    "principals",
    metadata,
    _id(),
    Column("name", Text, nullable=False, unique=True),
    Column("hash_key", Text, nullable=False),
    Column("sector", Text, nullable=False, server_default="general"),
    Column("head_seq", BigInteger, nullable=False, server_default="0"),
    Column("head_hash", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

events = Table(
    "events",
    metadata,
    _id(),
    Column("principal_id", Integer, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("type", Text, nullable=False),
    Column("contact_hash", Text),
    Column("occurred_at", BigInteger, nullable=False),
    Column("recorded_at", BigInteger, nullable=False),
    Column("data", Text, nullable=False),
    Column("personal", Text),
    Column("personal_digest", Text),
    Column("actor", Text),
    Column("idempotency_key", Text),
    Column("prev_hash", Text, nullable=False),
    Column("hash", Text, nullable=False),
    UniqueConstraint("principal_id", "seq", name="uq_events_seq"),
    UniqueConstraint("principal_id", "idempotency_key", name="uq_events_idempotency"),
    Index("ix_events_contact", "principal_id", "contact_hash"),
)

contact_points = Table(
    "contact_points",
    metadata,
    Column("principal_id", Integer, primary_key=True),
    Column("contact_hash", Text, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("value", Text),
    Column("country", Text),
    Column("region", Text),
    Column("timezones", Text),
    Column("first_seen", BigInteger, nullable=False),
    Column("last_event", BigInteger, nullable=False),
    Column("erased_bucket", Integer),  # set by erasure: see services/erasure.py
)


def _fact_table(name: str, *columns: Column[object]) -> Table:
    return Table(
        name,
        metadata,
        _id(),
        Column("principal_id", Integer, nullable=False),
        Column("contact_hash", Text, nullable=False),
        *columns,
        Column("event_id", Integer, nullable=False),
        Index(f"ix_{name}_contact", "principal_id", "contact_hash"),
    )


consents = _fact_table(
    "consents",
    Column("channel", Text, nullable=False),
    Column("purpose", Text, nullable=False),
    Column("given_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger),
    Column("withdrawn_at", BigInteger),
    Column("source", Text, nullable=False),
)

objections = _fact_table(
    "objections",
    Column("channel", Text, nullable=False),
    Column("purpose", Text, nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("source", Text, nullable=False),
)

refusals = _fact_table(
    "refusals",
    Column("at", BigInteger, nullable=False),
    Column("processor", Text),
)

contracts = _fact_table(
    "contracts",
    Column("start_at", BigInteger, nullable=False),
    Column("end_at", BigInteger),
)

attempts = _fact_table(
    "attempts",
    Column("channel", Text, nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("processor", Text),
    Column("outcome", Text),
)

budgets = _fact_table(
    "budgets",
    Column("channel", Text, nullable=False),
    Column("max_count", Integer, nullable=False),
    Column("period", Text, nullable=False),
    Column("set_at", BigInteger, nullable=False),
)

processors = Table(
    "processors",
    metadata,
    _id(),
    Column("principal_id", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("channels", Text, nullable=False, server_default="all"),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint("principal_id", "name", name="uq_processors_name"),
)

opposition_snapshots = Table(
    "opposition_snapshots",
    metadata,
    _id(),
    Column("list_name", Text, nullable=False),
    Column("as_of", BigInteger, nullable=False),
    Column("valid_until", BigInteger, nullable=False),
    Column("entries", BigInteger, nullable=False),
    Column("imported_at", BigInteger, nullable=False),
)

opposition_blocks = Table(
    "opposition_blocks",
    metadata,
    Column("snapshot_id", Integer, primary_key=True),
    Column("first_number", BigInteger, primary_key=True),
    Column("last_number", BigInteger, nullable=False),
    Column("count", Integer, nullable=False),
    Column("numbers", LargeBinary, nullable=False),
)
"""A snapshot's numbers, sorted, as E.164 digits in int64 (``+33612345678`` → 33612345678),
packed little-endian in blocks of a few thousand: a 12-million-number list is ~3,000 rows that
import in about a second, load into Arrow in a fraction of one, and answer one lookup with one
indexed row and a binary search."""

outbox = Table(
    "outbox",
    metadata,
    _id(),
    Column("principal_id", Integer, nullable=False),
    Column("event_id", Integer, nullable=False),
    Column("contact_hash", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)
