"""Plain-text renderings shared by the CLI and the demo (no personal data beyond what was asked)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from permis.adapters.db.instants import from_us
from permis.domain.events import StoredEvent
from permis.domain.model import Decision


def _short(value: Any) -> str:
    return value.isoformat(timespec="minutes") if value is not None else "never on its own"


def decision_text(decision: Decision) -> str:
    verdict = "ALLOWED" if decision.allowed else "REFUSED"
    contact = decision.contact or "(invalid contact point)"
    lines = [
        f"{verdict}  {decision.channel.value} to {contact} at "
        f"{decision.at.isoformat(timespec='minutes')} (local {decision.local_time:%a %H:%M})"
    ]
    for reason in decision.reasons:
        lines.append(f"  {reason.code.value:<24} {reason.message}")
        lines.append(f"  {'':<24} {reason.rule} · {reason.reference}")
        lines.append(f"  {'':<24} lapses: {_short(reason.until)}")
    if not decision.allowed:
        lines.append(f"  next allowed: {_short(decision.next_allowed_at)}")
    lines.append(f"  rules: {decision.rules_version}")
    return "\n".join(lines)


def recorded_text(result: Any) -> str:
    event = result.event
    verb = "recorded" if result.created else "already recorded (same idempotency key)"
    return f"{verb}: {event.type} #{event.id} (seq {event.seq}, hash {event.hash[:12]}…)"


def event_dict(event: StoredEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "seq": event.seq,
        "type": event.type,
        "occurred_at": from_us(event.occurred_at).isoformat(),
        "recorded_at": from_us(event.recorded_at).isoformat(),
        "data": event.data,
        "actor": event.actor,
        "erased": event.personal is None and event.personal_digest is not None,
        "hash": event.hash,
    }


def history_text(events: list[StoredEvent]) -> str:
    if not events:
        return "no events for this contact point"
    lines = []
    for event in events:
        when = from_us(event.occurred_at).isoformat(timespec="minutes")
        detail = ", ".join(f"{k}={v}" for k, v in event.data.items() if v and k != "proof")
        lines.append(f"#{event.seq:<5} {when}  {event.type:<20} {detail}")
    return "\n".join(lines)


def scrub_text(summary: Any) -> str:
    lines = [
        f"{summary.input_rows} rows: {summary.allowed} allowed, {summary.refused} refused, "
        f"{summary.invalid} invalid ({summary.seconds:.2f} s, rules {summary.rules_version})",
        f"contact column: {summary.column}",
    ]
    lines += [f"  {code:<24} {rows}" for code, rows in sorted(summary.by_reason.items())]
    for broken in summary.broken_rows[:10]:
        lines.append(f"  line {broken['line']}: {broken['reason']}")
    return "\n".join(lines)


@contextmanager
def progress_bar(title: str) -> Iterator[Callable[[int], None] | None]:
    """A Rich progress display on a terminal (rows done, rate, time), nothing when piped."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        MofNCompleteColumn(),
        TextColumn("rows"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(title, total=None)
        yield lambda rows: progress.advance(task, rows)


__all__ = [
    "decision_text",
    "event_dict",
    "history_text",
    "progress_bar",
    "recorded_text",
    "scrub_text",
]
