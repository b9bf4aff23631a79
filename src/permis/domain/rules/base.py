"""Rules as data plus small pure functions.

A rule has an id (``FR.D223-9.hours``), a legal reference, the dates it is in force, the channels
and audiences it covers, and a check returning a :class:`Reason` (with the instant it lapses) or
nothing. Changing the law is adding a dated rule, never editing one: a decision for a past date
uses the rules in force on that date.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from permis.domain.contact import ContactPoint
from permis.domain.model import (
    Audience,
    Channel,
    CheckRequest,
    Facts,
    Reason,
    ReasonCode,
)

LEGAL_ZONE = ZoneInfo("Europe/Paris")
"""Dates of entry into force are read in metropolitan French time."""


@dataclass(frozen=True, slots=True)
class Params:
    """Settings of the rule packs (LAW.md marks these as interpretations, not constants)."""

    consent_max_age_days: int = 365
    alsace_moselle_everywhere: bool = True
    customer_exception_years: int = 3


@dataclass(frozen=True, slots=True)
class RuleContext:
    request: CheckRequest
    contact: ContactPoint
    facts: Facts
    at: datetime
    params: Params


Check = Callable[["Rule", RuleContext], Reason | None]


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    reference: str
    summary: str
    channels: frozenset[Channel]
    audiences: frozenset[Audience]
    effective_from: date
    check: Check
    effective_until: date | None = None  # last day in force, inclusive
    lists: frozenset[str] = frozenset()  # the opposition lists the check reads

    def in_force(self, day: date) -> bool:
        return self.effective_from <= day and (
            self.effective_until is None or day <= self.effective_until
        )

    def covers(self, channel: Channel, audience: Audience) -> bool:
        return channel in self.channels and audience in self.audiences

    def reason(self, code: ReasonCode, message: str, until: datetime | None) -> Reason:
        return Reason(code, self.id, self.reference, message, until)

    def evaluate(self, ctx: RuleContext) -> Reason | None:
        return self.check(self, ctx)


@dataclass(frozen=True, slots=True)
class RulePack:
    name: str
    rules: tuple[Rule, ...]
    params: Params = Params()
    frozen_on: date | None = None
    """When set, the rules in force on this day apply whatever the decision's date (what-if)."""
    _memo: dict[object, object] = field(
        init=False, default_factory=dict, repr=False, compare=False, hash=False
    )
    """What depends only on the pack and a day (the rules in force, those covering a channel and
    an audience, the version): computed once per key. Pure memoisation, not state: a new dict for
    each pack (``replace`` builds one too), and every value is a function of the key and of the
    pack's frozen fields."""

    def in_force(self, at: datetime) -> Iterator[Rule]:
        return iter(self.in_force_on(self._day(at)))

    def in_force_on(self, day: date) -> tuple[Rule, ...]:
        """The rules in force on ``day``, in the pack's order."""
        found = self._memo.get(day)
        if found is None:
            found = tuple(rule for rule in self.rules if rule.in_force(day))
            if len(self._memo) < MEMO_DAYS:
                self._memo[day] = found
        return found  # type: ignore[return-value]

    def applicable(self, at: datetime, channel: Channel, audience: Audience) -> tuple[Rule, ...]:
        """The rules in force at ``at`` (the pack's day for it) that cover ``channel`` and
        ``audience``, in the pack's order: what ``decide`` evaluates."""
        day = self._day(at)
        key = (day, channel, audience)
        found = self._memo.get(key)
        if found is None:
            found = tuple(r for r in self.in_force_on(day) if r.covers(channel, audience))
            if len(self._memo) < MEMO_DAYS:
                self._memo[key] = found
        return found  # type: ignore[return-value]

    def on(self, day: date) -> RulePack:
        """This pack with its rules frozen as they were in force on ``day``."""
        return replace(self, frozen_on=day)

    def _day(self, at: datetime) -> date:
        return self.frozen_on if self.frozen_on is not None else legal_day(at)

    @property
    def lists(self) -> frozenset[str]:
        """Every opposition list a rule of the pack reads."""
        return frozenset(name for rule in self.rules for name in rule.lists)

    def version(self, at: datetime) -> str:
        """``fr-2026-08-11``: the pack name and the date of the last change in force at ``at``."""
        day = self._day(at)
        key = ("version", day)
        found = self._memo.get(key)
        if found is None:
            found = self._version_on(day)
            if len(self._memo) < MEMO_DAYS:
                self._memo[key] = found
        return found  # type: ignore[return-value]

    def _version_on(self, day: date) -> str:
        changes = [r.effective_from for r in self.rules if r.effective_from <= day]
        changes += [
            r.effective_until + timedelta(days=1)
            for r in self.rules
            if r.effective_until is not None and r.effective_until < day
        ]
        last = max(changes, default=None)
        return f"{self.name}-{last.isoformat()}" if last else f"{self.name}-none"

    def find(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)


MEMO_DAYS = 100_000
"""Bound on a pack's memo (a few entries per day asked about: decades of days)."""


def legal_day(at: datetime) -> date:
    return at.astimezone(LEGAL_ZONE).date()


PHONE = frozenset({Channel.CALL, Channel.AUTOMATED_CALL})
LIVE_CALL = frozenset({Channel.CALL})
EVERY_CHANNEL = frozenset(Channel)
CONSUMERS = frozenset({Audience.CONSUMER})
EVERYONE = frozenset(Audience)
