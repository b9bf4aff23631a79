"""Shared pieces of the command line: option types, parsing, output, the app builder."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from permis.errors import InvalidTime, UsageError

E = TypeVar("E", bound=StrEnum)

# -- shared options ------------------------------------------------------------------------------
Contact = Annotated[
    str, typer.Option("--contact", help="Phone number in any written form, or e-mail.")
]
At = Annotated[str | None, typer.Option("--at", help="ISO 8601 time with offset; default now.")]
PrincipalOpt = Annotated[
    str | None, typer.Option("--principal", help="Principal (default: the only one).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
KeyOpt = Annotated[
    str | None, typer.Option("--idempotency-key", help="A repeat with the same key is a no-op.")
]
ProcessorOpt = Annotated[str | None, typer.Option("--processor", help="Processor acting.")]


def parse_time(text: str | None, option: str = "--at") -> datetime | None:
    """ISO 8601 with an explicit offset; a time without one is refused (no guessing)."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidTime(f"{option}: not an ISO 8601 time: {text!r}") from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidTime(f"{option}: the time has no UTC offset (write e.g. {text}+01:00)")
    return value


def parse_enum(kind: type[E], value: str, option: str) -> E:
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(m.value for m in kind)
        raise UsageError(f"{option}: unknown value {value!r} (one of: {choices})") from None


def parse_scope(kind: type[E], value: str, option: str) -> str:
    """A channel (or purpose) value, or ``all``."""
    return "all" if value == "all" else parse_enum(kind, value, option).value


def emit(data: dict[str, Any], as_json: bool, text: str) -> None:
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        typer.echo(text)


def build_app() -> Any:
    from permis.bootstrap import build

    return build()


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` to ``path`` through a temporary name (never a half-written file)."""
    tmp = path.with_name(f".{path.name}.part")
    try:
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UsageError(f"cannot write {path.name}: {exc.strerror}") from None
