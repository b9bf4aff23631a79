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

from permis.domain.model import ALL, AttemptFact, BudgetFact, Period

Shift = Callable[[datetime], datetime]


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


@dataclass(frozen=True, slots=True)
class PolicyCap:
    """A principal's own cap: at most ``max`` contacts on ``channels`` per ``days`` rolling days."""

    rule: str
    channels: frozenset[str]
    max: int
    days: int


@dataclass(frozen=True, slots=True)
class Policy:
    """The principal's own stricter rules. The empty policy adds nothing to the law."""

    version: str | None = None
    caps: tuple[PolicyCap, ...] = ()


EMPTY_POLICY = Policy()
