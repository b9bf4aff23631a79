"""Compliance figures as plain tables: the compliance report and the back office share them.

Each function takes a read cursor, a principal id and a period ``[start, end)`` in microseconds,
and returns a :class:`Table` (columns and rows of plain values), never HTML: rendering is the
doors' business. Days are UTC days.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from permis.adapters.db import instants
from permis.adapters.db import repositories as repo
from permis.adapters.db import snapshots as snapshot_repo
from permis.adapters.db.database import Cursor, Database

DAY_US = 86_400_000_000
PRESSURE_BUCKETS = ((1, 1), (2, 2), (3, 3), (4, 4), (5, 9), (10, None))


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "columns": list(self.columns),
            "rows": [list(r) for r in self.rows],
            "note": self.note,
        }

    def to_csv(self) -> str:
        """The table as CSV (the back office's export)."""
        import csv
        import io

        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(self.columns)
        writer.writerows(self.rows)
        return buffer.getvalue()


def _day(value: int) -> str:
    return instants.from_us(value * DAY_US).date().isoformat()


def objections_by_source(cur: Cursor, principal_id: int, start: int, end: int) -> Table:
    rows = cur.execute(
        "SELECT source, COUNT(*) FROM objections WHERE principal_id = :p AND at >= :s "
        "AND at < :e GROUP BY source ORDER BY COUNT(*) DESC, source",
        {"p": principal_id, "s": start, "e": end},
    )
    return Table(
        "objections_by_source", ("source", "objections"), [(r[0], int(r[1])) for r in rows]
    )


def objections_by_day(cur: Cursor, principal_id: int, start: int, end: int) -> Table:
    """One row per day of the period, zero included."""
    counts = {
        int(r[0]): int(r[1])
        for r in cur.execute(
            "SELECT at / :d, COUNT(*) FROM objections WHERE principal_id = :p AND at >= :s "
            "AND at < :e GROUP BY 1",
            {"p": principal_id, "s": start, "e": end, "d": DAY_US},
        )
    }
    days = range(start // DAY_US, (end - 1) // DAY_US + 1)
    return Table(
        "objections_by_day", ("day", "objections"), [(_day(d), counts.get(d, 0)) for d in days]
    )


def contact_pressure(cur: Cursor, principal_id: int, end: int) -> Table:
    """How many persons got 1, 2, 3... attempts in the 30 days before ``end``."""
    rows = cur.execute(
        "SELECT n, COUNT(*) FROM (SELECT contact_hash, COUNT(*) AS n FROM attempts "
        "WHERE principal_id = :p AND at >= :s AND at < :e GROUP BY contact_hash) AS per "
        "GROUP BY n",
        {"p": principal_id, "s": end - 30 * DAY_US, "e": end},
    )
    out = []
    for low, high in PRESSURE_BUCKETS:
        label = str(low) if low == high else (f"{low}-{high}" if high else f"{low}+")
        persons = sum(int(c) for n, c in rows if int(n) >= low and (high is None or int(n) <= high))
        out.append((label, persons))
    return Table("contact_pressure_30d", ("attempts per person", "persons"), out)


def consents_expiring(
    cur: Cursor, principal_id: int, end: int, max_age_days: int, weeks: int = 8
) -> Table:
    """Consents still in force at ``end`` that lapse within ``weeks`` weeks (their own expiry or
    the maximum age of a consent, whichever comes first), by week."""
    age = max_age_days * DAY_US
    rows = cur.execute(
        "SELECT lapse FROM (SELECT CASE WHEN expires_at IS NOT NULL AND expires_at < given_at + :a "
        "THEN expires_at ELSE given_at + :a END AS lapse FROM consents WHERE principal_id = :p "
        "AND withdrawn_at IS NULL) AS c WHERE lapse >= :e AND lapse < :h",
        {"p": principal_id, "a": age, "e": end, "h": end + weeks * 7 * DAY_US},
    )
    counts = [0] * weeks
    for (lapse,) in rows:
        counts[(int(lapse) - end) // (7 * DAY_US)] += 1
    table_rows = [(_day(end // DAY_US + 7 * w), counts[w]) for w in range(weeks)]
    return Table("consents_expiring", ("week from", "consents lapsing"), table_rows)


def list_freshness(cur: Cursor, end: int) -> Table:
    """The latest snapshot of each opposition list and whether it is still valid at ``end``."""
    latest: dict[str, tuple[Any, ...]] = {}
    for sid, name, as_of, valid_until, entries in snapshot_repo.list_snapshots(cur):
        if int(as_of) <= end:
            latest[str(name)] = (sid, int(as_of), int(valid_until), int(entries))
    rows = []
    for name, (_, as_of, valid_until, entries) in sorted(latest.items()):
        left = (valid_until - end) / DAY_US
        status = "valid" if left > 0 else "stale"
        rows.append(
            (
                name,
                _day(as_of // DAY_US),
                _day(valid_until // DAY_US),
                entries,
                round(left, 1),
                status,
            )
        )
    return Table(
        "opposition_list_freshness",
        ("list", "as of", "valid until", "numbers", "days left", "status"),
        rows,
        None if rows else "no opposition list imported",
    )


def propagation_lag(cur: Cursor, principal_id: int, start: int, end: int, overdue_us: int) -> Table:
    """Per processor: opt-outs delivered in the period, acknowledged, mean and max lag from the
    opt-out's commit to its acknowledgement (s), and overdue (unacknowledged for longer than
    ``PERMIS_DELIVERY_OVERDUE_SECONDS`` at the end of the period)."""
    rows = cur.execute(
        "SELECT p.name, COUNT(*), COUNT(d.acked_at), AVG(d.acked_at - d.created_at), "
        "MAX(d.acked_at - d.created_at), SUM(CASE WHEN d.acked_at IS NULL AND d.created_at < :o "
        "THEN 1 ELSE 0 END) FROM deliveries d JOIN processors p ON p.id = d.processor_id "
        "WHERE d.principal_id = :p AND d.created_at >= :s AND d.created_at < :e "
        "GROUP BY p.name ORDER BY p.name",
        {"p": principal_id, "s": start, "e": end, "o": end - overdue_us},
    )
    return Table(
        "propagation_lag",
        ("processor", "deliveries", "acknowledged", "mean lag (s)", "max lag (s)", "overdue"),
        [
            (
                r[0],
                int(r[1]),
                int(r[2]),
                round(float(r[3] or 0) / 1e6, 3),
                round(float(r[4] or 0) / 1e6, 3),
                int(r[5] or 0),
            )
            for r in rows
        ],
        None if rows else "no opt-out delivered in the period",
    )


def violations(cur: Cursor, principal_id: int, start: int, end: int) -> Table:
    """Contacts made after an objection had reached (or should have reached) the processor, in
    the period, per processor: how many, and the longest delay since the objection (hours)."""
    rows = cur.execute(
        "SELECT COALESCE(processor, '(none)'), COUNT(*), MAX(delay_us) FROM violations "
        "WHERE principal_id = :p AND attempt_at >= :s AND attempt_at < :e "
        "GROUP BY COALESCE(processor, '(none)') ORDER BY 1",
        {"p": principal_id, "s": start, "e": end},
    )
    return Table(
        "violations",
        ("processor", "violations", "longest delay since the objection (h)"),
        [(r[0], int(r[1]), round(float(r[2]) / 3.6e9, 1)) for r in rows],
        None if rows else "no violation in the period",
    )


@dataclass
class ComplianceFigures:
    principal: str
    start: datetime
    end: datetime
    tables: dict[str, Table]

    def to_dict(self) -> dict[str, Any]:
        return {
            "principal": self.principal,
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "tables": {k: t.to_dict() for k, t in self.tables.items()},
        }


def compliance_figures(
    db: Database,
    principal: str | None,
    start: datetime,
    end: datetime,
    max_age_days: int,
    overdue_seconds: int = 3600,
) -> ComplianceFigures:
    """Every figure of the compliance report, in one read transaction."""
    s, e = instants.to_us(start), instants.to_us(end)
    overdue_us = overdue_seconds * 1_000_000
    with db.transaction() as cur:
        owner = repo.find_principal(cur, principal)
        tables = {
            "objections_by_source": objections_by_source(cur, owner.id, s, e),
            "objections_by_day": objections_by_day(cur, owner.id, s, e),
            "contact_pressure": contact_pressure(cur, owner.id, e),
            "consents_expiring": consents_expiring(cur, owner.id, e, max_age_days),
            "list_freshness": list_freshness(cur, e),
        }
        tables["propagation_lag"] = propagation_lag(cur, owner.id, s, e, overdue_us)
        tables["violations"] = violations(cur, owner.id, s, e)
    return ComplianceFigures(owner.name, start, end, tables)
