"""Contact pressure: legal caps, personal budgets and policy caps over the attempt history.

Every cap is "at most ``limit`` attempts in a rolling period ending at the decision time". An
attempt made at ``t`` counts at ``at`` while ``t <= at < t + period``. When the cap is reached, it
frees up when enough attempts have left the period: at ``t_k + period`` where ``t_k`` is the
attempt whose departure brings the count below the limit.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from permis.domain.calendar import next_common_window_start
from permis.domain.model import (
    ALL,
    AttemptFact,
    BudgetFact,
    CheckRequest,
    Facts,
    Period,
    Reason,
    ReasonCode,
)
from permis.domain.policy import EMPTY_POLICY, POLICY_REFERENCE, Policy, PolicyCap, QuietHours

Shift = Callable[[datetime], datetime]

__all__ = [
    "EMPTY_POLICY",
    "CapState",
    "Policy",
    "PolicyCap",
    "QuietHours",
    "add_months",
    "attempt_times",
    "budget_in_force",
    "cap_state",
    "days_shift",
    "period_shift",
    "policy_reasons",
]


def add_months(at: datetime, months: int) -> datetime:
    """Same wall-clock time ``months`` later, clipped to the end of a shorter month."""
    index = at.month - 1 + months
    year, month = at.year + index // 12, index % 12 + 1
    day = min(at.day, calendar.monthrange(year, month)[1])
    return at.replace(year=year, month=month, day=day)


def period_shift(period: Period) -> Shift:
    if period is Period.WEEK:
        return lambda t: t + timedelta(days=7)
    if period is Period.MONTH:
        return lambda t: add_months(t, 1)
    return lambda t: add_months(t, 12)


def days_shift(days: int) -> Shift:
    return lambda t: t + timedelta(days=days)


@dataclass(frozen=True, slots=True)
class CapState:
    used: int
    limit: int
    frees_at: datetime | None  # when the count drops below the limit; None if under it

    @property
    def reached(self) -> bool:
        return self.used >= self.limit


def cap_state(times: Iterable[datetime], at: datetime, limit: int, shift: Shift) -> CapState:
    """Count the attempts at ``times`` that still count at ``at``, and when the cap frees up."""
    counting = sorted(t for t in times if t <= at < shift(t))
    used = len(counting)
    if used < limit:
        return CapState(used, limit, None)
    if limit <= 0:
        return CapState(used, limit, None)  # a zero budget never frees up
    return CapState(used, limit, shift(counting[used - limit]))


def attempt_times(attempts: Iterable[AttemptFact], channels: frozenset[str]) -> list[datetime]:
    """Times of the attempts on any of ``channels`` (``all`` in the set means every channel)."""
    every = ALL in channels
    return [a.at for a in attempts if every or a.channel in channels]


def budget_in_force(budgets: Iterable[BudgetFact], channel: str, at: datetime) -> list[BudgetFact]:
    """The person's budgets covering ``channel`` at ``at``: the latest one per channel scope."""
    latest: dict[str, BudgetFact] = {}
    for budget in budgets:
        if budget.set_at > at or budget.channel not in (channel, ALL):
            continue
        current = latest.get(budget.channel)
        if current is None or budget.set_at >= current.set_at:
            latest[budget.channel] = budget
    return list(latest.values())


def cap_shift(cap: PolicyCap) -> Shift:
    return period_shift(cap.period) if cap.period is not None else days_shift(cap.days)


def policy_reasons(
    request: CheckRequest, facts: Facts, policy: Policy, at: datetime
) -> list[Reason]:
    """The reasons the principal's own policy adds at ``at`` (quiet hours, exclusions, caps)."""
    found = [
        reason
        for reason in (_quiet_reason(request, policy, at), _excluded_reason(request, policy))
        if reason is not None
    ]
    for cap in policy.caps:
        reason = _cap_reason(request, facts, cap, at)
        if reason is not None:
            found.append(reason)
    return found


def cap_applies(cap: PolicyCap, channel: str, campaign: str | None) -> bool:
    if cap.campaign is not None and cap.campaign != campaign:
        return False
    return channel in cap.channels or ALL in cap.channels


def cap_attempt_times(attempts: Iterable[AttemptFact], cap: PolicyCap) -> list[datetime]:
    if cap.campaign is None:
        return attempt_times(attempts, cap.channels)
    return attempt_times((a for a in attempts if a.campaign == cap.campaign), cap.channels)


def _cap_reason(request: CheckRequest, facts: Facts, cap: PolicyCap, at: datetime) -> Reason | None:
    if not cap_applies(cap, request.channel, request.campaign):
        return None
    state = cap_state(cap_attempt_times(facts.attempts, cap), at, cap.max, cap_shift(cap))
    if not state.reached:
        return None
    scope = ", ".join(sorted(cap.channels))
    where = f" in campaign {cap.campaign}" if cap.campaign is not None else ""
    message = (
        f"Company policy: at most {cap.max} contact(s) per {cap.span} on {scope}{where};"
        f" {state.used} made"
    )
    if cap.max <= 0:
        message = f"Company policy: no contact on {scope}{where}"
    return Reason(ReasonCode.POLICY_CAP, cap.rule, POLICY_REFERENCE, message, state.frees_at)


def _quiet_reason(request: CheckRequest, policy: Policy, at: datetime) -> Reason | None:
    quiet = policy.quiet_for(request.channel)
    if quiet is None:
        return None
    contact = request.contact
    zones = (contact.timezones if contact is not None else ()) or (policy.timezone,)
    until: datetime | None = None
    if quiet.windows:
        try:
            until = next_common_window_start(at, zones, quiet.windows)
        except ValueError:  # no window within the search bound: fail closed
            until = None
    if until is not None and until <= at:
        return None
    days = ", ".join(DAY_NAMES[d] for d in sorted(quiet.quiet_days))
    hours = ", ".join(quiet.quiet)
    parts = [p for p in (hours, days and f"all day {days}") if p]
    message = f"Company policy: no {request.channel} contacts {'; '.join(parts)} (local time)"
    return Reason(ReasonCode.OUTSIDE_HOURS, quiet.rule, POLICY_REFERENCE, message, until)


DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _excluded_reason(request: CheckRequest, policy: Policy) -> Reason | None:
    if request.audience.value in policy.excluded_audiences:
        return Reason(
            ReasonCode.POLICY_CAP,
            "POLICY.exclude.audience",
            POLICY_REFERENCE,
            f"Company policy: no prospecting of the {request.audience.value} audience",
            None,
        )
    contact = request.contact
    if contact is None:
        return None
    places = {p for p in (contact.country, contact.region) if p}
    if places & policy.excluded_regions:
        return Reason(
            ReasonCode.POLICY_CAP,
            "POLICY.exclude.region",
            POLICY_REFERENCE,
            "Company policy: no prospecting of contact points in this region",
            None,
        )
    return None
