"""Opposition lists: dated snapshots (Bloctel, US DNC, UK TPS, ...) with their validity.

A snapshot is the list as the operator returned it on ``as_of``; it is valid for the list's
validity period (Bloctel 30 days, US DNC 31, UK TPS 28, ...). A rule that requires a list refuses
with ``OPPOSITION_LIST_STALE`` when no valid snapshot covers the decision's date.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from permis.adapters.db import instants
from permis.adapters.db import repositories as repo
from permis.adapters.db import snapshots as snapshot_repo
from permis.adapters.db.database import Database
from permis.errors import UsageError

VALIDITY_DAYS: dict[str, int] = {
    "bloctel": 30,
    "us-dnc": 31,
    "uk-tps": 28,
    "uk-ctps": 28,
    "ca-dncl": 31,
    "es-robinson": 30,
    "be-dncm": 30,
}
"""Default validity per list; a principal's own list defaults to 30 days (``--validity-days``)."""

DEFAULT_VALIDITY = 30
PARIS = ZoneInfo("Europe/Paris")


@dataclass(frozen=True, slots=True)
class ImportResult:
    list_name: str
    snapshot_id: int
    as_of: datetime
    valid_until: datetime
    lines: int
    numbers: int
    invalid: int
    duplicates: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "list": self.list_name,
            "snapshot_id": self.snapshot_id,
            "as_of": self.as_of.isoformat(),
            "valid_until": self.valid_until.isoformat(),
            "lines": self.lines,
            "numbers": self.numbers,
            "invalid": self.invalid,
            "duplicates": self.duplicates,
            "seconds": round(self.seconds, 3),
        }


def parse_as_of(text: str) -> datetime:
    """A date (midnight, Paris time) or an ISO 8601 time with offset."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(0), PARIS)
        value = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--as-of: not a date or ISO 8601 time: {text!r}") from None
    if value.tzinfo is None:
        raise UsageError("--as-of: the time has no UTC offset")
    return value


def validity_for(name: str, override: int | None) -> int:
    days = override if override is not None else VALIDITY_DAYS.get(name, DEFAULT_VALIDITY)
    if days <= 0:
        raise UsageError("--validity-days must be at least 1")
    return days


def _numbers(path: Path, column: str | None, progress: Callable[[int], None] | None) -> _Read:
    """Every number of a list file, normalised to int64 E.164 digits (not yet unique)."""
    import polars as pl

    from permis.adapters import files
    from permis.services.normalise import normalise_phones

    info = files.sniff(path)
    read = _Read()
    chosen: str | None = None
    for batch in files.read_batches(path, info):
        if chosen is None:
            chosen = files.guess_contact_column(batch.table, column)
        raw = batch.table[chosen].cast(pl.Utf8).str.strip_chars()
        blank = int((raw.is_null() | (raw == "")).sum())
        contact = normalise_phones(raw)["contact"]
        read.lines += batch.table.height - blank + len(batch.broken)
        read.invalid += int(contact.null_count()) - blank + len(batch.broken)
        read.chunks.append(contact.drop_nulls().str.slice(1).cast(pl.Int64))
        if progress is not None:
            progress(batch.table.height + len(batch.broken))
    return read


@dataclass
class _Read:
    lines: int = 0
    invalid: int = 0
    chunks: list[Any] = field(default_factory=list)


def import_list(
    db: Database,
    name: str,
    path: Path,
    as_of: datetime,
    now: datetime,
    validity_days: int | None = None,
    progress: Callable[[int], None] | None = None,
    column: str | None = None,
) -> ImportResult:
    """Load a snapshot in one transaction: numbers normalised, de-duplicated, sorted, packed."""
    import time as clock

    import polars as pl

    from permis.adapters.db.numbers import pack_series

    if as_of > now:
        raise UsageError("--as-of is in the future: a snapshot cannot be dated after today")
    started = clock.perf_counter()
    days = validity_for(name, validity_days)
    read = _numbers(path, column, progress)
    every = pl.concat(read.chunks) if read.chunks else pl.Series("number", [], dtype=pl.Int64)
    unique = every.unique().sort()
    valid_until = as_of + timedelta(days=days)
    with db.transaction(write=True) as cur:
        snapshot_id = snapshot_repo.add_snapshot(
            cur,
            name,
            instants.to_us(as_of),
            instants.to_us(valid_until),
            len(unique),
            instants.to_us(now),
        )
        snapshot_repo.add_snapshot_blocks(cur, snapshot_id, pack_series(unique))
    return ImportResult(
        name,
        snapshot_id,
        as_of,
        valid_until,
        read.lines,
        len(unique),
        read.invalid,
        len(every) - len(unique),
        clock.perf_counter() - started,
    )


def export_numbers(db: Database, principal: str | None, path: Path) -> int:
    """Write the principal's phone numbers, one per line, to send to a list operator."""
    with db.transaction() as cur:
        owner = repo.find_principal(cur, principal)
        values = repo.phone_values(cur, owner.id)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text("".join(f"{v}\n" for v in values), encoding="utf-8")
    tmp.replace(path)
    return len(values)


def snapshots(db: Database) -> list[dict[str, Any]]:
    with db.transaction() as cur:
        rows = snapshot_repo.list_snapshots(cur)
    return [
        {
            "id": r[0],
            "list": r[1],
            "as_of": instants.from_us(r[2]).isoformat(),
            "valid_until": instants.from_us(r[3]).isoformat(),
            "numbers": r[4],
        }
        for r in rows
    ]
