"""``permis NAME`` builds only NAME: every command and group of the app is found by its name."""

from __future__ import annotations

import typer

from permis.entrypoints import cli


def _names(typer_app: typer.Typer) -> list[str]:
    commands = [cli._command_name(info) for info in typer_app.registered_commands]
    groups = [info.name or "" for info in typer_app.registered_groups]
    return commands + groups


def test_every_top_level_name_builds_an_app_of_that_name_alone() -> None:
    names = _names(cli.app)
    assert "check" in names and "record" in names and "audit" in names
    for name in names:
        only = cli._only(name)
        assert only is not cli.app, name
        assert _names(only) == [name]


def test_an_unknown_name_keeps_the_whole_app_for_its_error() -> None:
    assert cli._only("no-such-command") is cli.app
