"""The unit tests run once (the PostgreSQL half of ``make test`` runs tests/integration and
tests/e2e only): none of them may open a register, or its PostgreSQL behaviour would go untested."""

from __future__ import annotations

from pathlib import Path

UNIT = Path(__file__).parent
REGISTER_FIXTURES = ("database_url", "empty_database_url", "(app:", "app: App", "cli(")


def test_no_unit_test_opens_a_register() -> None:
    offenders = [
        f"{path.name}: {marker}"
        for path in sorted(UNIT.glob("test_*.py"))
        if path.name != Path(__file__).name
        for marker in REGISTER_FIXTURES
        if marker in path.read_text(encoding="utf-8")
    ]
    assert offenders == []
