"""The gate's warm cache (``adapters.db.warm``) never serves a stale answer.

Each test first makes the gate answer from memory (the same check twice, the second one served
by the cache), then changes the register in one of the ways a register changes (through the same
application, through another connection of the same process, through another process, by a list
import) and checks the very next answer sees the change. On PostgreSQL the gate keeps no cache:
the same tests then check the plain path.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path

import pytest

from permis.adapters.db import snapshots
from permis.adapters.db.warm import WarmCache
from permis.bootstrap import App, build
from permis.config import Settings
from permis.domain.model import Channel, SnapshotFact, Source
from permis.services.gate import CheckQuery, Gate
from permis.services.lists import import_list
from tests.conftest import BACKEND, FakeClock

NUMBER = "0612345678"
AT_TEXT = "2026-07-20T10:30:00+02:00"  # a Monday, Bloctel in force
AT = datetime.fromisoformat(AT_TEXT)
QUERY = CheckQuery(contact=NUMBER, channel=Channel.CALL, at=AT, principal="acme")


def codes(gate: Gate, query: CheckQuery = QUERY) -> list[str]:
    return [r.code.value for r in gate.check(query).reasons]


def warmed(app: App) -> list[str]:
    """Check twice; on SQLite, the second answer comes from the cache (and equals the first)."""
    first = codes(app.gate)
    assert codes(app.gate) == first
    if BACKEND == "sqlite":
        assert app.gate.warm is not None and len(app.gate.warm) > 0
    else:
        assert app.gate.warm is None
    return first


def test_a_write_through_the_same_application_is_seen_at_the_next_check(app: App) -> None:
    assert "OBJECTION" not in warmed(app)
    app.register.record_objection(principal="acme", contact=NUMBER, source=Source.AGENT, at=AT)
    assert "OBJECTION" in codes(app.gate)


def test_a_write_from_another_thread_of_the_same_application_is_seen(app: App) -> None:
    assert "OBJECTION" not in warmed(app)

    def record() -> None:  # another thread: another connection of the same Database
        app.register.record_objection(principal="acme", contact=NUMBER, source=Source.AGENT, at=AT)

    writer = threading.Thread(target=record)
    writer.start()
    writer.join()
    assert "OBJECTION" in codes(app.gate)


def test_a_write_through_another_connection_is_seen(app: App, database_url: str) -> None:
    assert "OBJECTION" not in warmed(app)
    other = build(Settings(database_url=database_url), FakeClock())
    try:
        other.register.record_objection(
            principal="acme", contact=NUMBER, source=Source.AGENT, at=AT
        )
    finally:
        other.close()
    assert "OBJECTION" in codes(app.gate)


def test_a_write_by_another_process_is_seen(app: App, database_url: str, tmp_path: Path) -> None:
    assert "OBJECTION" not in warmed(app)
    env = {**os.environ, "PERMIS_DATABASE_URL": database_url}
    exe = Path(sys.executable).parent / "permis"
    args = ["record", "objection", "--principal", "acme", "--contact", NUMBER, "--at", AT_TEXT]
    done = subprocess.run(
        [exe, *args, "--source", "agent"], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "OBJECTION" in codes(app.gate)


def test_a_list_import_is_seen_at_the_next_check(app: App, tmp_path: Path) -> None:
    before = warmed(app)
    assert "OPPOSITION_LIST_STALE" in before and "OPPOSITION_LIST" not in before
    listed = tmp_path / "bloctel.txt"
    listed.write_text(f"{NUMBER}\n0698765432\n")
    as_of = datetime.fromisoformat("2026-07-15T00:00:00+02:00")
    import_list(app.db, "bloctel", listed, as_of, AT)
    after = codes(app.gate)
    assert "OPPOSITION_LIST" in after and "OPPOSITION_LIST_STALE" not in after


def test_a_processor_and_a_policy_change_are_seen(app: App) -> None:
    from permis.services.processors import Processors

    query = CheckQuery(NUMBER, Channel.CALL, AT, principal="acme", processor="lille")
    assert "PROCESSOR_NOT_AUTHORIZED" in codes(app.gate, query)
    assert "PROCESSOR_NOT_AUTHORIZED" in codes(app.gate, query)
    Processors(app.db, app.clock).add("acme", "lille", ["call"])
    assert "PROCESSOR_NOT_AUTHORIZED" not in codes(app.gate, query)


def test_the_cache_keeps_at_most_its_size(database_url: str) -> None:
    app = build(Settings(database_url=database_url, check_cache_entries=3), FakeClock())
    try:
        app.register.ensure_principal("acme")
        for i in range(10):
            app.gate.check(CheckQuery(f"06123456{i:02d}", Channel.CALL, AT, principal="acme"))
        if BACKEND == "sqlite":
            assert app.gate.warm is not None and len(app.gate.warm) == 3
    finally:
        app.close()


def test_a_cache_of_zero_entries_reads_the_register_every_time(database_url: str) -> None:
    app = build(Settings(database_url=database_url, check_cache_entries=0), FakeClock())
    try:
        app.register.ensure_principal("acme")
        assert app.gate.warm is None
        assert "OBJECTION" not in codes(app.gate)
        app.register.record_objection(principal="acme", contact=NUMBER, source=Source.AGENT, at=AT)
        assert "OBJECTION" in codes(app.gate)
    finally:
        app.close()


@pytest.mark.skipif(BACKEND != "sqlite", reason="the warm cache is kept on SQLite only")
def test_the_lists_read_through_the_cache_are_those_the_register_gives(
    app: App, tmp_path: Path
) -> None:
    numbers = [f"+336{n:08d}" for n in range(10_000, 40_000, 3)]  # 10,000: three blocks
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_text("\n".join(numbers))
    second.write_text("\n".join(numbers[::7]))
    import_list(app.db, "bloctel", first, datetime.fromisoformat("2026-07-01T00:00:00+02:00"), AT)
    import_list(app.db, "bloctel", second, datetime.fromisoformat("2026-07-15T00:00:00+02:00"), AT)
    asked = [f"+336{n:08d}" for n in range(9_990, 40_010)] + ["+33123", "zoe@example.org", "+1"]
    warm = WarmCache(app.db, 10)
    for _ in range(2):  # the second time, every block comes from memory
        with app.db.transaction() as cur:
            generation = warm.generation()
            for number in asked:
                assert warm.snapshots(cur, generation, number) == snapshots.load_snapshots(
                    cur, number
                ), number
    listed = [n for n in asked if any(s.listed for s in repo_snapshots(app, n))]
    assert len(listed) == len(numbers)


def repo_snapshots(app: App, number: str) -> tuple[SnapshotFact, ...]:
    with app.db.transaction() as cur:
        return snapshots.load_snapshots(cur, number)
