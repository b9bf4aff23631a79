"""Rules that hold in every jurisdiction Permis serves: objections, the person's own budget, and
processor authorisation."""

from __future__ import annotations

from datetime import date

from permis.domain.contact import ContactKind
from permis.domain.model import (
    Channel,
    Reason,
    ReasonCode,
    matches,
)
from permis.domain.pressure import attempt_times, budget_in_force, cap_state, period_shift
from permis.domain.rules.base import EVERY_CHANNEL, EVERYONE, Rule, RuleContext

GDPR_DATE = date(2018, 5, 25)


def _objection(rule: Rule, ctx: RuleContext) -> Reason | None:
    request = ctx.request
    for objection in ctx.facts.objections:
        if (
            objection.at <= ctx.at
            and matches(objection.channel, request.channel)
            and matches(objection.purpose, request.purpose)
        ):
            return rule.reason(
                ReasonCode.OBJECTION,
                f"The person objected (channel: {objection.channel}, source: {objection.source})",
                None,
            )
    return None


def _budget(rule: Rule, ctx: RuleContext) -> Reason | None:
    request = ctx.request
    worst: Reason | None = None
    for budget in budget_in_force(ctx.facts.budgets, request.channel, ctx.at):
        times = attempt_times(ctx.facts.attempts, frozenset({budget.channel}))
        state = cap_state(times, ctx.at, budget.max, period_shift(budget.period))
        if not state.reached:
            continue
        message = (
            f"The person allows at most {budget.max} contact(s) per {budget.period.value}"
            f" on {budget.channel}; {state.used} made"
        )
        if budget.max <= 0:  # "never on this channel": like an objection, without being one
            message = f"The person wants no contact on {budget.channel} (a budget of 0)"
        reason = rule.reason(ReasonCode.PERSONAL_BUDGET, message, state.frees_at)
        if worst is None or _later(reason, worst):
            worst = reason
    return worst


def _later(a: Reason, b: Reason) -> bool:
    if a.until is None:
        return True
    return b.until is not None and a.until > b.until


REACHABLE_BY: dict[Channel, frozenset[ContactKind]] = {
    Channel.CALL: frozenset({ContactKind.PHONE}),
    Channel.AUTOMATED_CALL: frozenset({ContactKind.PHONE}),
    Channel.SMS: frozenset({ContactKind.PHONE}),
    Channel.FAX: frozenset({ContactKind.PHONE}),
    Channel.EMAIL: frozenset({ContactKind.EMAIL}),
    Channel.MESSAGING: frozenset({ContactKind.PHONE, ContactKind.EMAIL}),
    # postal addresses are not contact points yet: a letter is checked against the person's
    # phone number or e-mail address as their identifier
    Channel.POST: frozenset({ContactKind.PHONE, ContactKind.EMAIL}),
}


def _reachable(rule: Rule, ctx: RuleContext) -> Reason | None:
    if ctx.contact.kind in REACHABLE_BY[ctx.request.channel]:
        return None
    return rule.reason(
        ReasonCode.INVALID_CONTACT,
        f"A {ctx.contact.kind.value} contact point cannot be reached on the"
        f" {ctx.request.channel} channel",
        None,
    )


def _processor(rule: Rule, ctx: RuleContext) -> Reason | None:
    name = ctx.request.processor
    if name is None:
        return None
    fact = ctx.facts.processor
    if fact is None or not fact.known or not fact.active:
        return rule.reason(
            ReasonCode.PROCESSOR_NOT_AUTHORIZED, "This processor is not registered", None
        )
    if not any(matches(scope, ctx.request.channel) for scope in fact.channels):
        return rule.reason(
            ReasonCode.PROCESSOR_NOT_AUTHORIZED,
            f"This processor is not authorised for the {ctx.request.channel} channel",
            None,
        )
    return None


OBJECTION = Rule(
    id="EU.GDPR-21.objection",
    reference="RGPD art. 21(2)-(3); Code des postes et des communications électroniques, "
    "art. L34-5; Code de la consommation, art. L223-1",
    summary="An objection to direct marketing, on a channel or all, from any source, always wins",
    channels=EVERY_CHANNEL,
    audiences=EVERYONE,
    effective_from=GDPR_DATE,
    check=_objection,
)

PERSONAL_BUDGET = Rule(
    id="PERMIS.budget",
    reference="RGPD art. 21 (opposition partielle exprimée par la personne)",
    summary="The person's own cap per channel (or all channels) and rolling period",
    channels=EVERY_CHANNEL,
    audiences=EVERYONE,
    effective_from=GDPR_DATE,
    check=_budget,
)

PROCESSOR_AUTHORIZATION = Rule(
    id="PERMIS.processor",
    reference="RGPD art. 28 (sous-traitant agissant sur instruction documentée)",
    summary="A processor acts only for the channels it is registered for",
    channels=EVERY_CHANNEL,
    audiences=EVERYONE,
    effective_from=GDPR_DATE,
    check=_processor,
)

REACHABLE = Rule(
    id="PERMIS.contact-channel",
    reference="RGPD art. 5(1)(d) (exactitude); Permis never guesses a contact point",
    summary="The contact point must be one the channel can reach (no e-mail to a phone number)",
    channels=EVERY_CHANNEL,
    audiences=EVERYONE,
    effective_from=GDPR_DATE,
    check=_reachable,
)

COMMON_RULES = (REACHABLE, OBJECTION, PROCESSOR_AUTHORIZATION, PERSONAL_BUDGET)
