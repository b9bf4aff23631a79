"""Small pieces shared by the routers."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from permis.domain.model import Channel
from permis.errors import InvalidTime

ChannelOrAll = Channel | Literal["all"]


def aware(value: datetime | None, name: str = "at") -> datetime | None:
    """Times without a UTC offset are refused, as on the command line (no guessing)."""
    if value is not None and value.utcoffset() is None:
        raise InvalidTime(f"{name}: the time has no UTC offset (write e.g. +01:00)")
    return value
