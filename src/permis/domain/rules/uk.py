"""The United Kingdom pack: the Privacy and Electronic Communications (EC Directive) Regulations
2003 (PECR), see ../shared/LAW.md section 7.

- live calls are allowed unless the number is on the TPS (individuals) or the CTPS (corporate
  subscribers), screened at least every 28 days (a registration takes effect after 28 days), or
  the person objected; consent to calls lifts the TPS;
- automated calls need consent (reg. 19); e-mail and SMS to individuals need consent, with the
  soft opt-in for existing customers (reg. 22). PECR has no calling hours.
"""

from __future__ import annotations

from datetime import date

from permis.domain.model import Audience, Channel
from permis.domain.rules import checks
from permis.domain.rules.base import CONSUMERS, LIVE_CALL, Params, Rule, RuleContext, RulePack
from permis.domain.rules.common import COMMON_RULES

PECR_DATE = date(2003, 12, 11)
UK_TPS = "uk-tps"
UK_CTPS = "uk-ctps"
TPS_DAYS = 28
PECR = "Privacy and Electronic Communications (EC Directive) Regulations 2003 (PECR)"


def _soft_opt_in(ctx: RuleContext) -> bool:
    years = ctx.params.customer_exception_years
    return checks.customer_within(12 * years)(ctx)


UK_RULES: tuple[Rule, ...] = (
    Rule(
        id="UK.PECR-21.tps",
        reference=f"{PECR}, reg. 21(1)(b) et 26",
        summary="No live marketing call to an individual's number on the TPS without consent;"
        " the file must be at most 28 days old",
        channels=LIVE_CALL,
        audiences=CONSUMERS,
        effective_from=PECR_DATE,
        check=checks.required_list(
            UK_TPS, "Telephone Preference Service", TPS_DAYS, checks.consented_to_request_channel
        ),
        lists=frozenset({UK_TPS}),
    ),
    Rule(
        id="UK.PECR-21.ctps",
        reference=f"{PECR}, reg. 21(1)(b) et 25 (Corporate TPS)",
        summary="No live marketing call to a corporate subscriber's number on the CTPS without"
        " consent; the file must be at most 28 days old",
        channels=LIVE_CALL,
        audiences=frozenset({Audience.PROFESSIONAL}),
        effective_from=PECR_DATE,
        check=checks.required_list(
            UK_CTPS,
            "Corporate Telephone Preference Service",
            TPS_DAYS,
            checks.consented_to_request_channel,
        ),
        lists=frozenset({UK_CTPS}),
    ),
    Rule(
        id="UK.PECR-19.automated",
        reference=f"{PECR}, reg. 19",
        summary="Automated marketing calls need the subscriber's prior consent",
        channels=frozenset({Channel.AUTOMATED_CALL}),
        audiences=frozenset(Audience),
        effective_from=PECR_DATE,
        check=checks.consent_check("automated marketing calls"),
    ),
    Rule(
        id="UK.PECR-22.electronic",
        reference=f"{PECR}, reg. 22 (soft opt-in, reg. 22(3))",
        summary="Marketing e-mail and SMS to individuals need consent; existing customers for"
        " similar products excepted (soft opt-in)",
        channels=frozenset({Channel.EMAIL, Channel.SMS, Channel.MESSAGING}),
        audiences=CONSUMERS,
        effective_from=PECR_DATE,
        check=checks.consent_check("marketing e-mail or SMS", _soft_opt_in),
    ),
)


def uk_pack(params: Params | None = None) -> RulePack:
    return RulePack("uk", COMMON_RULES + UK_RULES, params or Params())
