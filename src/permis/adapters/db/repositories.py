"""Repositories: the ledger (append, read, chain head), the projections, and the facts loader.

Every function takes the cursor of the caller's transaction: a use case opens one transaction,
appends its event, updates the projections and the outbox, and commits them together.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from permis.adapters.db.database import Cursor, Row
from permis.adapters.db.instants import from_us, opt_dt
from permis.adapters.db.snapshots import load_snapshots
from permis.domain.events import (
    GENESIS,
    NewEvent,
    StoredEvent,
    canonical,
    digest_personal,
    link_hash,
)
from permis.domain.model import (
    AttemptFact,
    BudgetFact,
    ConsentFact,
    ContractFact,
    Facts,
    ObjectionFact,
    Period,
    ProcessorFact,
    RefusalFact,
    SnapshotFact,
)
from permis.errors import AmbiguousPrincipal, RegisterNotInitialised, UnknownPrincipal

# ---------------------------------------------------------------------------------------------
# principals
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Principal:
    id: int
    name: str
    hash_key: bytes
    sector: str


_PRINCIPAL_COLUMNS = "id, name, hash_key, sector"


def _principal(row: Row) -> Principal:
    return Principal(int(row[0]), str(row[1]), bytes.fromhex(row[2]), str(row[3]))


def find_principal(cur: Cursor, name: str | None) -> Principal:
    """The named principal, or the single one when no name is given."""
    if name is not None:
        rows = cur.execute(
            f"SELECT {_PRINCIPAL_COLUMNS} FROM principals WHERE name = :n", {"n": name}
        )
        if not rows:
            raise UnknownPrincipal(
                f"No principal named {name!r}: add it with `permis init --principal`"
            )
        return _principal(rows[0])
    rows = cur.execute(f"SELECT {_PRINCIPAL_COLUMNS} FROM principals ORDER BY id LIMIT 2")
    if not rows:
        raise RegisterNotInitialised("The register has no principal: run `permis init`")
    if len(rows) > 1:
        raise AmbiguousPrincipal("Several principals exist: pass --principal NAME")
    return _principal(rows[0])


def create_principal(cur: Cursor, name: str, sector: str, now_us: int) -> Principal:
    key = secrets.token_hex(32)
    rows = cur.execute(
        "INSERT INTO principals (name, hash_key, sector, head_seq, head_hash, created_at) "
        "VALUES (:n, :k, :s, 0, :h, :t) RETURNING id",
        {"n": name, "k": key, "s": sector, "h": GENESIS, "t": now_us},
    )
    return Principal(int(rows[0][0]), name, bytes.fromhex(key), sector)


def list_principals(cur: Cursor) -> list[Principal]:
    return [_principal(r) for r in cur.execute(f"SELECT {_PRINCIPAL_COLUMNS} FROM principals")]


def chain_head(cur: Cursor, principal_id: int) -> tuple[int, str]:
    row = cur.execute(
        "SELECT head_seq, head_hash FROM principals WHERE id = :p", {"p": principal_id}
    )[0]
    return int(row[0]), str(row[1])


# ---------------------------------------------------------------------------------------------
# ledger
# ---------------------------------------------------------------------------------------------

_EVENT_COLUMNS = (
    "id, principal_id, seq, type, contact_hash, occurred_at, recorded_at, data, personal, "
    "personal_digest, actor, idempotency_key, prev_hash, hash"
)


def _event(row: Row) -> StoredEvent:
    return StoredEvent(
        id=int(row[0]),
        principal_id=int(row[1]),
        seq=int(row[2]),
        type=str(row[3]),
        contact_hash=row[4],
        occurred_at=int(row[5]),
        recorded_at=int(row[6]),
        data=json.loads(row[7]),
        personal=json.loads(row[8]) if row[8] is not None else None,
        personal_digest=row[9],
        actor=row[10],
        idempotency_key=row[11],
        prev_hash=str(row[12]),
        hash=str(row[13]),
    )


def lock_chain(cur: Cursor, principal_id: int) -> None:
    """Serialise writers of one principal before anything is read (row lock on PostgreSQL,
    the write lock already held on SQLite): an idempotency check then sees every commit."""
    cur.execute("UPDATE principals SET head_seq = head_seq WHERE id = :p", {"p": principal_id})


def find_idempotent(cur: Cursor, principal_id: int, key: str) -> StoredEvent | None:
    rows = cur.execute(
        f"SELECT {_EVENT_COLUMNS} FROM events WHERE principal_id = :p AND idempotency_key = :k",
        {"p": principal_id, "k": key},
    )
    return _event(rows[0]) if rows else None


def append_event(cur: Cursor, principal_id: int, event: NewEvent, now_us: int) -> StoredEvent:
    """Append to the principal's chain. The first statement locks the chain head (row lock on
    PostgreSQL, the write lock on SQLite), so concurrent writers serialise per principal."""
    seq, prev = cur.execute(
        "UPDATE principals SET head_seq = head_seq + 1 WHERE id = :p RETURNING head_seq, head_hash",
        {"p": principal_id},
    )[0]
    personal_digest = digest_personal(event.personal)
    data = json.loads(canonical(event.data))  # what is hashed is exactly what is stored
    digest = link_hash(
        prev,
        seq,
        event.type.value,
        event.contact_hash,
        event.occurred_at,
        now_us,
        data,
        personal_digest,
        event.actor,
        event.idempotency_key,
    )
    rows = cur.execute(
        "INSERT INTO events (principal_id, seq, type, contact_hash, occurred_at, recorded_at, "
        "data, personal, personal_digest, actor, idempotency_key, prev_hash, hash) VALUES "
        "(:p, :seq, :type, :ch, :occ, :rec, :data, :personal, :pd, :actor, :key, :prev, :hash) "
        "RETURNING id",
        {
            "p": principal_id,
            "seq": seq,
            "type": event.type.value,
            "ch": event.contact_hash,
            "occ": event.occurred_at,
            "rec": now_us,
            "data": canonical(data),
            "personal": canonical(event.personal) if event.personal is not None else None,
            "pd": personal_digest,
            "actor": event.actor,
            "key": event.idempotency_key,
            "prev": prev,
            "hash": digest,
        },
    )
    cur.execute(
        "UPDATE principals SET head_hash = :h WHERE id = :p", {"h": digest, "p": principal_id}
    )
    return StoredEvent(
        int(rows[0][0]),
        principal_id,
        int(seq),
        event.type.value,
        event.contact_hash,
        event.occurred_at,
        now_us,
        data,
        event.personal,
        personal_digest,
        event.actor,
        event.idempotency_key,
        str(prev),
        digest,
    )


def iter_events(cur: Cursor, principal_id: int, batch: int = 5000) -> Iterator[StoredEvent]:
    """Every event of a principal in chain order, read in batches."""
    after = 0
    while True:
        rows = cur.execute(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE principal_id = :p AND seq > :s "
            "ORDER BY seq LIMIT :n",
            {"p": principal_id, "s": after, "n": batch},
        )
        for row in rows:
            yield _event(row)
        if len(rows) < batch:
            return
        after = int(rows[-1][2])


def iter_chain_rows(cur: Cursor, principal_id: int, batch: int = 20_000) -> Iterator[Row]:
    """Every event of a principal in chain order as raw rows (no JSON parsing), read in
    batches by ``seq`` (the unique index): constant memory whatever the ledger's size."""
    after = 0
    while True:
        rows = cur.execute(
            "SELECT id, seq, type, contact_hash, occurred_at, recorded_at, data, personal, "
            "personal_digest, actor, idempotency_key, prev_hash, hash FROM events "
            "WHERE principal_id = :p AND seq > :s ORDER BY seq LIMIT :n",
            {"p": principal_id, "s": after, "n": batch},
        )
        yield from rows
        if len(rows) < batch:
            return
        after = int(rows[-1][1])


