"""Calling windows, local time across DST and time zones, and public holidays (art. D223-9)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from permis.domain import calendar
from permis.domain.calendar import (
    FR_CALL_WINDOWS,
    Window,
    end_of_skipped_run,
    holiday_name,
    in_windows,
    is_public_holiday,
    local_time,
    next_common_window_start,
    next_day_start,
    next_window_start,
)

PARIS = "Europe/Paris"
ZONE_REGIONS = {
    "Europe/Paris": "metropole",
    "Indian/Reunion": "RE",
    "America/Martinique": "MQ",
    "America/Guadeloupe": "GP",
    "America/Cayenne": "GF",
    "Indian/Mayotte": "YT",
    "America/Miquelon": "PM",
}


def at(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    assert value.tzinfo is not None
    return value


def skipper(region: str | None) -> Callable[[date], bool]:
    if region is None:
        return lambda _day: False
    return lambda day: is_public_holiday(day, region)


def days_of(year: int) -> list[date]:
    start = date(year, 1, 1)
    return [start + timedelta(days=n) for n in range((date(year + 1, 1, 1) - start).days)]


# --------------------------------------------------------------------------------------------
# windows
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wall", "inside"),
    [
        ("2026-11-19T09:59:59", False),
        ("2026-11-19T10:00:00", True),
        ("2026-11-19T12:59:59", True),
        ("2026-11-19T13:00:00", False),
        ("2026-11-19T13:59:00", False),
        ("2026-11-19T13:59:59.999999", False),
        ("2026-11-19T14:00:00", True),
        ("2026-11-19T19:59:59", True),
        ("2026-11-19T20:00:00", False),
        ("2026-11-19T00:00:00", False),
        ("2026-11-16T10:00:00", True),  # Monday
        ("2026-11-20T19:59:59", True),  # Friday
        ("2026-11-21T11:00:00", False),  # Saturday
        ("2026-11-22T15:00:00", False),  # Sunday
    ],
)
def test_in_windows_edges(wall: str, inside: bool) -> None:
    local = datetime.fromisoformat(wall).replace(tzinfo=ZoneInfo(PARIS))
    assert in_windows(local, FR_CALL_WINDOWS) is inside


def test_fr_call_windows() -> None:
    weekdays = frozenset({0, 1, 2, 3, 4})
    assert [(w.weekdays, w.start, w.end) for w in FR_CALL_WINDOWS] == [
        (weekdays, time(10), time(13)),
        (weekdays, time(14), time(20)),
    ]


@pytest.mark.parametrize(
    ("weekdays", "start", "end"),
    [
        (frozenset({7}), time(10), time(11)),
        (frozenset({-1}), time(10), time(11)),
        (frozenset({0}), time(11), time(10)),
        (frozenset({0}), time(10), time(10)),
        (frozenset({0}), time(10, tzinfo=UTC), time(11)),
    ],
)
def test_window_rejects_invalid(weekdays: frozenset[int], start: time, end: time) -> None:
    with pytest.raises(ValueError):
        Window(weekdays, start, end)


def test_local_time_converts_and_requires_aware() -> None:
    local = local_time(at("2026-11-19T17:30:00+00:00"), "Indian/Reunion")
    assert local.isoformat() == "2026-11-19T21:30:00+04:00"
    assert local.tzinfo == ZoneInfo("Indian/Reunion")
    with pytest.raises(ValueError):
        local_time(datetime(2026, 11, 19, 12), PARIS)
    with pytest.raises(ValueError):
        next_window_start(datetime(2026, 11, 19, 12), PARIS, FR_CALL_WINDOWS)


# --------------------------------------------------------------------------------------------
# next_window_start
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "zone", "region", "expected"),
    [
        # Paris, ordinary days (Thursday 19 and Friday 20 November 2026)
        ("2026-11-20T21:05:00+01:00", PARIS, None, "2026-11-23T10:00:00+01:00"),
        ("2026-11-19T13:30:00+01:00", PARIS, None, "2026-11-19T14:00:00+01:00"),
        ("2026-11-19T08:00:00+01:00", PARIS, None, "2026-11-19T10:00:00+01:00"),
        ("2026-11-19T11:15:42+01:00", PARIS, None, "2026-11-19T11:15:42+01:00"),
        ("2026-11-19T10:00:00+01:00", PARIS, None, "2026-11-19T10:00:00+01:00"),
        ("2026-11-19T13:00:00+01:00", PARIS, None, "2026-11-19T14:00:00+01:00"),
        ("2026-11-19T20:00:00+01:00", PARIS, None, "2026-11-20T10:00:00+01:00"),
        ("2026-11-19T18:59:59+00:00", PARIS, None, "2026-11-19T19:59:59+01:00"),
        ("2026-11-21T12:00:00+01:00", PARIS, None, "2026-11-23T10:00:00+01:00"),
        # holidays: Armistice (Wed 11 Nov), Christmas (Fri 25 Dec) then the weekend
        ("2026-11-10T20:30:00+01:00", PARIS, "metropole", "2026-11-12T10:00:00+01:00"),
        ("2026-11-11T11:00:00+01:00", PARIS, "metropole", "2026-11-12T10:00:00+01:00"),
        ("2026-11-11T11:00:00+01:00", PARIS, None, "2026-11-11T11:00:00+01:00"),
        ("2026-12-24T20:00:00+01:00", PARIS, "metropole", "2026-12-28T10:00:00+01:00"),
        ("2026-12-25T12:00:00+01:00", PARIS, "metropole", "2026-12-28T10:00:00+01:00"),
        # Good Friday (Alsace-Moselle, blocked everywhere by default) then Easter Monday
        ("2026-04-02T20:00:00+02:00", PARIS, "metropole", "2026-04-07T10:00:00+02:00"),
        # DST: spring forward on Sunday 29 March, fall back on Sunday 25 October 2026
        ("2026-03-27T20:00:00+01:00", PARIS, None, "2026-03-30T10:00:00+02:00"),
        ("2026-03-28T21:00:00+01:00", PARIS, None, "2026-03-30T10:00:00+02:00"),
        ("2026-03-29T01:59:00+01:00", PARIS, None, "2026-03-30T10:00:00+02:00"),
        ("2026-03-29T03:00:00+02:00", PARIS, None, "2026-03-30T10:00:00+02:00"),
        ("2026-10-23T20:30:00+02:00", PARIS, None, "2026-10-26T10:00:00+01:00"),
        ("2026-10-25T02:30:00+02:00", PARIS, None, "2026-10-26T10:00:00+01:00"),
        ("2026-10-25T02:30:00+01:00", PARIS, None, "2026-10-26T10:00:00+01:00"),
        ("2026-10-26T08:00:00+00:00", PARIS, None, "2026-10-26T10:00:00+01:00"),
        # Réunion (UTC+4): Paris office hours are its evening
        ("2026-11-19T18:30:00+01:00", "Indian/Reunion", None, "2026-11-20T10:00:00+04:00"),
        ("2026-11-19T07:30:00+01:00", "Indian/Reunion", None, "2026-11-19T10:30:00+04:00"),
        ("2026-12-18T17:00:00+01:00", "Indian/Reunion", "RE", "2026-12-21T10:00:00+04:00"),
        # Mayotte (UTC+3); Monday 27 April 2026 is its abolition day
        ("2026-11-19T18:30:00+01:00", "Indian/Mayotte", None, "2026-11-20T10:00:00+03:00"),
        ("2026-04-24T19:30:00+02:00", "Indian/Mayotte", "YT", "2026-04-28T10:00:00+03:00"),
        ("2026-04-24T19:30:00+02:00", "Indian/Mayotte", None, "2026-04-27T10:00:00+03:00"),
        # Martinique (UTC-4): Paris evening is its afternoon; Friday 22 May then Whit Monday
        ("2026-11-19T07:00:00+01:00", "America/Martinique", None, "2026-11-19T10:00:00-04:00"),
        ("2026-11-20T21:30:00+01:00", "America/Martinique", None, "2026-11-20T16:30:00-04:00"),
        ("2026-05-21T20:00:00-04:00", "America/Martinique", "MQ", "2026-05-26T10:00:00-04:00"),
        # Guadeloupe (UTC-4); Wednesday 27 May 2026 is its abolition day
        ("2026-11-19T14:30:00+01:00", "America/Guadeloupe", None, "2026-11-19T10:00:00-04:00"),
        ("2026-05-26T21:00:00-04:00", "America/Guadeloupe", "GP", "2026-05-28T10:00:00-04:00"),
        # Guyane (UTC-3); Wednesday 10 June 2026 is its abolition day
        ("2026-11-20T23:30:00+01:00", "America/Cayenne", None, "2026-11-20T19:30:00-03:00"),
        ("2026-11-21T00:30:00+01:00", "America/Cayenne", None, "2026-11-23T10:00:00-03:00"),
        ("2026-06-09T20:00:00-03:00", "America/Cayenne", "GF", "2026-06-11T10:00:00-03:00"),
    ],
)
def test_next_window_start(start: str, zone: str, region: str | None, expected: str) -> None:
    found = next_window_start(at(start), zone, FR_CALL_WINDOWS, skipper(region))
    assert found.isoformat() == expected
    assert found.tzinfo == ZoneInfo(zone)


def test_dst_keeps_wall_clock_time() -> None:
    before = next_window_start(at("2026-03-27T21:00:00+01:00"), PARIS, FR_CALL_WINDOWS)
    after = next_window_start(at("2026-10-24T09:00:00+02:00"), PARIS, FR_CALL_WINDOWS)
    assert before.astimezone(UTC).isoformat() == "2026-03-30T08:00:00+00:00"
    assert after.astimezone(UTC).isoformat() == "2026-10-26T09:00:00+00:00"
    assert before.time() == after.time() == time(10)


def test_window_start_in_dst_gap_is_the_jump() -> None:
    night = (Window(frozenset(range(7)), time(2, 30), time(5)),)
    found = next_window_start(at("2026-03-29T01:00:00+01:00"), PARIS, night)
    assert found.isoformat() == "2026-03-29T03:00:00+02:00"
    assert found.astimezone(UTC).isoformat() == "2026-03-29T01:00:00+00:00"


def test_next_window_start_gives_up() -> None:
    with pytest.raises(ValueError):
        next_window_start(at("2026-11-19T08:00:00+01:00"), PARIS, FR_CALL_WINDOWS, lambda _d: True)
    with pytest.raises(ValueError):
        next_window_start(at("2026-11-19T08:00:00+01:00"), PARIS, ())


# --------------------------------------------------------------------------------------------
# several zones
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "zones", "expected"),
    [
        (
            "2026-11-19T18:30:00+01:00",
            ("Indian/Mayotte", "Indian/Reunion"),
            "2026-11-20T10:00:00+03:00",
        ),
        (
            "2026-11-19T18:30:00+01:00",
            ("Indian/Reunion", "Indian/Mayotte"),
            "2026-11-20T11:00:00+04:00",
        ),
        (
            "2026-11-19T12:30:00+01:00",
            ("America/Martinique", "Indian/Reunion"),
            "2026-11-19T10:00:00-04:00",
        ),
        (
            "2026-11-19T12:30:00+01:00",
            ("Europe/Paris", "America/Cayenne"),
            "2026-11-19T14:00:00+01:00",
        ),
        ("2026-11-19T11:00:00+01:00", ("Europe/Paris",), "2026-11-19T11:00:00+01:00"),
    ],
)
def test_next_common_window_start(start: str, zones: tuple[str, ...], expected: str) -> None:
    found = next_common_window_start(at(start), zones, FR_CALL_WINDOWS)
    assert found == at(expected)
    assert found.tzinfo == ZoneInfo(zones[0])
    for zone in zones:
        assert in_windows(local_time(found, zone), FR_CALL_WINDOWS)


def test_next_common_window_start_skips_each_zones_days() -> None:
    # 20 December 2027 (Monday) is Réunion's abolition day, not Mayotte's
    zones = ("Indian/Mayotte", "Indian/Reunion")
    found = next_common_window_start(
        at("2027-12-17T20:00:00+03:00"), zones, FR_CALL_WINDOWS, lambda z: skipper(ZONE_REGIONS[z])
    )
    assert found.isoformat() == "2027-12-21T10:00:00+03:00"
    plain = next_common_window_start(at("2027-12-17T20:00:00+03:00"), zones, FR_CALL_WINDOWS)
    assert plain.isoformat() == "2027-12-20T10:00:00+03:00"


def test_next_common_window_start_without_a_common_window() -> None:
    monday_ten = (Window(frozenset({0}), time(10), time(11)),)
    with pytest.raises(ValueError):
        next_common_window_start(at("2026-11-19T08:00:00+00:00"), ("UTC", "Asia/Tokyo"), monday_ten)
    with pytest.raises(ValueError):
        next_common_window_start(at("2026-11-19T08:00:00+00:00"), (), FR_CALL_WINDOWS)


# --------------------------------------------------------------------------------------------
# day boundaries
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "zone", "expected"),
    [
        (date(2026, 11, 19), PARIS, "2026-11-20T00:00:00+01:00"),
        (date(2026, 3, 28), PARIS, "2026-03-29T00:00:00+01:00"),
        (date(2026, 3, 29), PARIS, "2026-03-30T00:00:00+02:00"),
        (date(2026, 10, 25), PARIS, "2026-10-26T00:00:00+01:00"),
        (date(2026, 12, 31), "Indian/Reunion", "2027-01-01T00:00:00+04:00"),
        (date(2026, 11, 19), "America/Cayenne", "2026-11-20T00:00:00-03:00"),
        # Chile springs forward at midnight: the day starts at 01:00
        (date(2026, 9, 5), "America/Santiago", "2026-09-06T01:00:00-03:00"),
    ],
)
def test_next_day_start(day: date, zone: str, expected: str) -> None:
    found = next_day_start(day, zone)
    assert found.isoformat() == expected
    assert found.tzinfo == ZoneInfo(zone)


@pytest.mark.parametrize(
    ("day", "zone", "region", "expected"),
    [
        (date(2026, 12, 25), PARIS, "metropole", "2026-12-27T00:00:00+01:00"),
        (date(2026, 12, 25), PARIS, None, "2026-12-25T00:00:00+01:00"),
        (date(2026, 11, 11), PARIS, "metropole", "2026-11-12T00:00:00+01:00"),
        (date(2026, 4, 3), PARIS, "metropole", "2026-04-04T00:00:00+02:00"),
        (date(2026, 5, 22), "America/Martinique", "MQ", "2026-05-23T00:00:00-04:00"),
        (date(2026, 12, 20), "Indian/Reunion", "RE", "2026-12-21T00:00:00+04:00"),
    ],
)
def test_end_of_skipped_run(day: date, zone: str, region: str | None, expected: str) -> None:
    assert end_of_skipped_run(day, zone, skipper(region)).isoformat() == expected


def test_end_of_skipped_run_is_bounded() -> None:
    with pytest.raises(ValueError):
        end_of_skipped_run(date(2026, 1, 1), PARIS, lambda _d: True)


# --------------------------------------------------------------------------------------------
# public holidays (facts checked against holidays 0.108)
# --------------------------------------------------------------------------------------------

NATIONAL_2026 = {
    date(2026, 1, 1): "New Year's Day",
    date(2026, 4, 6): "Easter Monday",
    date(2026, 5, 1): "Labor Day",
    date(2026, 5, 8): "Victory Day",
    date(2026, 5, 14): "Ascension Day",
    date(2026, 5, 25): "Pentecost Monday",
    date(2026, 7, 14): "National Day",
    date(2026, 8, 15): "Assumption Day",
    date(2026, 11, 1): "All Saints' Day",
    date(2026, 11, 11): "Armistice Day",
    date(2026, 12, 25): "Christmas Day",
}
GOOD_FRIDAY = date(2026, 4, 3)
SAINT_STEPHEN = date(2026, 12, 26)


@pytest.mark.parametrize(("day", "name"), sorted(NATIONAL_2026.items()))
@pytest.mark.parametrize("region", ["metropole", "GP", "MQ", "GF", "RE", "YT", "BL", "MF", "PM"])
def test_national_holidays_everywhere(day: date, name: str, region: str) -> None:
    assert holiday_name(day, region) == name
    assert is_public_holiday(day, region, alsace_moselle_everywhere=False)


@pytest.mark.parametrize(
    ("region", "everywhere", "extra"),
    [
        ("metropole", True, {GOOD_FRIDAY: "Good Friday", SAINT_STEPHEN: "Saint Stephen's Day"}),
        ("metropole", False, {}),
        ("FR", True, {GOOD_FRIDAY: "Good Friday", SAINT_STEPHEN: "Saint Stephen's Day"}),
        (
            "GP",
            True,
            {
                date(2026, 3, 12): "Mi-Careme",
                GOOD_FRIDAY: "Good Friday",
                date(2026, 5, 27): "Abolition of Slavery",
                date(2026, 7, 21): "Victor Schoelcher Day",
            },
        ),
        (
            "MQ",
            True,
            {
                GOOD_FRIDAY: "Good Friday",
                date(2026, 5, 22): "Abolition of Slavery",
                date(2026, 7, 21): "Victor Schoelcher Day",
            },
        ),
        ("GF", True, {date(2026, 6, 10): "Abolition of Slavery"}),
        ("RE", True, {date(2026, 12, 20): "Abolition of Slavery"}),
        ("RE", False, {date(2026, 12, 20): "Abolition of Slavery"}),
        ("re", True, {date(2026, 12, 20): "Abolition of Slavery"}),
        ("YT", True, {date(2026, 4, 27): "Abolition of Slavery"}),
        ("BL", True, {date(2026, 10, 9): "Abolition of Slavery"}),
        (
            "MF",
            True,
            {date(2026, 5, 28): "Abolition of Slavery", date(2026, 7, 21): "Victor Schoelcher Day"},
        ),
        ("PM", True, {}),
    ],
)
def test_holidays_of_2026(region: str, everywhere: bool, extra: dict[date, str]) -> None:
    found = {
        day: holiday_name(day, region, alsace_moselle_everywhere=everywhere)
        for day in days_of(2026)
        if is_public_holiday(day, region, alsace_moselle_everywhere=everywhere)
    }
    assert found == NATIONAL_2026 | extra


@pytest.mark.parametrize(
    ("day", "region", "everywhere", "holiday"),
    [
        (GOOD_FRIDAY, "metropole", True, True),
        (GOOD_FRIDAY, "metropole", False, False),
        (SAINT_STEPHEN, "metropole", True, True),
        (SAINT_STEPHEN, "metropole", False, False),
        (GOOD_FRIDAY, "RE", True, False),  # Alsace-Moselle days are not added overseas
        (SAINT_STEPHEN, "YT", True, False),
        (date(2025, 4, 18), "metropole", True, True),  # Good Friday 2025
        (date(2027, 3, 26), "metropole", True, True),  # Good Friday 2027
        (date(2027, 5, 17), "metropole", True, True),  # Whit Monday 2027
        (date(2026, 11, 19), "metropole", True, False),
        (date(2026, 12, 26), "DE", True, True),  # a foreign country: the library's days
        (date(2026, 7, 14), "DE", True, False),
        (date(2026, 7, 4), "US", True, True),  # a Saturday, also observed on Friday 3 July
        (date(2026, 7, 3), "US", True, True),
        (date(2026, 12, 25), "ZZ", True, False),  # a country the library does not know
        (date(2026, 12, 25), "", True, False),
    ],
)
def test_is_public_holiday(day: date, region: str, everywhere: bool, holiday: bool) -> None:
    assert is_public_holiday(day, region, alsace_moselle_everywhere=everywhere) is holiday


@pytest.mark.parametrize(
    ("region", "subdivision"),
    [("metropole", None), ("metropole", "57"), *calendar.TERRITORY_SUBDIVISIONS.items()],
)
@pytest.mark.parametrize("year", [2025, 2026, 2027])
def test_french_holidays_match_the_library(region: str, subdivision: str | None, year: int) -> None:
    """The France class loaded on its own gives what ``holidays.France`` gives."""
    import holidays

    expected = holidays.France(  # type: ignore[attr-defined]
        years=year, subdiv=subdivision, language="en_US"
    )
    assert calendar._french_holidays(year, subdivision) == dict(expected.items())
    if region != "metropole":
        country = holidays.country_holidays(region, years=year, language="en_US")
        assert calendar._french_holidays(year, subdivision) == dict(country.items())


def test_holidays_are_imported_lazily_and_alone() -> None:
    code = (
        "import sys\n"
        "from datetime import date\n"
        "from permis.domain import calendar\n"
        "assert 'holidays' not in sys.modules\n"
        "assert calendar.is_public_holiday(date(2026, 12, 20), 'RE')\n"
        "assert 'holidays' in sys.modules\n"
        "assert 'holidays.countries' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------------------------

ZONES = tuple(ZONE_REGIONS)
INSTANTS = st.datetimes(
    min_value=datetime(2025, 1, 1),
    max_value=datetime(2027, 12, 31, 23, 59),
    timezones=st.sampled_from([UTC, *(ZoneInfo(z) for z in ZONES)]),
    allow_imaginary=False,
)


def allowed(instant: datetime, zone: str, skip: Callable[[date], bool]) -> bool:
    local = local_time(instant, zone)
    return in_windows(local, FR_CALL_WINDOWS) and not skip(local.date())


@settings(max_examples=300, deadline=None)
@given(start=INSTANTS, zone=st.sampled_from(ZONES), holidays_apply=st.booleans())
def test_next_window_start_is_the_earliest_allowed_instant(
    start: datetime, zone: str, holidays_apply: bool
) -> None:
    skip = skipper(ZONE_REGIONS[zone] if holidays_apply else None)
    found = next_window_start(start, zone, FR_CALL_WINDOWS, skip)
    assert found >= start
    assert found.tzinfo == ZoneInfo(zone)
    assert allowed(found, zone, skip)
    if found != start:
        assert found.time() in {w.start for w in FR_CALL_WINDOWS}
        assert not allowed(start, zone, skip)
        # arithmetic in UTC: an aware datetime plus a timedelta moves its wall clock
        first, last = start.astimezone(UTC), found.astimezone(UTC)
        assert not allowed(last - timedelta(seconds=1), zone, skip)
        for step in range(1, 32):
            assert not allowed(first + (last - first) * step / 32, zone, skip)


@settings(max_examples=100, deadline=None)
@given(start=INSTANTS, zones=st.lists(st.sampled_from(ZONES), min_size=1, max_size=3, unique=True))
def test_next_common_window_start_is_allowed_in_every_zone(
    start: datetime, zones: list[str]
) -> None:
    def skip_for(zone: str) -> Callable[[date], bool]:
        return skipper(ZONE_REGIONS[zone])

    found = next_common_window_start(start, zones, FR_CALL_WINDOWS, skip_for)
    assert found >= start
    assert found.tzinfo == ZoneInfo(zones[0])
    assert all(allowed(found, zone, skip_for(zone)) for zone in zones)
    if found != start:
        before = found.astimezone(UTC) - timedelta(seconds=1)
        assert not all(allowed(before, zone, skip_for(zone)) for zone in zones)
