"""A thin connection layer over the DBAPI drivers (sqlite3, psycopg).

SQLAlchemy defines the schema and drives Alembic migrations, but the hot paths do not import it:
``import sqlalchemy`` alone takes about 0.28 s on the reference machine, and a whole ``permis
check`` process must answer in 0.3 s. Queries are written once, with ``:name`` parameters, in the
SQL that SQLite (3.35+) and PostgreSQL share (``RETURNING``, ``ON CONFLICT``).
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from permis.config import mask_url
from permis.errors import (
    ConfigError,
    DatabaseUnreachable,
    RegisterNotInitialised,
    SchemaOutdated,
)

HEAD_REVISION = "0006"
"""The schema revision this code expects (a test checks it is Alembic's head)."""
MMAP_BYTES = 64 * 1024**3
"""How much of a SQLite file a bulk read maps into memory (address space, not memory used)."""

Params = dict[str, Any]
Row = tuple[Any, ...]


class Cursor(Protocol):
    def execute(self, sql: str, params: Params | None = None) -> list[Row]: ...
    def execute_many(self, sql: str, rows: Sequence[Params]) -> None: ...
    def copy_rows(self, table: str, columns: Sequence[str], rows: Iterable[Row]) -> None: ...


@dataclass(frozen=True, slots=True)
class Url:
    dialect: str  # "sqlite" or "postgresql"
    target: str  # a file path, ":memory:", or a libpq conninfo URL

    @classmethod
    def parse(cls, url: str) -> Url:
        scheme = urlsplit(url).scheme.split("+")[0]
        if scheme == "sqlite":
            path = unquote(url.split(":///", 1)[1]) if ":///" in url else ""
            return cls("sqlite", path or ":memory:")
        if scheme in {"postgresql", "postgres"}:
            return cls("postgresql", "postgresql:" + url.split(":", 1)[1])
        raise ConfigError(f"Unsupported database URL scheme {scheme!r}: use sqlite or postgresql")

    def sqlalchemy_url(self) -> str:
        if self.dialect == "sqlite":
            return f"sqlite:///{self.target}"
        return "postgresql+psycopg:" + self.target.split(":", 1)[1]


_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@lru_cache(maxsize=512)
def to_pyformat(sql: str) -> str:
    """``:name`` → ``%(name)s`` for psycopg (a literal ``%`` is doubled first)."""
    return _PARAM.sub(r"%(\1)s", sql.replace("%", "%%"))


class _SqliteCursor:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Params | None = None) -> list[Row]:
        return self._conn.execute(sql, params or {}).fetchall()

    def execute_many(self, sql: str, rows: Sequence[Params]) -> None:
        self._conn.executemany(sql, rows)

    def copy_rows(self, table: str, columns: Sequence[str], rows: Iterable[Row]) -> None:
        marks = ", ".join("?" for _ in columns)
        self._conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


class _PgCursor:
    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Params | None = None) -> list[Row]:
        with self._conn.cursor() as cur:
            cur.execute(to_pyformat(sql), params or {})
            return list(cur.fetchall()) if cur.description else []

    def execute_many(self, sql: str, rows: Sequence[Params]) -> None:
        with self._conn.cursor() as cur:
            cur.executemany(to_pyformat(sql), rows)

    def copy_rows(self, table: str, columns: Sequence[str], rows: Iterable[Row]) -> None:
        with (
            self._conn.cursor() as cur,
            cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)


