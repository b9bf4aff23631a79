"""Acknowledgements, the pull feed, lag per processor and the overdue list.

A processor acknowledges a delivery when it has *applied* the opt-out (``POST
/v1/deliveries/{id}/ack``); a processor reading the pull feed acknowledges by moving its cursor:
asking for changes ``after=N`` says every change up to ``N`` is applied (the feed then serves
the next page and marks it delivered). Lag is measured from the opt-out's commit.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from permis.adapters.db import instants, outbound
from permis.adapters.db import repositories as repo
from permis.adapters.db.database import Database, Row
from permis.domain.model import ALL
from permis.errors import NotFound, UsageError
from permis.services.processors import Form, view
from permis.services.propagation import EVENT_NAMES, event_channel

US = 1_000_000
MAX_PAGE = 1000


def _iso(value: int | None) -> str | None:
    return None if value is None else instants.from_us(int(value)).isoformat()


def _seconds(value: Any) -> float | None:
    return None if value is None else round(float(value) / US, 3)


def change_dict(row: Row) -> dict[str, Any]:
    """One row of ``outbound._CHANGE_COLUMNS`` as the feed and the ack route show it."""
    data = json.loads(row[6])
    return {
        "delivery": row[1],
        "cursor": str(row[0]),
        "form": row[2],
        "type": EVENT_NAMES.get(str(row[5]), str(row[5])),
        "event_id": int(row[4]),
        "contact": row[10],
        "contact_hash": row[9],
        "channel": event_channel(str(row[5]), data),
        "purpose": data.get("purpose", ALL),
        "occurred_at": _iso(row[7]),
        "recorded_at": _iso(row[8]),
        "delivered_at": _iso(row[11]),
        "acked_at": _iso(row[12]),
    }


@dataclass(frozen=True, slots=True)
class Page:
    changes: list[dict[str, Any]]
    cursor: str
    acknowledged: int

    def to_dict(self) -> dict[str, Any]:
        return {"changes": self.changes, "next": self.cursor, "acknowledged": self.acknowledged}


def parse_cursor(after: str | None) -> int:
    if after is None or after == "":
        return 0
    if not after.isdigit() or len(after) > 18:
        raise UsageError("after: a cursor is the `next` value of a previous page")
    return int(after)


class Deliveries:
    def __init__(self, db: Database, clock: Callable[[], datetime], overdue_seconds: int) -> None:
        self.db = db
        self.clock = clock
        self.overdue_seconds = overdue_seconds

    def _processor(self, cur: Any, principal: str | None, name: str) -> tuple[int, int]:
        owner = repo.find_principal(cur, principal)
        rows = outbound.processor_rows(cur, owner.id, name)
        if not rows:
            raise NotFound(f"unknown processor {name!r}")
        return owner.id, view(rows[0]).id

    def changes(
        self, principal: str | None, processor: str, after: str | None, limit: int = 500
    ) -> Page:
        """The processor's feed after ``after``; everything up to ``after`` is acknowledged."""
        cursor = parse_cursor(after)
        limit = max(1, min(limit, MAX_PAGE))
        now = instants.to_us(self.clock())
        with self.db.transaction(write=True) as cur:
            _, pid = self._processor(cur, principal, processor)
            acked = outbound.ack_through(cur, pid, Form.FEED.value, cursor, now) if cursor else 0
            rows = outbound.changes_after(cur, pid, Form.FEED.value, cursor, limit)
            outbound.mark_delivered(cur, [int(r[0]) for r in rows], now)
        changes = [change_dict(r) for r in rows]
        for change in changes:
            change["delivered_at"] = change["delivered_at"] or instants.from_us(now).isoformat()
        last = changes[-1]["cursor"] if changes else str(cursor)
        return Page(changes, last, acked)

    def acknowledge(
        self, principal: str | None, uid: str, processor: str | None = None
    ) -> dict[str, Any]:
        """Record that the processor applied the opt-out (the first acknowledgement counts).
        ``processor`` given: only that processor's deliveries (others are not found)."""
        now = instants.to_us(self.clock())
        with self.db.transaction(write=True) as cur:
            owner = repo.find_principal(cur, principal)
            row = outbound.find_delivery(cur, owner.id, uid)
            if row is None or (processor is not None and row[13] != processor):
                raise NotFound("no such delivery for this processor")
            outbound.acknowledge(cur, int(row[0]), now)
            row = outbound.find_delivery(cur, owner.id, uid)
        assert row is not None
        return {**change_dict(row), "processor": row[13]}

    def lag(self, principal: str | None) -> list[dict[str, Any]]:
        now = instants.to_us(self.clock())
        with self.db.transaction() as cur:
            owner = repo.find_principal(cur, principal)
            rows = outbound.lag_rows(cur, owner.id, now - self.overdue_seconds * US)
        return [
            {
                "processor": r[0],
                "form": r[1],
                "deliveries": int(r[2]),
                "pending": int(r[3] or 0),
                "acknowledged": int(r[4] or 0),
                "delivery_lag_avg_seconds": _seconds(r[5]),
                "delivery_lag_max_seconds": _seconds(r[6]),
                "ack_lag_avg_seconds": _seconds(r[7]),
                "ack_lag_max_seconds": _seconds(r[8]),
                "oldest_unacknowledged_seconds": None if r[9] is None else _seconds(now - r[9]),
                "overdue": int(r[10] or 0),
                "receiver_disabled": r[1] == "webhook" and r[11] is not None,
            }
            for r in rows
        ]

    def overdue(self, principal: str | None, limit: int = 1000) -> list[dict[str, Any]]:
        now = instants.to_us(self.clock())
        with self.db.transaction() as cur:
            owner = repo.find_principal(cur, principal)
            rows = outbound.overdue_rows(cur, owner.id, now - self.overdue_seconds * US, limit)
        return [
            {
                "delivery": r[0],
                "processor": r[1],
                "form": r[2],
                "created_at": _iso(r[3]),
                "age_seconds": _seconds(now - r[3]),
                "state": r[4],
                "why": _why(r),
                "tries": int(r[5]),
                "last_error": r[6],
                "delivered_at": _iso(r[7]),
            }
            for r in rows
        ]


def _why(row: Row) -> str:
    if row[2] == "webhook" and row[8] is not None and row[4] == "pending":
        return "receiver disabled (410): register the webhook again to resume"
    if row[4] == "pending":
        return "not delivered yet" + (f" (last error: {row[6]})" if row[6] else "")
    return "delivered, not acknowledged"
