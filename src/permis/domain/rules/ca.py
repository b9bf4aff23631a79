"""The Canadian pack: the CRTC's Unsolicited Telecommunications Rules and the anti-spam law
(CASL), see ../shared/LAW.md section 7.

- telemarketing calls weekdays 09:00-21:30 and weekends 10:00-18:00 in the called person's
  time (every zone of the area code);
- the National Do Not Call List (DNCL), a copy at most 31 days old; express consent or a
  relationship of the last 18 months excepted; calls to businesses are exempt (consumers only);
- automatic dialing-announcing calls (ADAD) need express consent;
- commercial e-mail and SMS need consent, implied for 2 years after a purchase or contract.
"""

from __future__ import annotations

from datetime import date, time

from permis.domain import calendar
from permis.domain.model import Channel
from permis.domain.rules import checks
from permis.domain.rules.base import CONSUMERS, PHONE, Params, Rule, RulePack
from permis.domain.rules.common import COMMON_RULES

UTR_DATE = date(2008, 9, 30)
"""The National DNCL and the Telemarketing Rules in force."""
CASL_DATE = date(2014, 7, 1)
CA_DNCL = "ca-dncl"
DNCL_DAYS = 31
EBR_MONTHS = 18
CASL_IMPLIED_MONTHS = 24

UTR = "CRTC, Règles sur les télécommunications non sollicitées"
WEEKEND = frozenset({5, 6})
CA_CALL_WINDOWS = (
    calendar.Window(calendar.WEEKDAYS, time(9, 0), time(21, 30)),
    calendar.Window(WEEKEND, time(10, 0), time(18, 0)),
)

CA_RULES: tuple[Rule, ...] = (
    Rule(
        id="CA.UTR.hours",
        reference=f"{UTR}, partie III (Règles sur le télémarketing)",
        summary="Telemarketing calls only 09:00-21:30 on weekdays and 10:00-18:00 on weekends,"
        " in the called person's local time (every zone of the area code)",
        channels=PHONE,
        audiences=CONSUMERS,
        effective_from=UTR_DATE,
        check=checks.window_check(
            CA_CALL_WINDOWS,
            "Calls are allowed 09:00-21:30 on weekdays and 10:00-18:00 on weekends, local time",
        ),
    ),
    Rule(
        id="CA.UTR.dncl",
        reference=f"{UTR}, partie II (Liste nationale de numéros de télécommunication exclus);"
        " Loi sur les télécommunications, art. 41.7",
        summary="No telemarketing call to a number on the National DNCL; the copy must be at"
        " most 31 days old; express consent or a relationship of the last 18 months excepted",
        channels=PHONE,
        audiences=CONSUMERS,
        effective_from=UTR_DATE,
        check=checks.required_list(
            CA_DNCL,
            "National Do Not Call List",
            DNCL_DAYS,
            checks.either(checks.consented_to_request_channel, checks.customer_within(EBR_MONTHS)),
        ),
        lists=frozenset({CA_DNCL}),
    ),
    Rule(
        id="CA.UTR.adad",
        reference=f"{UTR}, partie IV (composeurs-messagers automatiques)",
        summary="Automatic dialing-announcing calls for solicitation need express consent",
        channels=frozenset({Channel.AUTOMATED_CALL}),
        audiences=CONSUMERS,
        effective_from=UTR_DATE,
        check=checks.consent_check("automated calls (express consent)"),
    ),
    Rule(
        id="CA.CASL.consent",
        reference="Loi canadienne anti-pourriel (L.C. 2010, ch. 23), art. 6 et 10(9)-(10)",
        summary="Commercial e-mail and SMS need consent, implied for 2 years after a purchase or"
        " the end of a contract",
        channels=frozenset({Channel.EMAIL, Channel.SMS, Channel.MESSAGING}),
        audiences=CONSUMERS,
        effective_from=CASL_DATE,
        check=checks.consent_check(
            "commercial electronic messages", checks.customer_within(CASL_IMPLIED_MONTHS)
        ),
    ),
)


def ca_pack(params: Params | None = None) -> RulePack:
    return RulePack("ca", COMMON_RULES + CA_RULES, params or Params())
