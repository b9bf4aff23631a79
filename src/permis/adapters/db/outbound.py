"""Repositories of propagation: processors' delivery settings, the outbox fan-out, deliveries.

Every function takes the caller's cursor (one transaction per use case). Times are integer
microseconds since the epoch, like the rest of the register.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from permis.adapters.db.database import Cursor, Row

PUSH_FORMS = ("webhook", "stream")
FANOUT_LOCK = 0x7065726D  # "perm": with the register's schema, the advisory lock of the fan-out


def _in(prefix: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    """``(:x0, :x1, ...)`` and its parameters (callers pass ids they produced)."""
    names = {f"{prefix}{i}": v for i, v in enumerate(values)}
    return "(" + ", ".join(f":{n}" for n in names) + ")", names


def new_uid() -> str:
    return "msg_" + secrets.token_urlsafe(18).replace("-", "x").replace("_", "y")


# ---------------------------------------------------------------------------------------------
# processors
# ---------------------------------------------------------------------------------------------

PROCESSOR_COLUMNS = (
    "id, name, channels, active, webhook_url, webhook_secret, stream_subject, feed, files, "
    "webhook_disabled_at, disabled_reason"
)


def set_delivery(cur: Cursor, processor_id: int, values: dict[str, Any]) -> None:
    """Store how opt-outs reach a processor (re-registering re-enables a disabled webhook)."""
    cur.execute(
        "UPDATE processors SET webhook_url = :webhook_url, webhook_secret = :webhook_secret, "
        "stream_subject = :stream_subject, feed = :feed, files = :files, "
        "webhook_disabled_at = NULL, disabled_reason = NULL WHERE id = :id",
        {"id": processor_id, **values},
    )


def processor_rows(cur: Cursor, principal_id: int, name: str | None = None) -> list[Row]:
    where = "principal_id = :p" + (" AND name = :n" if name is not None else "")
    return cur.execute(
        f"SELECT {PROCESSOR_COLUMNS} FROM processors WHERE {where} ORDER BY name",
        {"p": principal_id, "n": name},
    )


def disable_webhook(cur: Cursor, processor_id: int, reason: str, now_us: int) -> None:
    cur.execute(
        "UPDATE processors SET webhook_disabled_at = :t, disabled_reason = :r "
        "WHERE id = :id AND webhook_disabled_at IS NULL",
        {"t": now_us, "r": reason, "id": processor_id},
    )


# ---------------------------------------------------------------------------------------------
# fan-out: outbox rows → deliveries
# ---------------------------------------------------------------------------------------------


def lock_fanout(cur: Cursor, dialect: str) -> bool:
    """One fan-out at a time, so delivery ids follow the outbox order (SQLite: the write lock
    of the transaction already serialises; PostgreSQL: a transaction-scoped advisory lock).
    Advisory locks belong to the whole database: the key pairs :data:`FANOUT_LOCK` with the
    register's schema, so registers in other schemas of the same database fan out freely."""
    if dialect != "postgresql":
        return True
    rows = cur.execute(
        "SELECT pg_try_advisory_xact_lock(:k, hashtext(current_schema()))", {"k": FANOUT_LOCK}
    )
    return bool(rows[0][0])


def has_pending_outbox(cur: Cursor) -> bool:
    return bool(cur.execute("SELECT 1 FROM outbox WHERE dispatched_at IS NULL LIMIT 1"))


def has_due(cur: Cursor, now_us: int) -> bool:
    return bool(
        cur.execute(
            "SELECT 1 FROM deliveries d JOIN processors p ON p.id = d.processor_id "
            "WHERE d.state = 'pending' AND d.form IN ('webhook', 'stream') "
            "AND d.next_attempt_at <= :now AND (d.lease_until IS NULL OR d.lease_until <= :now) "
            "AND NOT (d.form = 'webhook' AND p.webhook_disabled_at IS NOT NULL) LIMIT 1",
            {"now": now_us},
        )
    )


def pending_outbox(cur: Cursor, limit: int) -> list[Row]:
    """``(outbox id, principal, event id, contact hash, created, event type, event data)``."""
    return cur.execute(
        "SELECT o.id, o.principal_id, o.event_id, o.contact_hash, o.created_at, e.type, e.data "
        "FROM outbox o JOIN events e ON e.id = o.event_id WHERE o.dispatched_at IS NULL "
        "ORDER BY o.id LIMIT :n",
        {"n": limit},
    )


def active_processors(cur: Cursor, principal_ids: Sequence[int]) -> list[Row]:
    marks, params = _in("p", principal_ids)
    return cur.execute(
        f"SELECT {PROCESSOR_COLUMNS}, principal_id FROM processors "
        f"WHERE active = :yes AND principal_id IN {marks} ORDER BY id",
        {"yes": True, **params},
    )


