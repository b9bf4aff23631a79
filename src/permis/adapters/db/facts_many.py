"""Facts for many contact points at once, in a few statements (the batch check's loader).

:func:`repositories.load_facts` reads one contact point with six indexed queries; a batch of
10,000 would need 60,000. Here each projection is read once for every contact point of the batch
that the register knows (``contact_points`` says which: every recorded event upserts its contact
point there first), so a batch of strangers costs one statement. The hashes travel as one
parameter: a JSON array read by ``json_each`` on SQLite, an array compared with ``= ANY`` on
PostgreSQL. The facts built here have the same shape and order as ``load_facts``' (a test
compares the batch with the single check row by row).

Opposition lists: a snapshot never changes once imported, so its numbers are kept per process as
one sorted Int64 series (8 bytes a number) and looked up with a binary search; at most
:data:`SNAPSHOT_CACHE_NUMBERS` numbers are kept, least recently used first out.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from permis.adapters.db.database import Cursor
from permis.adapters.db.instants import from_us
from permis.adapters.db.numbers import series_from_blocks
from permis.adapters.db.snapshots import list_snapshots, snapshot_blocks
from permis.domain.model import (
    AttemptFact,
    BudgetFact,
    ConsentFact,
    ContractFact,
    Facts,
    ObjectionFact,
    Period,
    RefusalFact,
    SnapshotFact,
)

if TYPE_CHECKING:
    import polars as pl

SNAPSHOT_CACHE_NUMBERS = 40_000_000
"""Numbers of opposition list snapshots kept in memory per process (about 320 MB at most)."""

_QUERIES = {  # in the order of ``Facts``' fields
    "consents": "channel, purpose, given_at, expires_at, withdrawn_at, source",
    "objections": "channel, purpose, at, source",
    "refusals": "at, processor",
    "contracts": "start_at, end_at",
    "attempts": "channel, at, processor, outcome, campaign",
    "budgets": "channel, max_count, period, set_at",
}


def _among(dialect: str) -> str:
    if dialect == "sqlite":
        return "contact_hash IN (SELECT value FROM json_each(:hashes))"
    return "contact_hash = ANY(:hashes)"


def _param(dialect: str, hashes: Sequence[str]) -> Any:
    return json.dumps(list(hashes)) if dialect == "sqlite" else list(hashes)


def contact_points_upto(cur: Cursor, principal_id: int, limit: int) -> list[Any] | None:
    """Every contact point of the principal as (hash, value, erased bucket), or ``None`` when
    it has more than ``limit``."""
    rows = cur.execute(
        "SELECT contact_hash, value, erased_bucket FROM contact_points WHERE principal_id = :p "
        "LIMIT :n",
        {"p": principal_id, "n": limit + 1},
    )
    return None if len(rows) > limit else rows


def known_hashes(cur: Cursor, dialect: str, principal_id: int, hashes: Sequence[str]) -> set[str]:
    """The hashes among ``hashes`` that have at least one event in the register."""
    if not hashes:
        return set()
    rows = cur.execute(
        f"SELECT contact_hash FROM contact_points WHERE principal_id = :p AND {_among(dialect)}",
        {"p": principal_id, "hashes": _param(dialect, hashes)},
    )
    return {str(r[0]) for r in rows}


class _Times(dict[int, datetime]):
    """``from_us`` remembered for one load: facts recorded together share their instants."""

    def __missing__(self, value: int) -> datetime:
        at = self[value] = from_us(value)
        return at

    def opt(self, value: int | None) -> datetime | None:
        return None if value is None else self[value]


def _fact(table: str, r: Any, at: _Times) -> Any:
    if table == "consents":
        return ConsentFact(r[0], r[1], at[r[2]], at.opt(r[3]), at.opt(r[4]), r[5])
    if table == "objections":
        return ObjectionFact(at[r[2]], r[0], r[1], r[3])
    if table == "refusals":
        return RefusalFact(at[r[0]], r[1])
    if table == "contracts":
        return ContractFact(at[r[0]], at.opt(r[1]))
    if table == "attempts":
        return AttemptFact(at[r[1]], r[0], r[2], r[3], r[4])
    return BudgetFact(r[0], int(r[1]), Period(r[2]), at[r[3]])


def load_facts_many(
    cur: Cursor, dialect: str, principal_id: int, hashes: Iterable[str]
) -> dict[str, Facts]:
    """``Facts`` (without snapshots and processor) for each hash that has any, by hash.

    Rows come back in the order ``load_facts`` reads them (the table's order for one contact
    point: ``ORDER BY`` the row id, which is what SQLite and PostgreSQL return there)."""
    wanted = sorted(set(hashes))
    if not wanted:
        return {}
    parameters = {"p": principal_id, "hashes": _param(dialect, wanted)}
    parts: dict[str, list[list[Any]]] = {}
    at = _Times()
    for i, (table, columns) in enumerate(_QUERIES.items()):
        rows = cur.execute(
            f"SELECT contact_hash, {columns} FROM {table} "
            f"WHERE principal_id = :p AND {_among(dialect)} ORDER BY id",
            parameters,
        )
        for row in rows:
            mine = parts.get(row[0])
            if mine is None:
                mine = parts[str(row[0])] = [[] for _ in _QUERIES]
            mine[i].append(_fact(table, row[1:], at))
    return {
        h: Facts(
            consents=tuple(p[0]),
            objections=tuple(p[1]),
            refusals=tuple(p[2]),
            contracts=tuple(p[3]),
            attempts=tuple(p[4]),
            budgets=tuple(p[5]),
        )
        for h, p in parts.items()
    }


# ---------------------------------------------------------------------------------------------
# opposition lists
# ---------------------------------------------------------------------------------------------

_cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_cache_lock = threading.Lock()


def _snapshot_numbers(cur: Cursor, where: str, snapshot: Any) -> Any:
    """The numbers of ``snapshot`` (a ``list_snapshots`` row). The key holds the row itself, so
    a snapshot deleted and another imported under the same id is never served from cache."""
    snapshot_id = int(snapshot[0])
    key = (where, *snapshot)
    with _cache_lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    series = series_from_blocks(snapshot_blocks(cur, snapshot_id))
    with _cache_lock:
        _cache[key] = series
        total = sum(len(s) for s in _cache.values())
        while total > SNAPSHOT_CACHE_NUMBERS and len(_cache) > 1:
            _, dropped = _cache.popitem(last=False)
            total -= len(dropped)
    return series


def snapshot_columns(
    cur: Cursor, where: str
) -> tuple[list[tuple[SnapshotFact, SnapshotFact]], list[pl.Series]]:
    """Every snapshot, ordered by ``(as_of, id)`` as :func:`snapshots.load_snapshots` orders
    them, as a pair of facts (not listed, listed), and its numbers (sorted, unique Int64).
    ``where`` names the register (its URL) so that two registers never share a cache entry."""
    snapshots = sorted(list_snapshots(cur), key=lambda s: (s[2], s[0]))
    numbers = [_snapshot_numbers(cur, where, tuple(snapshot)) for snapshot in snapshots]
    facts = [
        (
            SnapshotFact(name, from_us(as_of), from_us(until), False),
            SnapshotFact(name, from_us(as_of), from_us(until), True),
        )
        for _, name, as_of, until, _ in snapshots
    ]
    return facts, numbers
