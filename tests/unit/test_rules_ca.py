"""The Canadian pack, table-driven: weekday 09:00-21:30 and weekend 10:00-18:00 windows in every
zone of the area code, the DNCL and its 31 days, its exceptions, ADAD calls, CASL.

2 Dec 2026 is a Wednesday; 4 Dec a Friday; 5-6 Dec a weekend.
"""

from __future__ import annotations

import pytest

from permis.domain.model import Audience, Channel, Facts
from permis.domain.rules.ca import ca_pack
from tests.unit.packs_table import Case, check, consent, ended_contract, snapshot

TORONTO = "+1 416 555 0123"  # America/Toronto
VANCOUVER = "+16045550123"  # America/Vancouver
NEWFOUNDLAND = "+17095550123"  # America/Halifax and America/St_Johns (UTC-4 and UTC-3:30)
REGINA = "+13065550123"  # America/Regina, no daylight saving time

DNCL = snapshot("ca-dncl", "2026-11-20T00:00:00-05:00")
DNCL_LISTED = snapshot("ca-dncl", "2026-11-20T00:00:00-05:00", listed=True)
CLEAN = Facts(snapshots=(DNCL,))
OUT = ("OUTSIDE_HOURS",)

CASES = [
    Case("weekday-9am", TORONTO, "2026-12-02T09:00:00-05:00", (), "2026-12-02T09:00:00-05:00",
         facts=CLEAN),
    Case("weekday-8-59", TORONTO, "2026-12-02T08:59:00-05:00", OUT,
         "2026-12-02T09:00:00-05:00", facts=CLEAN),
    Case("weekday-21-29", TORONTO, "2026-12-02T21:29:00-05:00", (),
         "2026-12-02T21:29:00-05:00", facts=CLEAN),
    Case("weekday-21-30-is-out", TORONTO, "2026-12-02T21:30:00-05:00", OUT,
         "2026-12-03T09:00:00-05:00", facts=CLEAN),
    Case("friday-night-waits-for-saturday-10", TORONTO, "2026-12-04T21:45:00-05:00", OUT,
         "2026-12-05T10:00:00-05:00", facts=CLEAN),
    Case("saturday-9-59", VANCOUVER, "2026-12-05T09:59:00-08:00", OUT,
         "2026-12-05T10:00:00-08:00", facts=CLEAN),
    Case("saturday-17-59", VANCOUVER, "2026-12-05T17:59:00-08:00", (),
         "2026-12-05T17:59:00-08:00", facts=CLEAN),
    Case("saturday-18-00-waits-for-sunday", VANCOUVER, "2026-12-05T18:00:00-08:00", OUT,
         "2026-12-06T10:00:00-08:00", facts=CLEAN),
    Case("sunday-evening-waits-for-monday-9", TORONTO, "2026-12-06T18:30:00-05:00", OUT,
         "2026-12-07T09:00:00-05:00", facts=CLEAN),
    Case("newfoundland-both-inside", NEWFOUNDLAND, "2026-12-02T09:00:00-04:00", (),
         "2026-12-02T09:00:00-04:00", facts=CLEAN),
    Case("st-johns-ok-halifax-too-early", NEWFOUNDLAND, "2026-12-02T08:45:00-04:00", OUT,
         "2026-12-02T09:00:00-04:00", facts=CLEAN),
    Case("halifax-ok-st-johns-too-late", NEWFOUNDLAND, "2026-12-02T21:45:00-03:30", OUT,
         "2026-12-03T09:00:00-04:00", facts=CLEAN),
    Case("saturday-st-johns-past-18", NEWFOUNDLAND, "2026-12-05T18:15:00-03:30", OUT,
         "2026-12-06T10:00:00-04:00", facts=CLEAN),
    Case("regina-summer-no-dst", REGINA, "2027-07-05T08:30:00-06:00", OUT,
         "2027-07-05T09:00:00-06:00",
         facts=Facts(snapshots=(snapshot("ca-dncl", "2027-07-01T00:00:00-06:00"),))),
    Case("on-the-dncl", TORONTO, "2026-12-02T10:00:00-05:00", ("OPPOSITION_LIST",), None,
         facts=Facts(snapshots=(DNCL_LISTED,))),
    Case("on-the-dncl-on-sunday-night", TORONTO, "2026-12-06T20:00:00-05:00",
         ("OUTSIDE_HOURS", "OPPOSITION_LIST"), None, facts=Facts(snapshots=(DNCL_LISTED,))),
    Case("no-dncl-copy", TORONTO, "2026-12-02T10:00:00-05:00", ("OPPOSITION_LIST_STALE",), None),
    Case("copy-exactly-31-days-old", TORONTO, "2026-12-02T10:00:00-05:00",
         ("OPPOSITION_LIST_STALE",), None,
         facts=Facts(snapshots=(snapshot("ca-dncl", "2026-11-01T10:00:00-05:00"),))),
    Case("copy-30-days-old", TORONTO, "2026-12-02T10:00:00-05:00", (),
         "2026-12-02T10:00:00-05:00",
         facts=Facts(snapshots=(snapshot("ca-dncl", "2026-11-02T10:00:00-05:00"),))),
    Case("listed-with-express-consent", TORONTO, "2026-12-02T10:00:00-05:00", (),
         "2026-12-02T10:00:00-05:00",
         facts=Facts(snapshots=(DNCL_LISTED,), consents=(consent("call", "2026-03-01T10:00:00Z"),))),
    Case("listed-customer-17-months", TORONTO, "2026-12-02T10:00:00-05:00", (),
         "2026-12-02T10:00:00-05:00",
         facts=Facts(snapshots=(DNCL_LISTED,),
                     contracts=(ended_contract("2024-01-01T00:00:00Z", "2025-07-03T00:00:00Z"),))),
    Case("listed-customer-19-months", TORONTO, "2026-12-02T10:00:00-05:00",
         ("OPPOSITION_LIST",), None,
         facts=Facts(snapshots=(DNCL_LISTED,),
                     contracts=(ended_contract("2024-01-01T00:00:00Z", "2025-05-01T00:00:00Z"),))),
    Case("business-is-exempt", TORONTO, "2026-12-06T20:00:00-05:00", (),
         "2026-12-06T20:00:00-05:00", facts=Facts(snapshots=(DNCL_LISTED,)),
         audience=Audience.PROFESSIONAL),
    Case("adad-without-consent", TORONTO, "2026-12-02T10:00:00-05:00", ("NO_CONSENT",), None,
         channel=Channel.AUTOMATED_CALL, facts=CLEAN),
    Case("sms-without-consent", TORONTO, "2026-12-02T10:00:00-05:00", ("NO_CONSENT",), None,
         channel=Channel.SMS),
    Case("sms-implied-consent-23-months", TORONTO, "2026-12-02T10:00:00-05:00", (),
         "2026-12-02T10:00:00-05:00", channel=Channel.SMS,
         facts=Facts(contracts=(ended_contract("2023-01-01T00:00:00Z", "2025-01-03T00:00:00Z"),))),
    Case("sms-implied-consent-25-months", TORONTO, "2026-12-02T10:00:00-05:00", ("NO_CONSENT",),
         None, channel=Channel.SMS,
         facts=Facts(contracts=(ended_contract("2022-01-01T00:00:00Z", "2024-11-01T00:00:00Z"),))),
    Case("before-the-dncl", TORONTO, "2008-09-29T10:00:00-04:00", (),
         "2008-09-29T10:00:00-04:00"),
    Case("first-day-of-the-dncl", TORONTO, "2008-09-30T10:00:00-04:00",
         ("OPPOSITION_LIST_STALE",), None),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_canada(case: Case) -> None:
    check(case, ca_pack())


def test_enough_canadian_scenarios() -> None:
    assert len(CASES) >= 15
