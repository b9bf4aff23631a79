"""The EU baseline and the packs of Germany, Spain and Belgium (../shared/LAW.md section 7).

The baseline is ePrivacy art. 13 (opt-in for automated calls, fax, e-mail and SMS, the
similar-products exception for e-mail and SMS) on top of the common rules (GDPR art. 21
objection, the person's budget, processors). Live calls are a member-state choice: the baseline
has no rule for them, each national pack adds its own.
"""

from __future__ import annotations

from datetime import date

from permis.domain.model import Channel, Reason
from permis.domain.rules import checks
from permis.domain.rules.base import CONSUMERS, LIVE_CALL, Params, Rule, RuleContext, RulePack
from permis.domain.rules.common import COMMON_RULES
from permis.domain.rules.fr import existing_customer

EPRIVACY_DATE = date(2003, 10, 31)
"""Directive 2002/58/EC: transposition deadline (art. 17)."""
UWG_2004 = date(2004, 7, 8)
"""UWG of 3 Jul 2004 in force: calls to consumers need consent (express since 4 Aug 2009)."""
LGTEL_2023 = date(2023, 6, 29)
"""Ley 11/2022 General de Telecomunicaciones, art. 66.1.b: in force 29 Jun 2023."""
LOPDGDD_DATE = date(2018, 12, 7)
CDE_BOOK_VI = date(2014, 5, 31)
"""Code de droit économique, livre VI (VI.111-VI.114 "Ne m'appelez plus"): in force."""

ES_ROBINSON = "es-robinson"
BE_DNCM = "be-dncm"
ROBINSON_DAYS = 30
"""LOPDGDD art. 23.4: updates of the Lista Robinson are applied within 30 days."""
DNCM_DAYS = 30
"""Refresh interval of the Belgian list: not fixed by the text (LAW.md ⚠), 30 days like the
list's default validity in ``services.lists``."""

SIMILAR_PRODUCTS = frozenset({Channel.EMAIL, Channel.SMS, Channel.MESSAGING})
"""Art. 13(2): the existing-customer exception covers electronic mail (SMS included) only."""


def _electronic_opt_in(rule: Rule, ctx: RuleContext) -> Reason | None:
    if ctx.request.channel in SIMILAR_PRODUCTS and existing_customer(ctx):
        return None
    return checks.consent_check(f"{ctx.request.channel} marketing")(rule, ctx)


EU_OPT_IN = Rule(
    id="EU.ePrivacy-13.opt-in",
    reference="Directive 2002/58/CE (vie privée et communications électroniques), art. 13(1)-(2);"
    " RGPD art. 7(1) et 7(3)",
    summary="Automated calls, fax, e-mail, SMS and messaging to consumers need prior consent,"
    " provable and withdrawable; e-mail and SMS to existing customers excepted",
    channels=frozenset(
        {Channel.AUTOMATED_CALL, Channel.FAX, Channel.EMAIL, Channel.SMS, Channel.MESSAGING}
    ),
    audiences=CONSUMERS,
    effective_from=EPRIVACY_DATE,
    check=_electronic_opt_in,
)

EU_RULES = (EU_OPT_IN,)

DE_CALL_CONSENT = Rule(
    id="DE.UWG-7.call-consent",
    reference="Gesetz gegen den unlauteren Wettbewerb (UWG), § 7 Abs. 2 Nr. 1"
    " (consentement exprès préalable)",
    summary="No call to a consumer without prior express consent; being a customer is no"
    " exception (professionals: presumed consent, not checked)",
    channels=LIVE_CALL,
    audiences=CONSUMERS,
    effective_from=UWG_2004,
    check=checks.consent_check("marketing calls (express consent)"),
)

ES_CALL_BASIS = Rule(
    id="ES.LGTel-66.call-basis",
    reference="Ley 11/2022 General de Telecomunicaciones, art. 66.1.b; RGPD art. 6(1)",
    summary="No unwanted commercial call without consent or another basis: a customer of the"
    " last 12 months (contract current or ended less than a year ago)",
    channels=LIVE_CALL,
    audiences=CONSUMERS,
    effective_from=LGTEL_2023,
    check=checks.consent_check("commercial calls", checks.customer_within(12)),
)

ES_ROBINSON_RULE = Rule(
    id="ES.LOPDGDD-23.robinson",
    reference="Ley Orgánica 3/2018 (LOPDGDD), art. 23.4 (Lista Robinson)",
    summary="Check the Lista Robinson before a campaign (a file at most 30 days old); a person"
    " who consented to the channel is excepted",
    channels=frozenset({Channel.CALL, Channel.AUTOMATED_CALL, Channel.SMS}),
    audiences=CONSUMERS,
    effective_from=LOPDGDD_DATE,
    check=checks.required_list(
        ES_ROBINSON, "Lista Robinson", ROBINSON_DAYS, checks.consented_to_request_channel
    ),
    lists=frozenset({ES_ROBINSON}),
)

BE_DNCM_RULE = Rule(
    id="BE.CDE-VI.111.dncm",
    reference="Code de droit économique, art. VI.111 à VI.114 (liste « Ne m'appelez plus »)",
    summary='Checking the "Ne m\'appelez plus" list is mandatory for calls (a file at most 30'
    " days old, ⚠ the text fixes no interval); no exception is assumed",
    channels=frozenset({Channel.CALL, Channel.AUTOMATED_CALL}),
    audiences=CONSUMERS,
    effective_from=CDE_BOOK_VI,
    check=checks.required_list(BE_DNCM, '"Ne m\'appelez plus" list', DNCM_DAYS),
    lists=frozenset({BE_DNCM}),
)


def eu_pack(params: Params | None = None) -> RulePack:
    return RulePack("eu", COMMON_RULES + EU_RULES, params or Params())


def de_pack(params: Params | None = None) -> RulePack:
    return RulePack("de", COMMON_RULES + EU_RULES + (DE_CALL_CONSENT,), params or Params())


def es_pack(params: Params | None = None) -> RulePack:
    rules = COMMON_RULES + EU_RULES + (ES_CALL_BASIS, ES_ROBINSON_RULE)
    return RulePack("es", rules, params or Params())


def be_pack(params: Params | None = None) -> RulePack:
    return RulePack("be", COMMON_RULES + EU_RULES + (BE_DNCM_RULE,), params or Params())
