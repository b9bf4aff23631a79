"""Violations: an attempt made after an objection reached its processor, or should have.

An attempt on a channel an objection covers is a violation when it was made at or after the
objection's delivery to that processor, or at or after the objection's commit plus
``delivery_grace_seconds`` whatever the delivery (the processor had the time to get it). It is
recorded in the same transaction as the attempt, attributed to the reporting processor, with the
delay since the objection was committed. An attempt made before the objection, or inside the
grace period before the processor got it, is not.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from permis.adapters.db import instants
from permis.adapters.db import repositories as repo
from permis.adapters.db.database import Cursor, Database

US = 1_000_000


def flag_attempt(
    cur: Cursor,
    principal_id: int,
    contact_hash: str,
    attempt_event_id: int,
    channel: str,
    processor: str | None,
    attempt_at_us: int,
    grace_us: int,
    now_us: int,
) -> bool:
    """Record a violation for this attempt if one is due (the hook of ``record_attempt``)."""
    objections = cur.execute(
        "SELECT o.event_id, e.recorded_at FROM objections o JOIN events e ON e.id = o.event_id "
        "WHERE o.principal_id = :p AND o.contact_hash = :c AND (o.channel = 'all' "
        "OR o.channel = :ch) AND e.recorded_at <= :at ORDER BY e.recorded_at",
        {"p": principal_id, "c": contact_hash, "ch": channel, "at": attempt_at_us},
    )
    for event_id, recorded_at in objections:
        delivered = _delivered_at(cur, int(event_id), processor)
        late = attempt_at_us >= int(recorded_at) + grace_us
        if late or (delivered is not None and attempt_at_us >= delivered):
            cur.execute(
                "INSERT INTO violations (principal_id, attempt_event_id, objection_event_id, "
                "processor, contact_hash, channel, objection_at, delivered_at, attempt_at, "
                "delay_us, recorded_at) VALUES (:p, :a, :o, :x, :c, :ch, :oa, :d, :at, :delay, :t)",
                {
                    "p": principal_id,
                    "a": attempt_event_id,
                    "o": int(event_id),
                    "x": processor,
                    "c": contact_hash,
                    "ch": channel,
                    "oa": int(recorded_at),
                    "d": delivered,
                    "at": attempt_at_us,
                    "delay": attempt_at_us - int(recorded_at),
                    "t": now_us,
                },
            )
            return True
    return False


def _delivered_at(cur: Cursor, event_id: int, processor: str | None) -> int | None:
    """When the objection first reached ``processor`` (any form), if it did."""
    if processor is None:
        return None
    rows = cur.execute(
        "SELECT MIN(d.delivered_at) FROM deliveries d JOIN outbox o ON o.id = d.outbox_id "
        "JOIN processors p ON p.id = d.processor_id WHERE o.event_id = :e AND p.name = :x",
        {"e": event_id, "x": processor},
    )
    return None if not rows or rows[0][0] is None else int(rows[0][0])


def _human(delay_us: int) -> str:
    minutes = delay_us // (60 * US)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    text = f"{hours} h {mins:02d} min" if hours else f"{mins} min {delay_us // US % 60} s"
    return f"{days} d {text}" if days else text


def list_violations(
    db: Database, clock: Callable[[], datetime], principal: str | None, limit: int = 1000
) -> list[dict[str, Any]]:
    del clock  # the list is what was recorded; kept for a uniform signature
    with db.transaction() as cur:
        owner = repo.find_principal(cur, principal)
        rows = cur.execute(
            "SELECT v.id, v.processor, v.channel, v.objection_at, v.delivered_at, v.attempt_at, "
            "v.delay_us, v.attempt_event_id, v.objection_event_id, v.contact_hash "
            "FROM violations v WHERE v.principal_id = :p ORDER BY v.attempt_at, v.id LIMIT :n",
            {"p": owner.id, "n": limit},
        )
    return [
        {
            "id": int(r[0]),
            "processor": r[1],
            "channel": r[2],
            "objection_recorded_at": instants.from_us(r[3]).isoformat(),
            "delivered_at": None if r[4] is None else instants.from_us(r[4]).isoformat(),
            "attempt_at": instants.from_us(r[5]).isoformat(),
            "delay_seconds": round(int(r[6]) / US, 3),
            "delay": _human(int(r[6])),
            "attempt_event_id": int(r[7]),
            "objection_event_id": int(r[8]),
            "contact_hash": r[9],
        }
        for r in rows
    ]
