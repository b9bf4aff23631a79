"""The opposition lists' snapshots in the register: dated snapshots, their numbers packed in
sorted blocks (``numbers.Block``), and the look-up of one number across every snapshot."""

from __future__ import annotations

from collections.abc import Iterable

from permis.adapters.db.database import Cursor, Row
from permis.adapters.db.instants import from_us
from permis.adapters.db.numbers import Block, block_holds, to_int
from permis.domain.model import SnapshotFact

_SNAPSHOTS_SQL = (
    "SELECT s.list_name, s.as_of, s.valid_until, (SELECT b.numbers FROM opposition_blocks b "
    "WHERE b.snapshot_id = s.id AND b.first_number <= :n ORDER BY b.first_number DESC LIMIT 1) "
    "FROM opposition_snapshots s ORDER BY s.as_of, s.id"
)
"""Each snapshot with the last block starting at or before the number: the only one that may
hold it (blocks are disjoint ranges; ``block_holds`` bisects it). One index seek per snapshot,
where ``first_number <= n AND last_number >= n`` would scan every block before the number."""


def load_snapshots(cur: Cursor, number: str) -> tuple[SnapshotFact, ...]:
    """Every snapshot, ordered by ``(as_of, id)``, and whether it lists ``number`` (one
    statement)."""
    value = to_int(number)
    return tuple(
        SnapshotFact(
            name,
            from_us(as_of),
            from_us(valid_until),
            value is not None and block is not None and block_holds(block, value),
        )
        for name, as_of, valid_until, block in cur.execute(_SNAPSHOTS_SQL, {"n": value})
    )


def add_snapshot(
    cur: Cursor, name: str, as_of: int, valid_until: int, entries: int, now_us: int
) -> int:
    rows = cur.execute(
        "INSERT INTO opposition_snapshots (list_name, as_of, valid_until, entries, imported_at) "
        "VALUES (:n, :a, :v, :e, :t) RETURNING id",
        {"n": name, "a": as_of, "v": valid_until, "e": entries, "t": now_us},
    )
    return int(rows[0][0])


def add_snapshot_blocks(cur: Cursor, snapshot_id: int, blocks: Iterable[Block]) -> None:
    """Bulk insert of a snapshot's packed numbers (COPY on PostgreSQL)."""
    cur.copy_rows(
        "opposition_blocks",
        ("snapshot_id", "first_number", "last_number", "count", "numbers"),
        ((snapshot_id, first, last, count, data) for first, last, count, data in blocks),
    )


def snapshot_blocks(cur: Cursor, snapshot_id: int) -> list[bytes]:
    rows = cur.execute(
        "SELECT numbers FROM opposition_blocks WHERE snapshot_id = :s ORDER BY first_number",
        {"s": snapshot_id},
    )
    return [bytes(r[0]) for r in rows]


def list_snapshots(cur: Cursor) -> list[Row]:
    return cur.execute(
        "SELECT id, list_name, as_of, valid_until, entries FROM opposition_snapshots "
        "ORDER BY list_name, as_of, id"
    )
