"""The EU baseline and the German, Spanish and Belgian packs, table-driven."""

from __future__ import annotations

import pytest

from permis.domain.model import Audience, Channel, ContractFact, Facts, ObjectionFact
from permis.domain.rules.base import RulePack
from permis.domain.rules.eu import be_pack, de_pack, es_pack, eu_pack
from tests.unit.packs_table import Case, check, consent, ended_contract, snapshot, t

ROME = "+39 06 1234 5678"
BERLIN = "+49 30 123456"
MADRID = "+34 912 345 678"
SPANISH_MOBILE = "+34612345678"  # Europe/Madrid and Atlantic/Canary
BRUSSELS_MOBILE = "+32 470 12 34 56"
AT = "2026-12-02T11:00:00+01:00"
NIGHT = "2026-12-06T23:30:00+01:00"
CUSTOMER = ContractFact(t("2025-01-01T00:00:00Z"))

EU_CASES = [
    Case("live-call-member-state-choice", ROME, NIGHT, (), NIGHT),
    Case("sms-needs-consent", ROME, AT, ("NO_CONSENT",), None, channel=Channel.SMS),
    Case(
        "sms-to-a-customer",
        ROME,
        AT,
        (),
        AT,
        channel=Channel.SMS,
        facts=Facts(contracts=(CUSTOMER,)),
    ),
    Case(
        "automated-call-customer-is-no-exception",
        ROME,
        AT,
        ("NO_CONSENT",),
        None,
        channel=Channel.AUTOMATED_CALL,
        facts=Facts(contracts=(CUSTOMER,)),
    ),
    Case(
        "email-consent-withdrawn",
        "mario@example.it",
        AT,
        ("NO_CONSENT",),
        None,
        channel=Channel.EMAIL,
        facts=Facts(
            consents=(
                consent("email", "2026-01-01T10:00:00Z", withdrawn_at=t("2026-11-01T10:00:00Z")),
            )
        ),
    ),
    Case(
        "email-with-consent",
        "mario@example.it",
        AT,
        (),
        AT,
        channel=Channel.EMAIL,
        facts=Facts(consents=(consent("email", "2026-01-01T10:00:00Z"),)),
    ),
    Case(
        "objection-always-wins",
        ROME,
        AT,
        ("OBJECTION",),
        None,
        facts=Facts(objections=(ObjectionFact(t("2026-11-01T10:00:00Z")),)),
    ),
    Case(
        "sms-to-a-business", ROME, AT, (), AT, channel=Channel.SMS, audience=Audience.PROFESSIONAL
    ),
]

DE_CASES = [
    Case("call-without-consent", BERLIN, AT, ("NO_CONSENT",), None),
    Case(
        "customer-still-needs-express-consent",
        BERLIN,
        AT,
        ("NO_CONSENT",),
        None,
        facts=Facts(contracts=(CUSTOMER,)),
    ),
    Case(
        "call-with-consent",
        BERLIN,
        NIGHT,
        (),
        NIGHT,
        facts=Facts(consents=(consent("call", "2026-01-01T10:00:00Z"),)),
    ),
    Case(
        "sms-consent-does-not-cover-calls",
        BERLIN,
        AT,
        ("NO_CONSENT",),
        None,
        facts=Facts(consents=(consent("sms", "2026-01-01T10:00:00Z"),)),
    ),
    Case("business-call-presumed-consent", BERLIN, AT, (), AT, audience=Audience.PROFESSIONAL),
    Case(
        "email-needs-consent", "hans@example.de", AT, ("NO_CONSENT",), None, channel=Channel.EMAIL
    ),
]

