"""Warm projections: what a single check reads from the register, kept in memory, never stale.

The gate reads, per check, the principal and its policy, then the facts about one contact point
(six projections, the opposition lists, the processor). :class:`WarmCache` keeps those answers
per process, and serves one only while the register cannot have changed since it was read.

"Cannot have changed" is decided on SQLite by two counters of the connection the check uses
(one per thread, :meth:`Database.change_stamp`): ``PRAGMA data_version``, which moves when ANY
OTHER connection (another process, another thread, another ``Database``) commits, and
``total_changes``, which moves when this connection itself writes (``data_version`` does not
move for a connection's own commits). Each thread's connection remembers the pair it last saw;
when it differs, or the connection is not the one remembered, the whole cache is dropped and the
process-wide generation moves on. An entry is stored with the generation read in the same
transaction as its rows, and served only while the generation is still that one: a thread that
read an older snapshot can never serve it after another thread saw a newer one.

Any commit anywhere drops everything: the cache is worth it for the dialer's pattern (many checks
between writes), and costs one ``PRAGMA`` per check otherwise. PostgreSQL has no such cheap
counter visible to every session, so there the gate reads the register on every check
(:meth:`WarmCache.for_database` returns None).
"""

from __future__ import annotations

import threading
from bisect import bisect_right, insort
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from permis.adapters.db.database import Cursor, Database
from permis.adapters.db.instants import from_us
from permis.adapters.db.numbers import block_holds, to_int
from permis.domain.model import SnapshotFact

MAX_BLOCKS = 1024
"""Opposition blocks (32 KB each) kept per process: 32 MB at most; past it they are dropped."""

_LISTS_SQL = "SELECT id, list_name, as_of, valid_until FROM opposition_snapshots ORDER BY as_of, id"
_BLOCK_SQL = (
    "SELECT first_number, last_number, numbers FROM opposition_blocks WHERE snapshot_id = :s "
    "AND first_number <= :n ORDER BY first_number DESC LIMIT 1"
)


class _Blocks:
    """The blocks of one snapshot read so far: disjoint ``[first, last]`` ranges, sorted."""

    __slots__ = ("datas", "firsts", "lasts")

    def __init__(self) -> None:
        self.firsts: list[int] = []
        self.lasts: list[int] = []
        self.datas: list[bytes] = []

    def covering(self, number: int) -> bytes | None:
        """The block whose range holds ``number``: then the last block starting at or before
        it (blocks are disjoint), the only one that may list it."""
        i = bisect_right(self.firsts, number) - 1
        if i >= 0 and number <= self.lasts[i]:
            return self.datas[i]
        return None

    def add(self, first: int, last: int, data: bytes) -> None:
        if first in self.firsts:
            return
        insort(self.firsts, first)
        i = self.firsts.index(first)
        self.lasts.insert(i, last)
        self.datas.insert(i, data)


class WarmCache:
    """A bounded LRU of register reads, valid for one generation of the register."""

    def __init__(self, db: Database, size: int) -> None:
        self.db = db
        self.size = size
        self._entries: OrderedDict[Hashable, tuple[int, Any]] = OrderedDict()
        self._generation = 0
        self._lock = threading.Lock()
        self._seen = threading.local()
        self._lists: tuple[int, list[tuple[int, str, Any, Any]]] | None = None
        self._blocks: dict[int, _Blocks] = {}
        self._block_count = 0

    @classmethod
    def for_database(cls, db: Database, size: int) -> WarmCache | None:
        """A cache for ``db`` when it can be kept exact (SQLite) and ``size`` is positive."""
        if size <= 0 or db.dialect != "sqlite":
            return None
        return cls(db, size)

    def __len__(self) -> int:
        return len(self._entries)

    def generation(self) -> int:
        """The register's generation as this thread's connection sees it now: call it first
        inside the transaction that reads what will be stored (its snapshot then starts here),
        or outside any transaction before serving from the cache."""
        connection, version, changes = self.db.change_stamp()
        seen = getattr(self._seen, "stamp", None)
        stamp = (version, changes)
        if seen is None or seen[0] is not connection or seen[1] != stamp:
            with self._lock:
                self._generation += 1
                self._entries.clear()
                self._lists = None
                self._blocks = {}
                self._block_count = 0
            self._seen.stamp = (connection, stamp)
        return self._generation

    def get(self, generation: int, key: Hashable) -> Any:
        """The value stored under ``key`` in ``generation``, or None."""
        hit = self._entries.get(key)
        if hit is None or hit[0] != generation or generation != self._generation:
            return None
        try:  # noqa: SIM105 - cheaper than contextlib.suppress on every hit
            self._entries.move_to_end(key)
        except KeyError:  # dropped by another thread meanwhile: still the value read
            pass
        return hit[1]

    def put(self, generation: int, key: Hashable, value: object) -> None:
        """Remember ``value`` (read in ``generation``) unless the generation moved on since."""
        with self._lock:
            if generation != self._generation:
                return
            self._entries[key] = (generation, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def snapshots(self, cur: Cursor, generation: int, number: str) -> tuple[SnapshotFact, ...]:
        """``snapshots.load_snapshots(cur, number)``, with the snapshots and the blocks
        already read in ``generation`` taken from memory (``cur`` reads in ``generation``)."""
        value = to_int(number)
        found = []
        for snapshot_id, name, as_of, valid_until in self._snapshot_rows(cur, generation):
            listed = False
            if value is not None:
                data = self._block(cur, generation, snapshot_id, value)
                listed = data is not None and block_holds(data, value)
            found.append(SnapshotFact(name, as_of, valid_until, listed))
        return tuple(found)

    def _snapshot_rows(self, cur: Cursor, generation: int) -> list[tuple[int, str, Any, Any]]:
        lists = self._lists
        if lists is not None and lists[0] == generation:
            return lists[1]
        rows = [
            (int(i), str(name), from_us(as_of), from_us(valid_until))
            for i, name, as_of, valid_until in cur.execute(_LISTS_SQL)
        ]
        with self._lock:
            if generation == self._generation:
                self._lists = (generation, rows)
        return rows

    def _block(self, cur: Cursor, generation: int, snapshot_id: int, value: int) -> bytes | None:
        known = self._blocks.get(snapshot_id)
        if known is not None:
            data = known.covering(value)
            if data is not None:
                return data
        rows = cur.execute(_BLOCK_SQL, {"s": snapshot_id, "n": value})
        if not rows:
            return None
        first, last, data = int(rows[0][0]), int(rows[0][1]), bytes(rows[0][2])
        with self._lock:
            if generation == self._generation:
                if self._block_count >= MAX_BLOCKS:
                    self._blocks, self._block_count = {}, 0
                self._blocks.setdefault(snapshot_id, _Blocks()).add(first, last, data)
                self._block_count += 1
        return data
