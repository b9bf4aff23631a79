"""The one decision function. Every door (CLI, API, scrub, dialer check, plan) ends here.

``decide`` is pure: the time is an argument, the facts are loaded by the caller. It returns every
reason (not the first) and ``next_allowed_at``: the earliest instant at which no reason holds,
found by re-evaluating the same facts at the instant the latest reason lapses until none is left
(a call refused on Friday evening before a public holiday Monday is allowed on Tuesday at 10:00,
not on Monday). ``None`` when a reason never lapses on its own (an objection, no consent).
"""

from __future__ import annotations

from datetime import datetime

from permis.domain.calendar import local_time
from permis.domain.model import CheckRequest, Decision, Facts, Reason, ReasonCode
from permis.domain.pressure import EMPTY_POLICY, Policy, policy_reasons
from permis.domain.rules.base import RuleContext, RulePack

MAX_STEPS = 64
"""Bound on the search for ``next_allowed_at``; beyond it the answer is ``None`` (fail closed)."""

INVALID_RULE = "PERMIS.contact"
INVALID_REFERENCE = "RGPD art. 5(1)(d) (exactitude); Permis never guesses a contact point"


def decide(
    request: CheckRequest,
    facts: Facts,
    rules: RulePack,
    policy: Policy = EMPTY_POLICY,
) -> Decision:
    """May this contact be made? Every reason, its legal reference and when it lapses."""
    contact = request.contact
    if contact is None:
        reason = Reason(
            ReasonCode.INVALID_CONTACT,
            INVALID_RULE,
            INVALID_REFERENCE,
            "The contact point could not be parsed or is not valid",
            None,
        )
        return _decision(request, (reason,), None, rules, policy)
    reasons = evaluate(request, facts, rules, policy, request.at)
    return _decision(
        request, reasons, _next_allowed(request, facts, rules, policy, reasons), rules, policy
    )


def evaluate(
    request: CheckRequest, facts: Facts, rules: RulePack, policy: Policy, at: datetime
) -> tuple[Reason, ...]:
    """Every reason that holds at ``at`` (which may differ from ``request.at``)."""
    assert request.contact is not None
    ctx = RuleContext(request, request.contact, facts, at, rules.params)
    found: list[Reason] = []
    for rule in rules.applicable(at, request.channel, request.audience):
        reason = rule.check(rule, ctx)
        if reason is not None:
            found.append(reason)
    found.extend(_policy_reasons(request, facts, policy, at))
    return tuple(found)


def _policy_reasons(
    request: CheckRequest, facts: Facts, policy: Policy, at: datetime
) -> list[Reason]:
    return policy_reasons(request, facts, policy, at)


def _next_allowed(
    request: CheckRequest,
    facts: Facts,
    rules: RulePack,
    policy: Policy,
    reasons: tuple[Reason, ...],
) -> datetime | None:
    at = request.at
    for _ in range(MAX_STEPS):
        if not reasons:
            return at
        lapses = [r.until for r in reasons]
        if any(until is None for until in lapses):
            return None
        later = max(until for until in lapses if until is not None)
        if later <= at:  # a rule that does not move forward: never allow by mistake
            return None
        at = later
        reasons = evaluate(request, facts, rules, policy, at)
    return None


def _decision(
    request: CheckRequest,
    reasons: tuple[Reason, ...],
    next_allowed_at: datetime | None,
    rules: RulePack,
    policy: Policy,
) -> Decision:
    contact = request.contact
    zone = contact.timezone if contact is not None else None
    local = local_time(request.at, zone) if zone else request.at
    if zone:
        if next_allowed_at is not None:
            next_allowed_at = local_time(next_allowed_at, zone)
        reasons = tuple(
            Reason(r.code, r.rule, r.reference, r.message, local_time(r.until, zone))
            if r.until is not None
            else r
            for r in reasons
        )
    return Decision(
        allowed=not reasons,
        contact=contact.value if contact is not None else None,
        channel=request.channel,
        at=request.at,
        local_time=local,
        reasons=reasons,
        next_allowed_at=next_allowed_at,
        rules_version=rules.version(request.at),
        policy_version=policy.version,
    )