ROBINSON = snapshot("es-robinson", "2026-11-20T00:00:00+01:00", days=30)
ROBINSON_LISTED = snapshot("es-robinson", "2026-11-20T00:00:00+01:00", listed=True, days=30)
ES_CASES = [
    Case("call-no-basis-no-file", MADRID, AT, ("NO_CONSENT", "OPPOSITION_LIST_STALE"), None),
    Case("call-no-basis", MADRID, AT, ("NO_CONSENT",), None, facts=Facts(snapshots=(ROBINSON,))),
    Case("customer-of-the-last-year", MADRID, AT, (), AT,
         facts=Facts(snapshots=(ROBINSON,),
                     contracts=(ended_contract("2024-01-01T00:00:00Z", "2026-01-10T00:00:00Z"),))),
    Case("customer-13-months-ago", MADRID, AT, ("NO_CONSENT",), None,
         facts=Facts(snapshots=(ROBINSON,),
                     contracts=(ended_contract("2024-01-01T00:00:00Z", "2025-11-01T00:00:00Z"),))),
    Case("robinson-listed-customer", SPANISH_MOBILE, AT, ("OPPOSITION_LIST",), None,
         facts=Facts(snapshots=(ROBINSON_LISTED,), contracts=(CUSTOMER,))),
    Case("robinson-listed-but-consented", SPANISH_MOBILE, AT, (),
         "2026-12-02T10:00:00+00:00",  # shown in the first zone: Atlantic/Canary
         facts=Facts(snapshots=(ROBINSON_LISTED,),
                     consents=(consent("call", "2026-01-01T10:00:00Z"),))),
    Case("robinson-file-30-days-old", MADRID, AT, ("OPPOSITION_LIST_STALE",), None,
         facts=Facts(contracts=(CUSTOMER,),
                     snapshots=(snapshot("es-robinson", "2026-11-02T11:00:00+01:00", days=30),))),
    Case("sms-robinson-listed-no-consent", SPANISH_MOBILE, AT, ("NO_CONSENT", "OPPOSITION_LIST"),
         None, channel=Channel.SMS, facts=Facts(snapshots=(ROBINSON_LISTED,))),
    Case("before-lgtel-2022", MADRID, "2023-06-28T11:00:00+02:00", (),
         "2023-06-28T11:00:00+02:00",
         facts=Facts(snapshots=(snapshot("es-robinson", "2023-06-20T00:00:00+02:00"),))),
    Case("lgtel-2022-in-force", MADRID, "2023-06-29T11:00:00+02:00", ("NO_CONSENT",), None,
         facts=Facts(snapshots=(snapshot("es-robinson", "2023-06-20T00:00:00+02:00"),))),
]  # fmt: skip

DNCM = snapshot("be-dncm", "2026-11-20T00:00:00+01:00", days=30)
DNCM_LISTED = snapshot("be-dncm", "2026-11-20T00:00:00+01:00", listed=True, days=30)
BE_CASES = [
    Case("screened", BRUSSELS_MOBILE, AT, (), AT, facts=Facts(snapshots=(DNCM,))),
    Case("listed", BRUSSELS_MOBILE, AT, ("OPPOSITION_LIST",), None,
         facts=Facts(snapshots=(DNCM_LISTED,))),
    Case("listed-even-with-consent", BRUSSELS_MOBILE, AT, ("OPPOSITION_LIST",), None,
         facts=Facts(snapshots=(DNCM_LISTED,),
                     consents=(consent("call", "2026-01-01T10:00:00Z"),))),
    Case("no-file", BRUSSELS_MOBILE, AT, ("OPPOSITION_LIST_STALE",), None),
    Case("automated-call-listed-no-consent", BRUSSELS_MOBILE, AT,
         ("NO_CONSENT", "OPPOSITION_LIST"), None, channel=Channel.AUTOMATED_CALL,
         facts=Facts(snapshots=(DNCM_LISTED,))),
    Case("sms-needs-consent-not-the-list", BRUSSELS_MOBILE, AT, ("NO_CONSENT",), None,
         channel=Channel.SMS),
]  # fmt: skip

TABLE = [
    *((eu_pack, c) for c in EU_CASES),
    *((de_pack, c) for c in DE_CASES),
    *((es_pack, c) for c in ES_CASES),
    *((be_pack, c) for c in BE_CASES),
]


@pytest.mark.parametrize(
    ("pack", "case"), TABLE, ids=[f"{p.__name__[:2]}-{c.name}" for p, c in TABLE]
)
def test_european_packs(pack: type[RulePack], case: Case) -> None:
    check(case, pack())
