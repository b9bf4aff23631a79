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
from collections import OrderedDict
from collections.abc import Hashable
from contextlib import suppress
from typing import Any

from permis.adapters.db.database import Database


class WarmCache:
    """A bounded LRU of register reads, valid for one generation of the register."""

    def __init__(self, db: Database, size: int) -> None:
        self.db = db
        self.size = size
        self._entries: OrderedDict[Hashable, tuple[int, Any]] = OrderedDict()
        self._generation = 0
        self._lock = threading.Lock()
        self._seen = threading.local()

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
            self._seen.stamp = (connection, stamp)
        return self._generation

    def get(self, generation: int, key: Hashable) -> Any:
        """The value stored under ``key`` in ``generation``, or None."""
        hit = self._entries.get(key)
        if hit is None or hit[0] != generation or generation != self._generation:
            return None
        with suppress(KeyError):  # dropped by another thread meanwhile: still the value read
            self._entries.move_to_end(key)
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
