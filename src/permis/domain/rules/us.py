"""The United States pack: TCPA (47 U.S.C. § 227, 47 CFR § 64.1200) and the FTC's Telemarketing
Sales Rule (16 CFR part 310), see ../shared/LAW.md section 7.

- calls 8am-9pm in the called party's local time; a number whose area code spans several zones
  must be inside the window in every one of them;
- the National Do Not Call Registry, scrubbed at least every 31 days (every 3 months until
  31 Dec 2004: a dated rule each), with the established-business-relationship exception
  (18 months after the last purchase or the end of a contract) and written consent;
- state do-not-call lists, once imported, as opposition lists;
- prerecorded or autodialled telemarketing calls need prior express written consent.

Opt-outs are to be honoured within 10 business days (FCC 24-18, since 11 Apr 2025): the gate
applies every objection at once (common rule ``EU.GDPR-21.objection``), which satisfies it.
"""

from __future__ import annotations

from datetime import date, time, timedelta

from permis.domain import calendar
from permis.domain.model import Channel
from permis.domain.rules import checks
from permis.domain.rules.base import CONSUMERS, PHONE, Params, Rule, RulePack
from permis.domain.rules.common import COMMON_RULES

TCPA_RULES = date(1992, 12, 20)
"""47 CFR § 64.1200 (FCC rules implementing the TCPA): in force."""
DNC_REGISTRY = date(2003, 10, 1)
"""Enforcement of the National Do Not Call Registry starts (TSR as amended in 2003)."""
DNC_31_DAYS = date(2005, 1, 1)
"""TSR amended in 2004: the registry is accessed every 31 days instead of every 3 months."""
WRITTEN_CONSENT = date(2013, 10, 16)
"""FCC 12-21: prior express written consent for prerecorded/autodialled telemarketing."""

US_DNC = "us-dnc"
STATES = [
    "AK",
    "AL",
    "AR",
    "AZ",
    "CA",
    "CO",
    "CT",
    "DC",
    "DE",
    "FL",
    "GA",
    "HI",
    "IA",
    "ID",
    "IL",
    "IN",
    "KS",
    "KY",
    "LA",
    "MA",
    "MD",
    "ME",
    "MI",
    "MN",
    "MO",
    "MS",
    "MT",
    "NC",
    "ND",
    "NE",
    "NH",
    "NJ",
    "NM",
    "NV",
    "NY",
    "OH",
    "OK",
    "OR",
    "PA",
    "RI",
    "SC",
    "SD",
    "TN",
    "TX",
    "UT",
    "VA",
    "VT",
    "WA",
    "WI",
    "WV",
    "WY",
]
STATE_LISTS = frozenset(f"us-dnc-{state.lower()}" for state in STATES)
"""``us-dnc-tx``...: a state's own do-not-call list, imported like any list."""
EBR_MONTHS = 18

US_CALL_WINDOWS = (calendar.Window(frozenset(range(7)), time(8, 0), time(21, 0)),)

TCPA = "47 U.S.C. § 227; 47 CFR § 64.1200"
TSR = "16 CFR § 310.4 (Telemarketing Sales Rule)"

_DNC_EXEMPT = checks.either(checks.consented_to_request_channel, checks.customer_within(EBR_MONTHS))


def _dnc(rule_id: str, days: int, start: date, end: date | None, period: str) -> Rule:
    return Rule(
        id=rule_id,
        reference="47 CFR § 64.1200(c)(2); 16 CFR § 310.4(b)(1)(iii)(B) et (b)(3)(iv)",
        summary=f"No telemarketing call to a number on the National Do Not Call Registry; the"
        f" file must be at most {period} old; written consent or a relationship of the last"
        f" {EBR_MONTHS} months excepted",
        channels=PHONE,
        audiences=CONSUMERS,
        effective_from=start,
        effective_until=end,
        check=checks.required_list(US_DNC, "National Do Not Call Registry", days, _DNC_EXEMPT),
        lists=frozenset({US_DNC}),
    )


US_RULES: tuple[Rule, ...] = (
    Rule(
        id="US.TCPA.hours",
        reference=f"47 CFR § 64.1200(c)(1); {TSR}(c)",
        summary="Calls only 8am-9pm in the called party's local time, inside the window in every"
        " time zone the area code may be in",
        channels=PHONE,
        audiences=CONSUMERS,
        effective_from=TCPA_RULES,
        check=checks.window_check(
            US_CALL_WINDOWS, "Calls are allowed 8am-9pm in the called party's local time"
        ),
    ),
    _dnc("US.TSR.dnc-quarterly", 90, DNC_REGISTRY, DNC_31_DAYS - timedelta(days=1), "3 months"),
    _dnc("US.TSR.dnc", 31, DNC_31_DAYS, None, "31 days"),
    Rule(
        id="US.state.dnc",
        reference="47 U.S.C. § 227(f)(1) (state laws stricter than the TCPA preserved);"
        " state do-not-call statutes",
        summary="A number on an imported state do-not-call list (us-dnc-XX) is not called"
        " without written consent",
        channels=PHONE,
        audiences=CONSUMERS,
        effective_from=TCPA_RULES,
        check=checks.any_list(
            STATE_LISTS, "state do-not-call list", checks.consented_to_request_channel
        ),
        lists=STATE_LISTS,
    ),
    Rule(
        id="US.TCPA.robocall-consent",
        reference=f"{TCPA}(a)(2)-(3) (FCC 12-21)",
        summary="Prerecorded or autodialled telemarketing calls need prior express written consent",
        channels=frozenset({Channel.AUTOMATED_CALL}),
        audiences=CONSUMERS,
        effective_from=WRITTEN_CONSENT,
        check=checks.consent_check("prerecorded or autodialled calls (written consent)"),
    ),
)


def us_pack(params: Params | None = None) -> RulePack:
    return RulePack("us", COMMON_RULES + US_RULES, params or Params())
