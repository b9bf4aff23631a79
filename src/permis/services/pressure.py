"""Contact pressure as the people who plan campaigns need it.

- :func:`pressure_view`: for one contact point at one instant, per channel, what was used and
  what is left under the law, the person's budget and the company's policy, and when each frees
  up (the same ``cap_state`` as ``decide``: the view can never disagree with a check);
- :func:`remaining`: the same arithmetic for millions of contact points at once, as Polars
  columns (the planner asks "how many more contacts may I make to each of these people?");
- :func:`pressure_summary`: how many people are at their cap, per channel, over the register.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl

from permis.adapters.db import instants
from permis.adapters.db import repositories as repo
from permis.adapters.db.database import Database
from permis.domain.calendar import local_time
from permis.domain.contact import contact_hash, parse_contact
from permis.domain.model import ALL, Channel, Facts, Period, iso
from permis.domain.policy import Policy, PolicyCap
from permis.domain.pressure import (
    Shift,
    attempt_times,
    budget_in_force,
    cap_attempt_times,
    cap_shift,
    cap_state,
    days_shift,
    period_shift,
)
from permis.domain.rules.base import RulePack
from permis.domain.rules.registry import Rulebook, as_rulebook
from permis.services import scrub_facts as sf

LEGAL_CAP_RULE = "FR.D223-9.cap"
LEGAL_CAP = (4, 30, frozenset({Channel.CALL.value, Channel.AUTOMATED_CALL.value}))
"""Code de la consommation, art. D223-9: 4 calls or attempts per 30 days, phone channels."""


@dataclass(frozen=True, slots=True)
class Limit:
    source: str  # law, budget, policy
    rule: str
    max: int
    period: str
    used: int
    frees_at: datetime | None  # when the count drops below max again (None: not at the cap)
    next_release: datetime | None  # when the oldest contact counted leaves the period

    @property
    def left(self) -> int:
        return max(self.max - self.used, 0)

    def to_dict(self, zone: str | None) -> dict[str, Any]:
        def shown(value: datetime | None) -> str | None:
            return iso(local_time(value, zone) if value and zone else value)

        at_cap = self.used >= self.max
        return {
            "source": self.source,
            "rule": self.rule,
            "max": self.max,
            "period": self.period,
            "used": self.used,
            "left": self.left,
            "at_cap": at_cap,
            "frees_at": None if self.max <= 0 else shown(self.frees_at),
            "next_release": shown(self.next_release),
        }


def _limit(
    source: str,
    rule: str,
    most: int,
    period: str,
    times: list[datetime],
    at: datetime,
    shift: Shift,
) -> Limit:
    state = cap_state(times, at, most, shift)
    counted = sorted(t for t in times if t <= at < shift(t))
    release = shift(counted[0]) if counted else None
    return Limit(source, rule, most, period, state.used, state.frees_at, release)


def channel_limits(
    channel: str, facts: Facts, policy: Policy, rules: RulePack, at: datetime
) -> list[Limit]:
    """Every cap on ``channel`` at ``at``: the law's, the person's budgets, the policy's."""
    limits = []
    attempts = facts.attempts
    if any(r.id == LEGAL_CAP_RULE for r in rules.in_force(at)) and channel in LEGAL_CAP[2]:
        most, days, channels = LEGAL_CAP
        times = attempt_times(attempts, channels)
        limits.append(
            _limit("law", LEGAL_CAP_RULE, most, f"{days} days", times, at, days_shift(days))
        )
    for budget in budget_in_force(facts.budgets, channel, at):
        times = attempt_times(attempts, frozenset({budget.channel}))
        shift = period_shift(budget.period)
        scope = f"PERMIS.budget.{budget.channel}"
        limits.append(_limit("budget", scope, budget.max, budget.period, times, at, shift))
    for cap in policy.caps:
        if channel in cap.channels or ALL in cap.channels:
            times = cap_attempt_times(attempts, cap)
            limits.append(_policy_limit(cap, times, at))
    return limits


