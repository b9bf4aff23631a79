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
    Column("campaign", Text),
)

Index("ix_attempts_at", attempts.c.principal_id, attempts.c.at)

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
    # how opt-outs reach the processor (migration 0008; services/processors.py)
    Column("webhook_url", Text),
    Column("webhook_secret", Text),
    Column("stream_subject", Text),
    Column("files", Text),
    Column("webhook_disabled_at", BigInteger),
    Column("disabled_reason", Text),
    Column("feed", Boolean, nullable=False, server_default="0"),
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
    Column("dispatched_at", BigInteger),  # fanned out into deliveries (migration 0008)
    Index("ix_outbox_pending", "dispatched_at", "id"),
)

api_keys = Table(
    "api_keys",
    metadata,
    _id(),
    Column("principal_id", Integer, nullable=False),
    Column("key_id", Text, nullable=False),
    Column("secret_hash", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("processor", Text),
    Column("label", Text),
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger),
    UniqueConstraint("key_id", name="uq_api_keys_key_id"),
)
"""API keys: ``permis_<key_id>_<secret>``; only the SHA-256 of the secret is stored (the secret
is 32 random bytes, so a fast hash is enough: there is nothing to brute-force)."""

inbound_messages = Table(
    "inbound_messages",
    metadata,
    _id(),
    Column("principal_id", Integer, nullable=False),
    Column("provider", Text, nullable=False),
    Column("provider_id", Text, nullable=False),
    Column("sender_hash", Text, nullable=False),
    Column("recipient", Text),
    Column("body", Text),
    Column("intent", Text, nullable=False),
    Column("event_id", Integer),
    Column("received_at", BigInteger, nullable=False),
    UniqueConstraint("principal_id", "provider", "provider_id", name="uq_inbound_provider_id"),
)
"""Inbound SMS that are not a keyword (and keywords from a sender that is not a valid number):
kept for a human to read, the sender as a keyed hash only; ``body`` is erasable personal data.
``provider_id`` (Twilio's ``MessageSid``) makes a provider's retry a no-op."""

policies = Table(
    "policies",
    metadata,
    Column("principal_id", Integer, primary_key=True),
    Column("version", Text, nullable=False),
    Column("event_id", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("set_at", BigInteger, nullable=False),
)
"""The policy in force per principal; its history is the ledger's ``PolicySet`` events."""

principal_keys = Table(
    "principal_keys",
    metadata,
    Column("principal_id", Integer, primary_key=True),
    Column("kid", Text, nullable=False),
    Column("public_jwk", Text, nullable=False),
    Column("private_sealed", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)
"""Each principal's Ed25519 receipt key: the public JWK, the private one sealed (AES-GCM)."""

deliveries = Table(
    "deliveries",
    metadata,
    _id(),
    Column("uid", Text, nullable=False),
    Column("principal_id", Integer, nullable=False),
    Column("outbox_id", Integer, nullable=False),
    Column("processor_id", Integer, nullable=False),
    Column("form", Text, nullable=False),
    Column("contact_hash", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("state", Text, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", BigInteger, nullable=False),
    Column("lease_until", BigInteger),
    Column("last_error", Text),
    Column("delivered_at", BigInteger),
    Column("acked_at", BigInteger),
    UniqueConstraint("uid", name="uq_deliveries_uid"),
    UniqueConstraint("outbox_id", "processor_id", "form", name="uq_deliveries_once"),
    Index("ix_deliveries_due", "state", "next_attempt_at"),
    Index("ix_deliveries_order", "processor_id", "form", "contact_hash", "outbox_id"),
)
"""One opt-out (an outbox row) for one processor in one form (webhook, stream, feed, file).
``uid`` is the ``webhook-id`` and the ``Nats-Msg-Id``: receivers de-duplicate on it."""

violations = Table(
    "violations",
    metadata,
    _id(),
    Column("principal_id", Integer, nullable=False),
    Column("attempt_event_id", Integer, nullable=False),
    Column("objection_event_id", Integer, nullable=False),
    Column("processor", Text),
    Column("contact_hash", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("objection_at", BigInteger, nullable=False),
    Column("delivered_at", BigInteger),
    Column("attempt_at", BigInteger, nullable=False),
    Column("delay_us", BigInteger, nullable=False),
    Column("recorded_at", BigInteger, nullable=False),
    Index("ix_violations_principal", "principal_id", "attempt_at"),
)
"""An attempt made after an objection reached its processor (or should have: grace period)."""
