"""The demo's propagation story (DESIGN.md section 6), checked in its output and its register."""

from __future__ import annotations

import re
from pathlib import Path

from permis.adapters.db.database import Database
from permis.entrypoints.demo import run_demo


def test_the_objection_reaches_every_processor_and_the_late_call_is_a_violation(
    tmp_path: Path,
) -> None:
    lines: list[str] = []
    target = tmp_path / "demo.db"
    run_demo(target, lines.append)
    out = "\n".join(lines)
    for name in ("marketing", "lille", "tunis", "abidjan"):
        assert re.search(rf"{name} +received it +[\d.]+ ms after the commit", out), name
    within = re.search(r"every processor had it (\d+) ms after the commit", out)
    assert within is not None and int(within.group(1)) < 1000
    after = out.split("== 5.")[1].split("== 6.")[0]
    for name in ("lille", "tunis", "abidjan"):
        assert re.search(rf"\[{name}\] REFUSED .*\n +OBJECTION", after), name
    assert "VIOLATION  abidjan call at 2026-11-24T13:10: 1 d 3 h 08 min after the objection" in out
    db = Database(f"sqlite:///{target}")
    with db.transaction() as cur:
        states = cur.execute("SELECT form, state, COUNT(*) FROM deliveries GROUP BY form, state")
        violations = cur.execute("SELECT processor, delay_us FROM violations")
    db.close()
    assert sorted(states) == [("feed", "delivered", 1), ("webhook", "delivered", 3)]
    assert violations == [("abidjan", (27 * 3600 + 8 * 60) * 1_000_000)]