def _policy_limit(cap: PolicyCap, times: list[datetime], at: datetime) -> Limit:
    period = cap.span + (f" (campaign {cap.campaign})" if cap.campaign else "")
    return _limit("policy", cap.rule, cap.max, period, times, at, cap_shift(cap))


def pressure_view(
    db: Database,
    rules: RulePack | Rulebook,
    policy: Policy,
    principal: str | None,
    contact: str,
    at: datetime,
) -> dict[str, Any]:
    """Per channel: used, left and when it frees up, under the law, the budget and the policy."""
    point = parse_contact(contact)
    with db.transaction() as cur:
        owner = repo.find_principal(cur, principal)
        hashed = contact_hash(point.value, owner.hash_key)
        facts = repo.load_facts(cur, owner.id, hashed, None, None)
    book = as_rulebook(rules)
    pack = book.pack_for(point, book.override_for(owner.name))  # the contact's law, as the gate
    zone = point.timezone
    channels = {}
    for channel in Channel:
        limits = channel_limits(channel.value, facts, policy, pack, at)
        lefts = [limit.left for limit in limits]
        channels[channel.value] = {
            "left": min(lefts) if lefts else None,
            "limits": [limit.to_dict(zone) for limit in limits],
        }
    return {
        "contact": point.value,
        "at": iso(local_time(at, zone) if zone else at),
        "policy_version": policy.version,
        "attempts": len(facts.attempts),
        "channels": channels,
    }


# ---------------------------------------------------------------------------------------------
# vectorised: many contact points at once
# ---------------------------------------------------------------------------------------------


def _counts(
    attempts: pl.LazyFrame, at: datetime, channel: str, caps: list[PolicyCap], legal: bool
) -> pl.LazyFrame:
    """One pass over the attempts: per contact, how many count at ``at`` under each span
    (``b_<scope>_<period>`` for budgets on ``channel`` or ``all``, ``c_<i>`` for the policy
    caps, ``legal`` for the law's cap)."""
    at_us = instants.to_us(at)
    bits = {c.value: 1 << i for i, c in enumerate(Channel)}
    spans = [period_shift(p) for p in Period] + [cap_shift(c) for c in caps]
    lowest = min(sf.threshold(at, shift) for shift in [*spans, days_shift(LEGAL_CAP[1])])
    attempts = attempts.filter((pl.col("at") >= lowest) & (pl.col("at") <= at_us)).with_columns(
        pl.col("channel").replace_strict(bits, default=0, return_dtype=pl.Int32).alias("bit")
    )

    def counted(shift: Shift, channels: frozenset[str] | None) -> pl.Expr:
        inside = pl.col("at") >= sf.threshold(at, shift)
        if channels is not None and ALL not in channels:
            mask = sum(bits.get(c, 0) for c in channels)
            inside = inside & ((pl.col("bit") & mask) != 0)
        return inside.sum().cast(pl.Int64)  # a boolean sum is unsigned: 2 - 3 must be -1

    sums = [
        counted(period_shift(p), None if scope == ALL else frozenset({channel})).alias(
            f"b_{scope}_{p.value}"
        )
        for scope in (channel, ALL)
        for p in Period
    ]
    sums += [counted(cap_shift(c), c.channels).alias(f"c_{i}") for i, c in enumerate(caps)]
    if legal:
        sums.append(counted(days_shift(LEGAL_CAP[1]), LEGAL_CAP[2]).alias("legal"))
    return attempts.group_by("contact").agg(sums)


