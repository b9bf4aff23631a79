"""Instants as the register stores them: integer microseconds since the Unix epoch, UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_us(at: datetime) -> int:
    """Aware datetime → integer microseconds since the epoch (exact, no float rounding)."""
    delta = at - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


def opt_us(at: datetime | None) -> int | None:
    return None if at is None else to_us(at)


def opt_dt(value: int | None) -> datetime | None:
    return None if value is None else from_us(value)
