"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Cli:
    """The ``permis`` entry point on an empty register: ``(exit code, stdout, stderr)``."""
    from permis.entrypoints.cli import main

    monkeypatch.setenv("PERMIS_DATABASE_URL", empty_database_url)

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run
