"""Features from the register's attempt history: only what was known before the contact.

For a contact point, a channel and an instant ``at``, every feature is computed from the attempts
recorded *strictly before* ``at``: the attempt being scored, its outcome and anything later are
never read (``tests/unit/test_relevance_features.py`` changes them and checks nothing moves).

Success is an attempt whose outcome is ``answered``: the register's outcome vocabulary has no
"sale", and a conversation is what a call campaign can count on. SMS and e-mail outcomes
(``sent``, ``delivered``) are not answers: those channels learn from their answer rate of zero
unless the register records ``answered`` for them (a reply).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from permis.services.relevance_data import FeatureSpec

if TYPE_CHECKING:
    import polars as pl

    from permis.adapters.db.database import Database

LOCAL = ZoneInfo("Europe/Paris")
POSITIVE = "answered"
TARGET = "success"
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
NUMERIC = (
    "prior_attempts",
    "prior_attempts_channel",
    "prior_successes",
    "success_rate",
    "days_since_last",
    "days_since_last_success",
    "success_rate_weekday",
    "success_rate_hour",
    "channel_share",
)
CATEGORICAL = ("channel", "weekday", "hour")
REGISTER_SPEC = FeatureSpec(NUMERIC, CATEGORICAL, TARGET)
US_PER_DAY = 86_400_000_000


@dataclass(frozen=True, slots=True)
class Attempt:
    key: str  # the contact point (its normalised value, or its hash)
    channel: str
    at_us: int  # microseconds since the epoch, UTC
    outcome: str | None


@dataclass(frozen=True, slots=True)
class Query:
    key: str
    channel: str
    at_us: int


def local_slot(at_us: int) -> tuple[str, str]:
    """The weekday and the hour (``"10h"``) of an instant, in French mainland time."""
    moment = datetime.fromtimestamp(at_us / 1_000_000, tz=UTC).astimezone(LOCAL)
    return WEEKDAYS[moment.weekday()], f"{moment.hour:02d}h"


def _rate(hits: int, total: int) -> float | None:
    return hits / total if total else None


def features_for(history: Sequence[Attempt], query: Query) -> dict[str, object]:
    """The features of ``query`` from ``history`` (one contact point's attempts, time order)."""
    times = [a.at_us for a in history]
    past = history[: bisect.bisect_left(times, query.at_us)]  # strictly before the query
    weekday, hour = local_slot(query.at_us)
    successes = [a for a in past if a.outcome == POSITIVE]
    same_weekday = [a for a in past if local_slot(a.at_us)[0] == weekday]
    same_hour = [a for a in past if local_slot(a.at_us)[1] == hour]
    on_channel = sum(1 for a in past if a.channel == query.channel)
    return {
        "prior_attempts": len(past),
        "prior_attempts_channel": on_channel,
        "prior_successes": len(successes),
        "success_rate": _rate(len(successes), len(past)),
        "days_since_last": (query.at_us - past[-1].at_us) / US_PER_DAY if past else None,
        "days_since_last_success": (
            (query.at_us - successes[-1].at_us) / US_PER_DAY if successes else None
        ),
        "success_rate_weekday": _rate(
            sum(1 for a in same_weekday if a.outcome == POSITIVE), len(same_weekday)
        ),
        "success_rate_hour": _rate(
            sum(1 for a in same_hour if a.outcome == POSITIVE), len(same_hour)
        ),
        "channel_share": _rate(on_channel, len(past)),
        "channel": query.channel,
        "weekday": weekday,
        "hour": hour,
    }


def by_key(attempts: Iterable[Attempt]) -> dict[str, list[Attempt]]:
    grouped: dict[str, list[Attempt]] = defaultdict(list)
    for attempt in attempts:
        grouped[attempt.key].append(attempt)
    for rows in grouped.values():
        rows.sort(key=lambda a: a.at_us)
    return dict(grouped)


def feature_table(history: dict[str, list[Attempt]], queries: Sequence[Query]) -> pl.DataFrame:
    """One row of features per query, in the queries' order."""
    import polars as pl

    rows = [features_for(history.get(q.key, []), q) for q in queries]
    schema = {name: pl.Float64 for name in NUMERIC} | {name: pl.Utf8 for name in CATEGORICAL}
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)


def training_table(attempts: Sequence[Attempt]) -> pl.DataFrame:
    """One row per recorded attempt: its features (from earlier attempts) and its success."""
    import polars as pl

    history = by_key(attempts)
    ordered = [a for rows in history.values() for a in rows]
    table = feature_table(history, [Query(a.key, a.channel, a.at_us) for a in ordered])
    success = pl.Series(TARGET, [int(a.outcome == POSITIVE) for a in ordered], dtype=pl.Int8)
    at = pl.Series("at_us", [a.at_us for a in ordered], dtype=pl.Int64)  # not a feature
    return table.with_columns(success, at)


def register_attempts(db: Database, principal: str | None) -> list[Attempt]:
    """Every attempt of the principal with an outcome, keyed by the normalised contact point."""
    import polars as pl

    from permis.adapters.db import repositories as repo

    with db.transaction() as cur:
        owner = repo.find_principal(cur, principal)
    frame = db.read_frame(
        "SELECT c.value, a.channel, a.at, a.outcome FROM attempts a JOIN contact_points c "
        "ON c.principal_id = a.principal_id AND c.contact_hash = a.contact_hash "
        f"WHERE a.principal_id = {int(owner.id)} AND c.value IS NOT NULL "
        "AND a.outcome IS NOT NULL ORDER BY a.at, a.id",
        {"key": pl.Utf8, "channel": pl.Utf8, "at": pl.Int64, "outcome": pl.Utf8},
    )
    return [Attempt(k, c, int(t), o) for k, c, t, o in frame.iter_rows()]
