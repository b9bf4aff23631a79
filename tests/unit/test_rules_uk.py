"""The United Kingdom pack, table-driven: TPS and CTPS screened every 28 days, consent lifting
them, automated calls, the soft opt-in, no calling hours (PECR has none).

2 Dec 2026 is a Wednesday; 5-6 Dec a weekend.
"""

from __future__ import annotations

import pytest

from permis.domain.model import Audience, Channel, ContractFact, Facts, ObjectionFact
from permis.domain.rules.uk import uk_pack
from tests.unit.packs_table import Case, check, consent, ended_contract, snapshot, t

LONDON = "+44 20 7946 0000"
MOBILE = "+447400123456"

TPS = snapshot("uk-tps", "2026-11-20T00:00:00Z", days=28)
TPS_LISTED = snapshot("uk-tps", "2026-11-20T00:00:00Z", listed=True, days=28)
CTPS = snapshot("uk-ctps", "2026-11-20T00:00:00Z", days=28)
CTPS_LISTED = snapshot("uk-ctps", "2026-11-20T00:00:00Z", listed=True, days=28)
CLEAN = Facts(snapshots=(TPS,))
AT = "2026-12-02T11:00:00+00:00"
STALE = ("OPPOSITION_LIST_STALE",)
LISTED = ("OPPOSITION_LIST",)

CASES = [
    Case("screened-not-listed", LONDON, AT, (), AT, facts=CLEAN),
    Case("mobile-screened", MOBILE, AT, (), AT, facts=CLEAN),
    Case("saturday-night-no-hours-rule", LONDON, "2026-12-05T23:00:00+00:00", (),
         "2026-12-05T23:00:00+00:00", facts=CLEAN),
    Case("sunday-3am", MOBILE, "2026-12-06T03:00:00+00:00", (), "2026-12-06T03:00:00+00:00",
         facts=CLEAN),
    Case("on-tps", LONDON, AT, LISTED, None, facts=Facts(snapshots=(TPS_LISTED,))),
    Case("no-tps-file", LONDON, AT, STALE, None),
    Case("tps-exactly-28-days-old", LONDON, AT, STALE, None,
         facts=Facts(snapshots=(snapshot("uk-tps", "2026-11-04T11:00:00Z", days=28),))),
    Case("tps-one-second-younger", LONDON, AT, (), AT,
         facts=Facts(snapshots=(snapshot("uk-tps", "2026-11-04T11:00:01Z", days=28),))),
    Case("tps-imported-with-31-days-still-28", LONDON, AT, STALE, None,
         facts=Facts(snapshots=(snapshot("uk-tps", "2026-11-03T00:00:00Z", days=31),))),
    Case("tps-file-dated-after-the-call", LONDON, AT, STALE, None,
         facts=Facts(snapshots=(snapshot("uk-tps", "2026-12-03T00:00:00Z", days=28),))),
    Case("on-tps-with-consent-to-calls", LONDON, AT, (), AT,
         facts=Facts(snapshots=(TPS_LISTED,), consents=(consent("call", "2026-01-10T10:00:00Z"),))),
    Case("on-tps-consent-withdrawn", LONDON, AT, LISTED, None,
         facts=Facts(snapshots=(TPS_LISTED,),
                     consents=(consent("call", "2026-01-10T10:00:00Z",
                                       withdrawn_at=t("2026-11-30T10:00:00Z")),))),
    Case("on-tps-customer-is-no-exception", LONDON, AT, LISTED, None,
         facts=Facts(snapshots=(TPS_LISTED,),
                     contracts=(ContractFact(t("2025-01-01T00:00:00Z")),))),
    Case("business-on-ctps", LONDON, AT, LISTED, None,
         facts=Facts(snapshots=(TPS, CTPS_LISTED)), audience=Audience.PROFESSIONAL),
    Case("business-without-ctps-file", LONDON, AT, STALE, None,
         facts=Facts(snapshots=(TPS,)), audience=Audience.PROFESSIONAL),
    Case("business-screened", LONDON, AT, (), AT,
         facts=Facts(snapshots=(TPS_LISTED, CTPS)), audience=Audience.PROFESSIONAL),
    Case("automated-call-without-consent", LONDON, AT, ("NO_CONSENT",), None,
         channel=Channel.AUTOMATED_CALL, facts=CLEAN),
    Case("automated-call-with-consent", LONDON, AT, (), AT, channel=Channel.AUTOMATED_CALL,
         facts=Facts(consents=(consent("automated_call", "2026-01-10T10:00:00Z"),))),
    Case("sms-without-consent", MOBILE, AT, ("NO_CONSENT",), None, channel=Channel.SMS),
    Case("sms-soft-opt-in", MOBILE, AT, (), AT, channel=Channel.SMS,
         facts=Facts(contracts=(ended_contract("2023-01-01T00:00:00Z",
                                               "2024-06-01T00:00:00Z"),))),
    Case("sms-customer-long-gone", MOBILE, AT, ("NO_CONSENT",), None, channel=Channel.SMS,
         facts=Facts(contracts=(ended_contract("2020-01-01T00:00:00Z",
                                               "2022-06-01T00:00:00Z"),))),
    Case("email-consent-expired", MOBILE, AT, ("CONSENT_EXPIRED",), None, channel=Channel.SMS,
         facts=Facts(consents=(consent("sms", "2025-01-10T10:00:00Z",
                                       expires_at=t("2026-01-10T10:00:00Z")),))),
    Case("objection-to-calls", LONDON, AT, ("OBJECTION",), None,
         facts=Facts(snapshots=(TPS,),
                     objections=(ObjectionFact(t("2026-11-01T10:00:00Z"), "call"),))),
    Case("objection-to-sms-does-not-stop-calls", LONDON, AT, (), AT,
         facts=Facts(snapshots=(TPS,),
                     objections=(ObjectionFact(t("2026-11-01T10:00:00Z"), "sms"),))),
    Case("before-pecr-no-screening", LONDON, "2003-12-10T11:00:00+00:00", (),
         "2003-12-10T11:00:00+00:00"),
    Case("first-day-of-pecr", LONDON, "2003-12-11T11:00:00+00:00", STALE, None),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_uk(case: Case) -> None:
    check(case, uk_pack())


def test_enough_uk_scenarios() -> None:
    assert len(CASES) >= 15