def remaining(
    attempts: pl.DataFrame,
    budgets: pl.DataFrame,
    channel: str,
    at: datetime,
    policy: Policy | None = None,
    legal_cap: bool = True,
) -> pl.DataFrame:
    """How many more contacts on ``channel`` each person may get at ``at``, vectorised.

    ``attempts``: ``contact``, ``channel``, ``at`` (µs UTC); ``budgets``: ``contact``,
    ``channel`` (a channel or ``all``), ``max_count``, ``period``, ``set_at`` (µs). Returns one
    row per contact found in either (a contact in neither has used nothing), with
    ``budget_left``, ``left_<i>`` per policy cap, ``left_legal`` and ``remaining`` (the least
    ``left``; null when no cap applies). Campaign caps are left to the single check.
    """
    caps = [c for c in (policy.caps if policy else ()) if c.campaign is None]
    caps = [c for c in caps if channel in c.channels or ALL in c.channels]
    legal = legal_cap and channel in LEGAL_CAP[2]
    counts = _counts(attempts.lazy(), at, channel, caps, legal)
    lefts = [
        (cap.max - pl.col(f"c_{i}").fill_null(0)).clip(0).alias(f"left_{i}")
        for i, cap in enumerate(caps)
    ]
    if legal:
        lefts.append((LEGAL_CAP[0] - pl.col("legal").fill_null(0)).clip(0).alias("left_legal"))
    in_force = _budget_left(budgets.lazy(), counts, channel, at)
    result = counts.join(in_force, on="contact", how="full", coalesce=True).with_columns(*lefts)
    names = ["budget_left", *(e.meta.output_name() for e in lefts)]
    columns = ["contact", "budget_used", *names]
    return (
        result.select(*columns).with_columns(pl.min_horizontal(*names).alias("remaining")).collect()
    )


def _budget_left(
    budgets: pl.LazyFrame, counts: pl.LazyFrame, channel: str, at: datetime
) -> pl.LazyFrame:
    """Per contact: the least ``left`` over the budgets in force on ``channel`` (or ``all``);
    the latest one per scope wins, as in ``budget_in_force``."""
    wanted = (pl.col("set_at") <= instants.to_us(at)) & pl.col("channel").is_in([channel, ALL])
    in_force = (
        budgets.filter(wanted)
        .with_row_index("order")
        .sort("set_at", "order")
        .group_by("contact", "channel")
        .last()
    )
    joined = in_force.join(counts, on="contact", how="left")
    used = pl.coalesce(
        *(
            pl.when((pl.col("channel") == scope) & (pl.col("period") == p.value)).then(
                pl.col(f"b_{scope}_{p.value}").fill_null(0)
            )
            for scope in (channel, ALL)
            for p in Period
        )
    )
    left = (pl.col("max_count") - used).clip(0)
    return joined.group_by("contact").agg(
        used.max().alias("budget_used"), left.min().alias("budget_left")
    )


def pressure_summary(
    db: Database, rules: RulePack | Rulebook, policy: Policy, principal: str | None, at: datetime
) -> dict[str, Any]:
    """Per channel, over every contact point with attempts or a budget: how many are at their
    cap (nothing left), and how many contacts are left for the others. The legal cap counted is
    the default pack's (French law), for every contact point."""
    from permis.services.scrub_state import _frame

    with db.transaction() as cur:
        owner = repo.find_principal(cur, principal)
    since, until = instants.to_us(at - sf.LOOKBACK), instants.to_us(at)
    window = f"AND at > {int(since)} AND at <= {int(until)}"
    attempts = _frame(db, "attempts", owner.id, window).rename({"contact_hash": "contact"})
    budgets = _frame(db, "budgets", owner.id).rename({"contact_hash": "contact"})
    legal = any(r.id == LEGAL_CAP_RULE for r in as_rulebook(rules).pack_for(None).in_force(at))
    channels = {}
    for channel in Channel:
        frame = remaining(attempts, budgets, channel.value, at, policy, legal)
        left = frame["remaining"].drop_nulls()
        channels[channel.value] = {
            "contacts": frame.height,
            "capped": left.len(),
            "at_cap": int((left == 0).sum()),
            "left_1": int((left == 1).sum()),
            "left_2": int((left == 2).sum()),
            "left_3_or_more": int((left >= 3).sum()),
            "budgets_at_cap": int((frame["budget_left"] == 0).sum()),
        }
    return {
        "at": at.isoformat(),
        "policy_version": policy.version,
        "people": int(pl.concat([attempts["contact"], budgets["contact"]]).n_unique()),
        "channels": channels,
    }
