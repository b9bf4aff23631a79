"""The register's facts, reduced to what can change a decision at one instant, as columns.

A scrub decides millions of rows at one instant ``at``. The rules compare every fact's time with
a few instants derived from ``at`` (``at`` itself, ``at`` minus 30 days for the legal cap, the
budget periods, the policy caps, the maximum age of a consent...). Between two consecutive such
*boundaries* a fact's time can move freely without changing any comparison, so each time is
replaced by a *representative*: itself when it is a boundary, else the middle of its interval.
Two contacts whose facts have the same representatives (and the same other fields) get the same
decision, so ``decide`` runs once per distinct *fact signature*, not once per person.

What this module must know of the rules is only which instants they compare times with; the
decisions themselves still come from ``decide``, and the equivalence test scrubs 100,000 rows
against the single check to prove the two agree. Facts whose times the rules compare with each
other (budgets: the latest one wins) or with instants that depend on the person's time zone
(refusals: 60 calendar days in local time) keep their exact times, which is always correct and
only costs distinctness; they are rare.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import polars as pl

from permis.adapters.db import instants
from permis.domain.model import Period
from permis.domain.pressure import Policy, Shift, days_shift, period_shift
from permis.domain.rules.fr import LEGAL_CAP_DAYS

LOOKBACK = timedelta(days=400)
"""Attempts older than this before ``at`` count under no cap (the longest period is a year)."""
LEGAL_CAP_WINDOW_DAYS = LEGAL_CAP_DAYS
"""The longest window of a legal cap on attempts in the rule packs (FR: 4 calls per 30 days)."""


def attempt_window(policy: Policy) -> timedelta:
    """How far back an attempt can count at ``at`` for a contact point without a budget: the
    longest legal or policy cap window, plus a day (the rules count ``t <= at < t + period``)."""
    longest = {Period.WEEK: 7, Period.MONTH: 31, Period.YEAR: 366}
    days = max(
        [
            LEGAL_CAP_WINDOW_DAYS,
            *(longest[cap.period] if cap.period is not None else cap.days for cap in policy.caps),
        ]
    )
    return timedelta(days=days + 1)


_FAR = 10**15  # microseconds, ~31 years: the outer edges of the first and last intervals


def threshold(at: datetime, shift: Shift) -> int:
    """The first microsecond ``t`` (UTC) with ``at < shift(t)``: an attempt counts at ``at``
    from there on (``shift`` is non-decreasing, so a binary search finds it)."""
    low, high = instants.to_us(at - LOOKBACK), instants.to_us(at) + 1
    while low < high:
        middle = (low + high) // 2
        if at < shift(instants.from_us(middle)):
            high = middle
        else:
            low = middle + 1
    return low


def attempt_boundaries(at: datetime, cap_days: Iterable[int]) -> list[int]:
    """Instants the cap rules compare an attempt's time with: ``at`` and each period's start."""
    shifts: list[Shift] = [period_shift(p) for p in Period]
    shifts += [days_shift(days) for days in cap_days]
    at_us = instants.to_us(at)
    return [at_us + 1] + [threshold(at, shift) for shift in shifts]


def consent_boundaries(at: datetime, max_ages: Iterable[timedelta]) -> list[int]:
    at_us = instants.to_us(at)
    return [at_us, at_us + 1] + [instants.to_us(at - age) for age in max_ages]


def represent(times: pl.Series, bounds: Iterable[int]) -> pl.Series:
    """Each time (µs), or the middle of the interval between the boundaries around it."""
    edges = sorted(set(bounds))
    series = pl.Series("b", [edges[0] - _FAR, *edges, edges[-1] + _FAR], dtype=pl.Int64)
    probe = times.fill_null(edges[0])
    left = series.search_sorted(probe, side="left")
    right = series.search_sorted(probe, side="right")
    frame = pl.DataFrame(
        {
            "t": times,
            "exact": right > left,
            "lower": series.gather(left - 1),
            "upper": series.gather(left),
        }
    )
    middle = (pl.col("lower") + pl.col("upper")) // 2
    represented = frame.select(
        pl.when(pl.col("t").is_null() | pl.col("exact")).then(pl.col("t")).otherwise(middle)
    )
    return represented.to_series().alias(times.name)