def insert_deliveries(cur: Cursor, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        cur.execute_many(
            "INSERT INTO deliveries (uid, principal_id, outbox_id, processor_id, form, "
            "contact_hash, created_at, state, attempts, next_attempt_at) VALUES (:uid, :p, :o, "
            ":x, :form, :c, :t, 'pending', 0, :now) "
            "ON CONFLICT (outbox_id, processor_id, form) DO NOTHING",
            rows,
        )


def mark_dispatched(cur: Cursor, outbox_ids: Sequence[int], now_us: int) -> None:
    marks, params = _in("o", outbox_ids)
    cur.execute(
        f"UPDATE outbox SET dispatched_at = :t WHERE id IN {marks}", {"t": now_us, **params}
    )


# ---------------------------------------------------------------------------------------------
# push deliveries: claim (lease), then settle
# ---------------------------------------------------------------------------------------------

_CLAIMABLE = (
    "SELECT d.id, d.processor_id FROM deliveries d JOIN processors p ON p.id = d.processor_id "
    "WHERE d.state = 'pending' AND d.form IN ('webhook', 'stream') "
    "AND d.next_attempt_at <= :now AND (d.lease_until IS NULL OR d.lease_until <= :now) "
    "AND NOT (d.form = 'webhook' AND p.webhook_disabled_at IS NOT NULL) "
    "AND NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.processor_id = d.processor_id "
    "AND e.form = d.form AND e.contact_hash = d.contact_hash AND e.state = 'pending' "
    "AND e.outbox_id < d.outbox_id) "
)


@dataclass(frozen=True, slots=True)
class Job:
    """One claimed push delivery, with everything needed to send it."""

    id: int
    uid: str
    form: str
    processor_id: int
    processor: str
    target: str
    secret: str | None
    attempts: int
    payload: dict[str, Any]


def claim(
    cur: Cursor,
    dialect: str,
    now_us: int,
    lease_us: int,
    limit: int,
    held: Mapping[int, int] | None = None,
    per_processor: int | None = None,
) -> list[Job]:
    """Take up to ``limit`` due push deliveries for ``lease_us``; only the oldest pending
    delivery of a contact per processor and form is ever due (order per contact).

    ``held``: deliveries of each processor the caller has in flight already; with
    ``per_processor``, no processor gets more than that in flight (a slow receiver holds its
    own deliveries, not everybody's).
    """
    held = dict(held or {})
    full = [pid for pid, n in held.items() if per_processor is not None and n >= per_processor]
    sql, skip = _CLAIMABLE, dict[str, Any]()
    if full:
        marks, skip = _in("f", full)
        sql += f"AND d.processor_id NOT IN {marks} "
    lock = " FOR UPDATE OF d SKIP LOCKED" if dialect == "postgresql" else ""
    ids = []
    for row in cur.execute(
        sql + "ORDER BY d.id LIMIT :n" + lock, {"now": now_us, "n": limit, **skip}
    ):
        pid = int(row[1])
        if per_processor is None or held.get(pid, 0) < per_processor:
            held[pid] = held.get(pid, 0) + 1
            ids.append(int(row[0]))
    if not ids:
        return []
    marks, params = _in("d", ids)
    cur.execute(
        f"UPDATE deliveries SET lease_until = :until, attempts = attempts + 1 WHERE id IN {marks}",
        {"until": now_us + lease_us, **params},
    )
    rows = cur.execute(
        "SELECT d.id, d.uid, d.form, p.id, p.name, p.webhook_url, p.stream_subject, "
        "p.webhook_secret, d.attempts, e.id, e.type, e.data, e.occurred_at, e.recorded_at, "
        "d.contact_hash, c.value, pr.name FROM deliveries d "
        "JOIN processors p ON p.id = d.processor_id JOIN outbox o ON o.id = d.outbox_id "
        "JOIN events e ON e.id = o.event_id JOIN principals pr ON pr.id = d.principal_id "
        "LEFT JOIN contact_points c ON c.principal_id = d.principal_id "
        f"AND c.contact_hash = d.contact_hash WHERE d.id IN {marks} ORDER BY d.id",
        params,
    )
    return [_job(r) for r in rows]


def _job(r: Row) -> Job:
    form = str(r[2])
    target = str(r[5] if form == "webhook" else r[6])
    payload = {
        "event_id": int(r[9]),
        "event_type": str(r[10]),
        "data": json.loads(r[11]),
        "occurred_at": int(r[12]),
        "recorded_at": int(r[13]),
        "contact_hash": str(r[14]),
        "contact": r[15],
        "principal": str(r[16]),
    }
    return Job(int(r[0]), str(r[1]), form, int(r[3]), str(r[4]), target, r[7], int(r[8]), payload)


def mark_delivered(cur: Cursor, ids: Sequence[int], now_us: int) -> None:
    if ids:
        marks, params = _in("d", ids)
        cur.execute(
            "UPDATE deliveries SET state = 'delivered', delivered_at = :t, lease_until = NULL, "
            f"last_error = NULL WHERE id IN {marks} AND state = 'pending'",
            {"t": now_us, **params},
        )


def mark_retry(cur: Cursor, delivery_id: int, next_us: int, error: str) -> None:
    cur.execute(
        "UPDATE deliveries SET next_attempt_at = :n, lease_until = NULL, last_error = :e "
        "WHERE id = :id AND state = 'pending'",
        {"n": next_us, "e": error[:200], "id": delivery_id},
    )


# ---------------------------------------------------------------------------------------------
# pull feed, files, acknowledgements
# ---------------------------------------------------------------------------------------------

_CHANGE_COLUMNS = (
    "d.id, d.uid, d.form, d.created_at, e.id, e.type, e.data, e.occurred_at, e.recorded_at, "
    "d.contact_hash, c.value, d.delivered_at, d.acked_at"
)
_CHANGE_JOINS = (
    "FROM deliveries d JOIN outbox o ON o.id = d.outbox_id JOIN events e ON e.id = o.event_id "
    "LEFT JOIN contact_points c ON c.principal_id = d.principal_id "
    "AND c.contact_hash = d.contact_hash"
)


def ack_through(cur: Cursor, processor_id: int, form: str, cursor: int, now_us: int) -> int:
    """Acknowledge every ``form`` delivery of a processor up to ``cursor`` (the pull feed)."""
    rows = cur.execute(
        "UPDATE deliveries SET acked_at = :t, state = 'delivered', "
        "delivered_at = COALESCE(delivered_at, :t) WHERE processor_id = :x AND form = :f "
        "AND id <= :c AND acked_at IS NULL RETURNING id",
        {"t": now_us, "x": processor_id, "f": form, "c": cursor},
    )
    return len(rows)


def changes_after(cur: Cursor, processor_id: int, form: str, after: int, limit: int) -> list[Row]:
    return cur.execute(
        f"SELECT {_CHANGE_COLUMNS} {_CHANGE_JOINS} WHERE d.processor_id = :x AND d.form = :f "
        "AND d.id > :a ORDER BY d.id LIMIT :n",
        {"x": processor_id, "f": form, "a": after, "n": limit},
    )


def find_delivery(cur: Cursor, principal_id: int, uid: str) -> Row | None:
    rows = cur.execute(
        f"SELECT {_CHANGE_COLUMNS}, p.name {_CHANGE_JOINS} "
        "JOIN processors p ON p.id = d.processor_id WHERE d.principal_id = :p AND d.uid = :u",
        {"p": principal_id, "u": uid},
    )
    return rows[0] if rows else None


def acknowledge(cur: Cursor, delivery_id: int, now_us: int) -> None:
    cur.execute(
        "UPDATE deliveries SET acked_at = COALESCE(acked_at, :t), state = 'delivered', "
        "delivered_at = COALESCE(delivered_at, :t), lease_until = NULL WHERE id = :id",
        {"t": now_us, "id": delivery_id},
    )


def lag_rows(cur: Cursor, principal_id: int, deadline_us: int) -> list[Row]:
    """Per processor and form: counts, delivery and acknowledgement lags, overdue count."""
    return cur.execute(
        "SELECT p.name, d.form, COUNT(*), "
        "SUM(CASE WHEN d.state = 'pending' THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN d.acked_at IS NULL THEN 0 ELSE 1 END), "
        "AVG(d.delivered_at - d.created_at), MAX(d.delivered_at - d.created_at), "
        "AVG(d.acked_at - d.created_at), MAX(d.acked_at - d.created_at), "
        "MIN(CASE WHEN d.acked_at IS NULL THEN d.created_at END), "
        "SUM(CASE WHEN d.acked_at IS NULL AND d.created_at <= :dl THEN 1 ELSE 0 END), "
        "MAX(p.webhook_disabled_at) "
        "FROM deliveries d JOIN processors p ON p.id = d.processor_id "
        "WHERE d.principal_id = :p GROUP BY p.name, d.form ORDER BY p.name, d.form",
        {"p": principal_id, "dl": deadline_us},
    )


def overdue_rows(cur: Cursor, principal_id: int, deadline_us: int, limit: int) -> list[Row]:
    return cur.execute(
        "SELECT d.uid, p.name, d.form, d.created_at, d.state, d.attempts, d.last_error, "
        "d.delivered_at, p.webhook_disabled_at FROM deliveries d "
        "JOIN processors p ON p.id = d.processor_id WHERE d.principal_id = :p "
        "AND d.acked_at IS NULL AND d.created_at <= :dl ORDER BY d.id LIMIT :n",
        {"p": principal_id, "dl": deadline_us, "n": limit},
    )


def mark_files_delivered(cur: Cursor, processor_id: int, now_us: int) -> int:
    rows = cur.execute(
        "UPDATE deliveries SET state = 'delivered', delivered_at = :t WHERE processor_id = :x "
        "AND form = 'file' AND state = 'pending' AND created_at <= :t RETURNING id",
        {"t": now_us, "x": processor_id},
    )
    return len(rows)
