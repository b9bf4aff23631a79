"""The vectorised remaining budget agrees, person by person, with the single-contact arithmetic."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from permis.adapters.db import instants
from permis.domain.model import ALL, AttemptFact, BudgetFact, Channel, Facts, Period
from permis.domain.policy import Policy, PolicyCap
from permis.domain.rules.fr import fr_pack
from permis.services.pressure import channel_limits, remaining

POLICY = Policy(
    "p",
    (
        PolicyCap("POLICY.cap.all-week", frozenset({ALL}), 3, 7),
        PolicyCap("POLICY.cap.sms-month", frozenset({"sms", "call"}), 2, 31, Period.MONTH),
        PolicyCap("POLICY.cap.campaign", frozenset({"call"}), 1, 30, None, "winter"),
    ),
)


def _people(rng: random.Random, at: datetime, n: int) -> dict[str, Facts]:
    people = {}
    for i in range(n):
        attempts = tuple(
            AttemptFact(
                at - timedelta(seconds=rng.randrange(-86_400 * 3, 86_400 * 400)),
                rng.choice(["call", "sms", "email", "automated_call"]),
            )
            for _ in range(rng.randrange(8))
        )
        budgets = tuple(
            BudgetFact(
                rng.choice([ALL, "call", "sms", "email"]),
                rng.randrange(4),
                rng.choice(list(Period)),
                at - timedelta(days=rng.randrange(-5, 300)),
            )
            for _ in range(rng.choice([0, 0, 1, 2, 3]))
        )
        people[f"p{i}"] = Facts(attempts=attempts, budgets=budgets)
    return people


def _frames(people: dict[str, Facts]) -> tuple[pl.DataFrame, pl.DataFrame]:
    attempts = pl.DataFrame(
        [(k, a.channel, instants.to_us(a.at)) for k, f in people.items() for a in f.attempts],
        schema={"contact": pl.Utf8, "channel": pl.Utf8, "at": pl.Int64},
        orient="row",
    )
    budgets = pl.DataFrame(
        [
            (k, b.channel, b.max, b.period.value, instants.to_us(b.set_at))
            for k, f in people.items()
            for b in f.budgets
        ],
        schema={
            "contact": pl.Utf8,
            "channel": pl.Utf8,
            "max_count": pl.Int64,
            "period": pl.Utf8,
            "set_at": pl.Int64,
        },
        orient="row",
    )
    return attempts, budgets


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("channel", [Channel.CALL, Channel.SMS, Channel.EMAIL])
def test_remaining_equals_the_single_contact_view(seed: int, channel: Channel) -> None:
    rng = random.Random(seed)
    at = datetime(2026, 12, 31, 22, 30, tzinfo=UTC) + timedelta(days=rng.randrange(90))
    people = _people(rng, at, 300)
    attempts, budgets = _frames(people)
    frame = remaining(attempts, budgets, channel.value, at, POLICY)
    got = {row["contact"]: row for row in frame.iter_rows(named=True)}
    rules = fr_pack()
    checked = 0
    for key, facts in people.items():
        limits = [
            limit
            for limit in channel_limits(channel.value, facts, POLICY, rules, at)
            if limit.rule != "POLICY.cap.campaign"  # campaign caps: the single check only
        ]
        if key not in got:  # nothing used and no budget on this channel: every cap is whole
            assert all(lim.used == 0 and lim.source != "budget" for lim in limits), key
            continue
        row = got[key]
        budget_lefts = [lim.left for lim in limits if lim.source == "budget"]
        assert row["budget_left"] == (min(budget_lefts) if budget_lefts else None), key
        lefts = [lim.left for lim in limits]
        assert row["remaining"] == (min(lefts) if lefts else None), key
        checked += 1
    assert checked > 200
    assert frame["remaining"].drop_nulls().eq(0).sum() > 0  # some people are at a cap