def contact_events(cur: Cursor, principal_id: int, contact_hash: str) -> list[StoredEvent]:
    rows = cur.execute(
        f"SELECT {_EVENT_COLUMNS} FROM events WHERE principal_id = :p AND contact_hash = :c "
        "ORDER BY seq",
        {"p": principal_id, "c": contact_hash},
    )
    return [_event(r) for r in rows]


def add_outbox(cur: Cursor, principal_id: int, event: StoredEvent) -> None:
    cur.execute(
        "INSERT INTO outbox (principal_id, event_id, contact_hash, created_at) "
        "VALUES (:p, :e, :c, :t)",
        {"p": principal_id, "e": event.id, "c": event.contact_hash, "t": event.recorded_at},
    )


# ---------------------------------------------------------------------------------------------
# projections
# ---------------------------------------------------------------------------------------------


def upsert_contact_point(
    cur: Cursor, principal_id: int, contact_hash: str, fields: dict[str, Any], now_us: int
) -> None:
    cur.execute(
        "INSERT INTO contact_points (principal_id, contact_hash, kind, value, country, region, "
        "timezones, first_seen, last_event) VALUES (:p, :h, :kind, :value, :country, :region, "
        ":tz, :t, :t) ON CONFLICT (principal_id, contact_hash) DO UPDATE SET "
        "last_event = excluded.last_event, "
        # a person who comes back after an erasure is held again (the erased events stay erased)
        "value = COALESCE(contact_points.value, excluded.value), "
        "region = COALESCE(contact_points.region, excluded.region), "
        "erased_bucket = CASE WHEN excluded.value IS NULL THEN contact_points.erased_bucket END",
        {"p": principal_id, "h": contact_hash, "t": now_us, **fields},
    )


