"""Check builders shared by the packs outside France: calling windows in every candidate zone,
required opposition lists with their own scrub interval, consent, existing-customer exceptions.

Every check reads only what the bulk scrub reproduces exactly from a row's signature: the contact
point's kind, country, region and time zones (never its value or line type), and the facts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from permis.domain import calendar
from permis.domain.model import Reason, ReasonCode, SnapshotFact
from permis.domain.rules.base import Check, Rule, RuleContext
from permis.domain.rules.fr import consent_state, consents_for

Exemption = Callable[[RuleContext], bool]


def never(_ctx: RuleContext) -> bool:
    return False


def window_check(windows: Sequence[calendar.Window], message: str) -> Check:
    """``OUTSIDE_HOURS`` unless ``at`` is inside a window in EVERY zone the number may ring in;
    it lapses at the first instant inside a window in all of them."""

    def check(rule: Rule, ctx: RuleContext) -> Reason | None:
        zones = ctx.contact.timezones
        if not zones:
            return rule.reason(
                ReasonCode.OUTSIDE_HOURS, "The local time of this number is unknown", None
            )
        if all(calendar.in_windows(calendar.local_time(ctx.at, z), windows) for z in zones):
            return None
        until = calendar.next_common_window_start(ctx.at, zones, windows)
        return rule.reason(ReasonCode.OUTSIDE_HOURS, message, until)

    return check


def latest_snapshot(ctx: RuleContext, name: str) -> SnapshotFact | None:
    """The latest snapshot of list ``name`` dated at or before the decision's instant."""
    found = [s for s in ctx.facts.snapshots if s.list_name == name and s.as_of <= ctx.at]
    return max(found, key=lambda s: s.as_of, default=None)


def fresh_until(snapshot: SnapshotFact, scrub_days: int) -> datetime:
    """A snapshot counts until its own validity ends or the law's scrub interval, the earlier."""
    return min(snapshot.valid_until, snapshot.as_of + timedelta(days=scrub_days))


def required_list(name: str, label: str, scrub_days: int, exempt: Exemption = never) -> Check:
    """A list the law requires: ``OPPOSITION_LIST_STALE`` without a snapshot younger than
    ``scrub_days`` (and still valid), ``OPPOSITION_LIST`` when it holds the number. Neither
    lapses on its own: a fresh snapshot, or the person's consent, lifts them."""

    def check(rule: Rule, ctx: RuleContext) -> Reason | None:
        if exempt(ctx):
            return None
        latest = latest_snapshot(ctx, name)
        if latest is None or ctx.at >= fresh_until(latest, scrub_days):
            return rule.reason(
                ReasonCode.OPPOSITION_LIST_STALE,
                f"No {label} file younger than {scrub_days} days on this date: scrub first",
                None,
            )
        if latest.listed:
            return rule.reason(ReasonCode.OPPOSITION_LIST, f"The number is on the {label}", None)
        return None

    return check


def any_list(names: frozenset[str], label: str, exempt: Exemption = never) -> Check:
    """Lists that count once imported (not required): ``OPPOSITION_LIST`` when the latest
    snapshot of any of them holds the number."""

    def check(rule: Rule, ctx: RuleContext) -> Reason | None:
        if exempt(ctx):
            return None
        for name in sorted(names):
            latest = latest_snapshot(ctx, name)
            if latest is not None and latest.listed:
                return rule.reason(
                    ReasonCode.OPPOSITION_LIST, f"The number is on a {label} ({name})", None
                )
        return None

    return check


def has_consent(ctx: RuleContext, channel: str) -> bool:
    return consent_state(consents_for(ctx, channel), ctx.at, None) == "valid"


def consent_check(what: str, exempt: Exemption = never) -> Check:
    """``NO_CONSENT`` (or ``CONSENT_EXPIRED``) without a valid consent on the request's channel."""

    def check(rule: Rule, ctx: RuleContext) -> Reason | None:
        if exempt(ctx):
            return None
        state = consent_state(consents_for(ctx, ctx.request.channel), ctx.at, None)
        if state == "valid":
            return None
        if state == "expired":
            return rule.reason(
                ReasonCode.CONSENT_EXPIRED, f"The consent to {what} has expired", None
            )
        return rule.reason(ReasonCode.NO_CONSENT, f"No prior consent to {what}", None)

    return check


def add_months(at: datetime, months: int) -> datetime:
    """The same wall-clock instant ``months`` calendar months later (the day clamped)."""
    index = at.month - 1 + months
    year, month = at.year + index // 12, index % 12 + 1
    for day in range(at.day, 27, -1):
        try:
            return at.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    return at.replace(year=year, month=month, day=min(at.day, 28))


def customer_within(months: int) -> Exemption:
    """A contract current at ``at``, or one that ended less than ``months`` months before."""

    def exempt(ctx: RuleContext) -> bool:
        for contract in ctx.facts.contracts:
            if contract.start > ctx.at:
                continue
            if contract.end is None or ctx.at < add_months(contract.end, months):
                return True
        return False

    return exempt


def either(*exemptions: Exemption) -> Exemption:
    def exempt(ctx: RuleContext) -> bool:
        return any(e(ctx) for e in exemptions)

    return exempt


def consented(channel: str) -> Exemption:
    def exempt(ctx: RuleContext) -> bool:
        return has_consent(ctx, channel)

    return exempt


def consented_to_request_channel(ctx: RuleContext) -> bool:
    return has_consent(ctx, ctx.request.channel)