class Database:
    """One connection per thread, opened lazily; ``transaction()`` is the unit of work.

    A connection is never shared between threads, so the API's worker threads (and a scrub job
    running beside them) each have their own transaction; ``close`` closes them all."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.parsed = Url.parse(url)
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()

    @property
    def dialect(self) -> str:
        return self.parsed.dialect

    def _connect(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._open_sqlite() if self.dialect == "sqlite" else self._open_pg()
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def _open_sqlite(self) -> sqlite3.Connection:
        target = self.parsed.target
        if target != ":memory:" and not Path(target).parent.exists():
            raise DatabaseUnreachable(f"The folder of the SQLite register does not exist: {target}")
        conn = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=10000")
        return conn

    def _open_pg(self) -> Any:
        import psycopg

        try:
            return psycopg.connect(self.parsed.target, connect_timeout=5)
        except psycopg.OperationalError as exc:
            raise DatabaseUnreachable(
                f"Cannot reach PostgreSQL at {mask_url(self.url)}: is the server running? "
                f"({type(exc).__name__})"
            ) from None

    @contextmanager
    def transaction(self, write: bool = False) -> Iterator[Cursor]:
        """One transaction. ``write`` takes SQLite's write lock up front (no upgrade deadlock)."""
        conn = self._connect()
        if self.dialect == "sqlite":
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield _SqliteCursor(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return
        with conn.transaction():
            yield _PgCursor(conn)

    def change_stamp(self) -> tuple[object, int, int]:
        """SQLite: this thread's connection, its ``PRAGMA data_version`` (moves when any other
        connection commits) and its ``total_changes`` (moves when it writes itself): while both
        stay, the register this connection sees has not changed (``adapters.db.warm``). Run
        first in a transaction, the pragma also starts that transaction's snapshot."""
        conn = self._connect()
        cursor = getattr(self._local, "stamp", None)
        if cursor is None or cursor.connection is not conn:
            cursor = self._local.stamp = conn.cursor()
        version = cursor.execute("PRAGMA data_version").fetchone()[0]
        return conn, int(version), int(conn.total_changes)

    def read_frame(self, sql: str, schema: dict[str, Any]) -> Any:
        """A bulk read as a Polars frame with ``schema``, for the scrub.

        ``sql`` takes no parameters (callers inline integers they produced). SQLite files are
        read through ADBC straight into Arrow, PostgreSQL through ``COPY ... TO STDOUT``: both
        avoid building a Python tuple per row (measured: 2.1 s against 5.3 s for 3.7 M attempts).
        Each call is one statement, so it sees one consistent state of its table.

        ADBC links its own copy of SQLite. Two copies with the same file open in one process do
        not see each other's POSIX locks (closing one drops the other's), which can corrupt the
        file under concurrent writers: ADBC is used only while this object holds no ``sqlite3``
        connection in any thread (callers :meth:`release` theirs first, as the scrub does);
        otherwise the rows come through ``sqlite3``, slower but safe (a scrub job in a server).
        """
        import polars as pl

        if self.dialect == "sqlite" and self.parsed.target != ":memory:" and not self._all:
            import adbc_driver_sqlite.dbapi as adbc

            with adbc.connect(self.parsed.target) as conn, conn.cursor() as cur:
                # as the sqlite3 connections do: wait for a lock instead of failing (reads run
                # side by side in the scrub, and opening a WAL file may briefly need one)
                cur.execute("PRAGMA busy_timeout = 10000")
                cur.fetchall()
                # the pages read as mapped memory, not one ``pread`` per 4 KiB page (measured
                # on the 10 M-row scrub: the register's load 6.1 -> 4.1 s, system time
                # 4.7-7.7 -> 3-5 s); a read-only scan of this one statement, on a connection
                # closed right after
                cur.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
                cur.fetchall()
                cur.execute(sql)
                table = cur.fetch_arrow_table()
            frame = pl.from_arrow(table)
            assert isinstance(frame, pl.DataFrame)
            frame.columns = list(schema)
            return frame.cast(pl.Schema(schema))
        if self.dialect == "postgresql":
            import io

            buffer = io.BytesIO()
            conn = self._connect()
            with (
                conn.transaction(),
                conn.cursor() as cur,
                cur.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)") as copy,
            ):
                for data in copy:
                    buffer.write(data)
            buffer.seek(0)
            if not buffer.getbuffer().nbytes:
                return pl.DataFrame(schema=schema)
            return pl.read_csv(buffer, has_header=False, new_columns=list(schema), schema=schema)
        with self.transaction() as tx:
            return pl.DataFrame(tx.execute(sql), schema=schema, orient="row")

    def release(self) -> None:
        """Close this thread's connection only (other threads keep theirs)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            return
        with self._lock:
            self._all = [c for c in self._all if c is not conn]
        self._local.conn = None
        conn.close()

    def close(self) -> None:
        with self._lock:
            connections, self._all = self._all, []
        for conn in connections:
            conn.close()
        self._local = threading.local()

    def schema_revision(self) -> str | None:
        """The Alembic revision of the register, or None when it has never been initialised."""
        try:
            with self.transaction() as cur:
                rows = cur.execute("SELECT version_num FROM alembic_version")
        except DatabaseUnreachable:
            raise
        except Exception:
            return None
        return str(rows[0][0]) if rows else None

    def require_current_schema(self) -> None:
        revision = self.schema_revision()
        if revision is None:
            raise RegisterNotInitialised(
                f"No register at {mask_url(self.url)}: run `permis init` to create it"
            )
        if revision != HEAD_REVISION:
            raise SchemaOutdated(
                f"The register is at schema {revision}, this Permis needs {HEAD_REVISION}: "
                "run `permis init` to upgrade it"
            )