PROJECTION_INSERTS = {
    "consents": "channel, purpose, given_at, expires_at, source",
    "objections": "channel, purpose, at, source",
    "refusals": "at, processor",
    "contracts": "start_at, end_at",
    "attempts": "channel, at, processor, outcome, campaign",
    "budgets": "channel, max_count, period, set_at",
}


def project(
    cur: Cursor,
    table: str,
    principal_id: int,
    contact_hash: str,
    event_id: int,
    values: dict[str, Any],
) -> None:
    """Insert one projection row (tables and columns come from PROJECTION_INSERTS only)."""
    columns = PROJECTION_INSERTS[table]
    names = [c.strip() for c in columns.split(",")]
    placeholders = ", ".join(f":{n}" for n in names)
    cur.execute(
        f"INSERT INTO {table} (principal_id, contact_hash, event_id, {columns}) "
        f"VALUES (:principal_id, :contact_hash, :event_id, {placeholders})",
        {
            "principal_id": principal_id,
            "contact_hash": contact_hash,
            "event_id": event_id,
            **{n: values.get(n) for n in names},
        },
    )


def withdraw_consents(
    cur: Cursor, principal_id: int, contact_hash: str, channel: str, purpose: str, at_us: int
) -> int:
    rows = cur.execute(
        "UPDATE consents SET withdrawn_at = :t WHERE principal_id = :p AND contact_hash = :c "
        "AND withdrawn_at IS NULL AND (:ch = 'all' OR channel = :ch) "
        "AND (:pu = 'all' OR purpose = :pu) RETURNING id",
        {"t": at_us, "p": principal_id, "c": contact_hash, "ch": channel, "pu": purpose},
    )
    return len(rows)


def lift_objections(
    cur: Cursor, principal_id: int, contact_hash: str, channel: str, source: str, at_us: int
) -> int:
    """Drop from the projection the objections of exactly ``channel`` that came from
    ``source`` before ``at_us`` (the ledger keeps them and the ``ObjectionLifted`` event)."""
    rows = cur.execute(
        "DELETE FROM objections WHERE principal_id = :p AND contact_hash = :c "
        "AND channel = :ch AND source = :s AND at <= :t RETURNING id",
        {"p": principal_id, "c": contact_hash, "ch": channel, "s": source, "t": at_us},
    )
    return len(rows)


# ---------------------------------------------------------------------------------------------
# processors
# ---------------------------------------------------------------------------------------------


def add_processor(cur: Cursor, principal_id: int, name: str, channels: str, now_us: int) -> int:
    rows = cur.execute(
        "INSERT INTO processors (principal_id, name, channels, active, created_at) "
        "VALUES (:p, :n, :c, :a, :t) ON CONFLICT (principal_id, name) DO UPDATE SET "
        "channels = excluded.channels, active = excluded.active RETURNING id",
        {"p": principal_id, "n": name, "c": channels, "a": True, "t": now_us},
    )
    return int(rows[0][0])


def list_processors(cur: Cursor, principal_id: int) -> list[tuple[str, str, bool]]:
    rows = cur.execute(
        "SELECT name, channels, active FROM processors WHERE principal_id = :p ORDER BY name",
        {"p": principal_id},
    )
    return [(str(r[0]), str(r[1]), bool(r[2])) for r in rows]


