"""Local time, calling windows and public holidays (Code de la consommation, art. D223-9).

Pure: no clock (every instant is an argument, a timezone-aware ``datetime``), no I/O beyond the
time zone database and the ``holidays`` package. Windows are local wall-clock times: 10:00 in
Paris stays 10:00 in Paris on either side of a daylight saving change.

``holidays`` is imported on first use only, and its France class is loaded on its own rather
than through ``holidays.countries`` (which imports some 250 country modules, about 80 ms).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, Final
from zoneinfo import ZoneInfo

MAX_SEARCH_DAYS: Final = 400
"""Bound on every forward search; beyond it the search raises ``ValueError``."""

METROPOLE: Final = "metropole"
HOLIDAY_LANGUAGE: Final = "en_US"
"""Holiday names are requested in this language: without one, ``holidays`` follows LANG."""

TERRITORY_SUBDIVISIONS: Final[Mapping[str, str]] = {
    "GP": "971",  # Guadeloupe
    "MQ": "972",  # Martinique
    "GF": "973",  # Guyane (the library's own alias is "GY", not "GF")
    "RE": "974",  # La Réunion
    "YT": "976",  # Mayotte
    "BL": "BL",  # Saint-Barthélemy
    "MF": "MF",  # Saint-Martin
    "PM": "PM",  # Saint-Pierre-et-Miquelon
    "NC": "NC",  # Nouvelle-Calédonie
    "PF": "PF",  # Polynésie française
    "WF": "WF",  # Wallis-et-Futuna
    "TF": "TF",  # Terres australes et antarctiques françaises
}
"""French territory (ISO 3166 / phone region code) -> ``holidays.France`` subdivision."""

ALSACE_MOSELLE: Final = "57"
"""Moselle; Alsace ("6AE") has the same two extra days (Good Friday, 26 December)."""


@dataclass(frozen=True, slots=True)
class Window:
    """A daily slot on some weekdays, in local wall-clock time: ``[start, end)``."""

    weekdays: frozenset[int]  # 0 = Monday ... 6 = Sunday
    start: time
    end: time  # exclusive: 20:00 sharp is outside

    def __post_init__(self) -> None:
        if not self.weekdays <= frozenset(range(7)):
            raise ValueError(f"weekdays must be within 0..6: {sorted(self.weekdays)}")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("window times are local wall-clock times, without tzinfo")
        if not self.start < self.end:
            raise ValueError(f"empty window or one crossing midnight: {self.start}-{self.end}")

    def holds(self, weekday: int, wall: time) -> bool:
        """Is the wall-clock time ``wall`` of a day ``weekday`` (Monday 0) inside the window?"""
        return weekday in self.weekdays and self.start <= wall < self.end


WEEKDAYS: Final = frozenset(range(5))

FR_CALL_WINDOWS: Final[tuple[Window, ...]] = (
    Window(WEEKDAYS, time(10, 0), time(13, 0)),
    Window(WEEKDAYS, time(14, 0), time(20, 0)),
)
"""Art. D223-9: Monday to Friday, 10:00-13:00 and 14:00-20:00, the consumer's local time."""


def _never(_day: date) -> bool:
    return False


# --------------------------------------------------------------------------------------------
# local time and windows
# --------------------------------------------------------------------------------------------


def local_time(at: datetime, zone: str) -> datetime:
    """``at`` as the wall-clock time in ``zone``; ``at`` must be timezone-aware."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"a timezone-aware datetime is required, got {at!r}")
    tz = _ZONES.get(zone)
    if tz is None:
        tz = _ZONES[zone] = ZoneInfo(zone)
    return at.astimezone(tz)


_ZONES: dict[str, ZoneInfo] = {}
"""``ZoneInfo(name)`` by name: the same objects ``ZoneInfo``'s own cache returns, without its
constructor's cost on every call."""


def in_windows(local: datetime, windows: Sequence[Window]) -> bool:
    """Is the wall-clock time of ``local`` inside one of ``windows``?"""
    weekday, wall = local.weekday(), local.time()  # once for every window
    return any(window.holds(weekday, wall) for window in windows)


def _wall_instants(day: date, wall: time, tz: ZoneInfo) -> list[datetime]:
    """The UTC instants whose local wall-clock time in ``tz`` is ``day`` at ``wall``.

    Two for a time repeated when clocks go back, none for a time skipped when they go forward:
    then the instant the clocks jump (the earliest one whose wall-clock time is past ``wall``).
    """
    naive = datetime.combine(day, wall)
    found: set[datetime] = set()
    for fold in (0, 1):
        instant = naive.replace(tzinfo=tz, fold=fold).astimezone(UTC)
        if instant.astimezone(tz).replace(tzinfo=None) == naive:
            found.add(instant)
    if found:
        return sorted(found)
    ends = sorted(naive.replace(tzinfo=tz, fold=fold).astimezone(UTC) for fold in (0, 1))
    low, high = ends  # wall-clock time before the gap at ``low``, after it at ``high``
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(tz).replace(tzinfo=None) > naive:
            high = middle
        else:
            low = middle
    return [high.replace(microsecond=0)]


def _first_on_day(
    day: date, at: datetime, tz: ZoneInfo, windows: Sequence[Window]
) -> datetime | None:
    """The earliest window start on local ``day`` at or after ``at``, in ``tz``."""
    starts = sorted(
        instant
        for window in windows
        if day.weekday() in window.weekdays
        for instant in _wall_instants(day, window.start, tz)
        if instant >= at
    )
    for instant in starts:
        local = instant.astimezone(tz)
        if local.date() == day and in_windows(local, windows):
            return local
    return None


def next_window_start(
    at: datetime,
    zone: str,
    windows: Sequence[Window],
    skip_day: Callable[[date], bool] = _never,
) -> datetime:
    """The earliest instant ``>= at`` inside a window in ``zone``, on a local day not skipped.

    ``at`` itself (in ``zone``) when it already is; otherwise the start of a window. Raises
    ``ValueError`` when there is none within ``MAX_SEARCH_DAYS``.
    """
    local = local_time(at, zone)
    if in_windows(local, windows) and not skip_day(local.date()):
        return local
    tz = ZoneInfo(zone)
    first = local.date()
    for offset in range(MAX_SEARCH_DAYS + 1):
        day = first + timedelta(days=offset)
        if skip_day(day):
            continue
        found = _first_on_day(day, at, tz, windows)
        if found is not None:
            return found
    raise ValueError(f"no calling window in {zone} within {MAX_SEARCH_DAYS} days of {at}")


def next_common_window_start(
    at: datetime,
    zones: Sequence[str],
    windows: Sequence[Window],
    skip_day_for: Callable[[str], Callable[[date], bool]] | None = None,
) -> datetime:
    """The earliest instant ``>= at`` inside a window in every zone, given in the first zone.

    For a number that may be in several zones: each zone in turn pushes the candidate to its next
    window until none moves it (every instant skipped is outside a window in some zone).
    """
    if not zones:
        raise ValueError("at least one time zone is required")
    limit = local_time(at, zones[0]) + timedelta(days=MAX_SEARCH_DAYS)
    candidate = at
    while candidate <= limit:
        moved = False
        for zone in zones:
            skip = _never if skip_day_for is None else skip_day_for(zone)
            found = next_window_start(candidate, zone, windows, skip)
            if found != candidate:
                candidate, moved = found, True
        if not moved:
            return local_time(candidate, zones[0])
    raise ValueError(f"no common calling window in {list(zones)} within {MAX_SEARCH_DAYS} days")


def next_day_start(day: date, zone: str) -> datetime:
    """Local midnight starting the day after ``day`` (the first instant of it), in ``zone``."""
    tz = ZoneInfo(zone)
    return _wall_instants(day + timedelta(days=1), time(0), tz)[0].astimezone(tz)


def end_of_skipped_run(day: date, zone: str, skip_day: Callable[[date], bool]) -> datetime:
    """Local midnight after the last of the consecutive skipped days starting at ``day``.

    The start of ``day`` itself when ``day`` is not skipped (an empty run).
    """
    current = day
    while skip_day(current):
        current += timedelta(days=1)
        if current - day > timedelta(days=MAX_SEARCH_DAYS):
            raise ValueError(f"more than {MAX_SEARCH_DAYS} consecutive skipped days from {day}")
    return next_day_start(current - timedelta(days=1), zone)


# --------------------------------------------------------------------------------------------
# public holidays
# --------------------------------------------------------------------------------------------


def is_public_holiday(day: date, region: str, *, alsace_moselle_everywhere: bool = True) -> bool:
    """Is ``day`` a public holiday in ``region`` (see ``holiday_name``)?"""
    return (
        holiday_name(day, region, alsace_moselle_everywhere=alsace_moselle_everywhere) is not None
    )


def holiday_name(day: date, region: str, *, alsace_moselle_everywhere: bool = True) -> str | None:
    """The name of the public holiday on ``day`` in ``region``, or ``None``.

    ``region`` is ``"metropole"`` (``"FR"`` is taken as the same), a French territory code
    (``TERRITORY_SUBDIVISIONS``) or a foreign country code. Metropolitan France: the national
    days of Code du travail art. L3133-1, plus, when ``alsace_moselle_everywhere``, the two
    Alsace-Moselle days (a mobile number does not tell where in France the person is). A
    territory: the national days and its own (abolition of slavery, ...). A foreign country: the
    library's national days, none if it does not know the country.
    """
    if region == METROPOLE or region.upper() == "FR":
        subdivision = ALSACE_MOSELLE if alsace_moselle_everywhere else None
        return _french_holidays(day.year, subdivision).get(day)
    code = region.upper()
    if code in TERRITORY_SUBDIVISIONS:
        return _french_holidays(day.year, TERRITORY_SUBDIVISIONS[code]).get(day)
    return _foreign_holidays(code, day.year).get(day)


@lru_cache(maxsize=128)
def _french_holidays(year: int, subdivision: str | None) -> Mapping[date, str]:
    found = _france_class()(years=year, subdiv=subdivision, language=HOLIDAY_LANGUAGE)
    return dict(found.items())


@lru_cache(maxsize=128)
def _foreign_holidays(country: str, year: int) -> Mapping[date, str]:
    import holidays

    try:
        found = holidays.country_holidays(country, years=year, language=HOLIDAY_LANGUAGE)
    except NotImplementedError:  # a country the library does not know
        return {}
    return dict(found.items())


@lru_cache(maxsize=1)
def _france_class() -> Any:
    """``holidays.France``, loaded from its module file without ``holidays.countries``."""
    import importlib.util
    from pathlib import Path

    import holidays

    path = Path(holidays.__file__).with_name("countries") / "france.py"
    spec = importlib.util.spec_from_file_location("permis._holidays_france", path)
    if spec is None or spec.loader is None:  # pragma: no cover - layout changed
        return holidays.France  # type: ignore[attr-defined]
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except (ImportError, OSError):  # pragma: no cover - layout changed
        return holidays.France  # type: ignore[attr-defined]
    return module.France