def processor_fact(cur: Cursor, principal_id: int, name: str) -> ProcessorFact:
    rows = cur.execute(
        "SELECT channels, active FROM processors WHERE principal_id = :p AND name = :n",
        {"p": principal_id, "n": name},
    )
    if not rows:
        return ProcessorFact(name, known=False)
    return ProcessorFact(name, True, frozenset(str(rows[0][0]).split(",")), bool(rows[0][1]))


# ---------------------------------------------------------------------------------------------
# facts for one decision
# ---------------------------------------------------------------------------------------------


_T, _I = "CAST(NULL AS TEXT)", "CAST(NULL AS BIGINT)"
_FACT_ARMS = (
    # tag, id, then four text columns and three integer columns (PostgreSQL's UNION wants one
    # type per column), in the order ``_fact_of`` reads them back
    ("consents", f"channel, purpose, source, {_T}, given_at, expires_at, withdrawn_at"),
    ("objections", f"channel, purpose, source, {_T}, at, {_I}, {_I}"),
    ("refusals", f"processor, {_T}, {_T}, {_T}, at, {_I}, {_I}"),
    ("contracts", f"{_T}, {_T}, {_T}, {_T}, start_at, end_at, {_I}"),
    ("attempts", f"channel, processor, outcome, campaign, at, {_I}, {_I}"),
    ("budgets", f"channel, period, {_T}, {_T}, max_count, set_at, {_I}"),
)
_FACTS_SQL = (
    " UNION ALL ".join(
        f"SELECT {tag} AS tag, id, {columns} FROM {table} "
        "WHERE principal_id = :p AND contact_hash = :c"
        for tag, (table, columns) in enumerate(_FACT_ARMS)
    )
    + " ORDER BY tag, id"
)


def _fact_of(r: Row) -> Any:
    """A row of ``_FACTS_SQL`` as its fact: ``(tag, id, t1, t2, t3, t4, i1, i2, i3)``."""
    tag = r[0]
    if tag == 0:
        return ConsentFact(r[2], r[3], from_us(r[6]), opt_dt(r[7]), opt_dt(r[8]), r[4])
    if tag == 1:
        return ObjectionFact(from_us(r[6]), r[2], r[3], r[4])
    if tag == 2:
        return RefusalFact(from_us(r[6]), r[2])
    if tag == 3:
        return ContractFact(from_us(r[6]), opt_dt(r[7]))
    if tag == 4:
        return AttemptFact(from_us(r[6]), r[2], r[3], r[4], r[5])
    return BudgetFact(r[2], int(r[6]), Period(r[3]), from_us(r[7]))


def load_facts(
    cur: Cursor,
    principal_id: int,
    contact_hash: str,
    number: str | None,
    processor: str | None,
    snapshots: Callable[[str], tuple[SnapshotFact, ...]] | None = None,
) -> Facts:
    """Everything ``decide`` needs about one contact point: the six projections in one
    statement (``UNION ALL`` over their ``(principal_id, contact_hash)`` indexes, each table's
    rows in id order), the opposition lists in another (or ``snapshots(number)``: the same
    answer, from the gate's warm cache), the processor in a third if asked."""
    found: tuple[list[Any], ...] = ([], [], [], [], [], [])
    for row in cur.execute(_FACTS_SQL, {"p": principal_id, "c": contact_hash}):
        found[row[0]].append(_fact_of(row))
    lists: tuple[SnapshotFact, ...] = ()
    if number is not None:
        lists = snapshots(number) if snapshots is not None else load_snapshots(cur, number)
    fact = processor_fact(cur, principal_id, processor) if processor is not None else None
    consents, objections, refusals, contracts, attempts, budgets = (tuple(f) for f in found)
    return Facts(consents, objections, refusals, contracts, attempts, budgets, lists, fact)


def phone_values(cur: Cursor, principal_id: int) -> list[str]:
    rows = cur.execute(
        "SELECT value FROM contact_points WHERE principal_id = :p AND kind = 'phone' "
        "AND value IS NOT NULL ORDER BY value",
        {"p": principal_id},
    )
    return [str(r[0]) for r in rows]
