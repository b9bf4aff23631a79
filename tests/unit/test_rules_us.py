"""The United States pack, table-driven: calling hours in every zone of the area code, the National
Do Not Call Registry and its 31-day scrub, its exceptions, state lists, robocall consent.

2 Dec 2026 is a Wednesday; 5-6 Dec a weekend; clocks spring forward on 14 Mar 2027.
"""

from __future__ import annotations

import pytest

from permis.domain.model import (
    Audience,
    Channel,
    Facts,
    ObjectionFact,
)
from permis.domain.rules.us import us_pack
from tests.unit.packs_table import Case, check, consent, ended_contract, snapshot, t

LA = "+1 415 555 0123"  # America/Los_Angeles
NY = "+12125550123"  # America/New_York
BOISE = "+12085550123"  # America/Boise and America/Los_Angeles
ALASKA = "+19075550123"  # America/Adak and America/Anchorage
DAKOTA = "+16055550123"  # America/Denver and America/North_Dakota/Center
HAWAII = "+18085550123"  # Pacific/Honolulu
PUERTO_RICO = "+17875550123"  # America/Puerto_Rico, under US federal law

FRESH = snapshot("us-dnc", "2026-11-20T00:00:00-05:00")
LISTED = snapshot("us-dnc", "2026-11-20T00:00:00-05:00", listed=True)
CLEAN = Facts(snapshots=(FRESH,))
OUT = ("OUTSIDE_HOURS",)

CASES = [
    Case("inside-window", LA, "2026-12-02T10:00:00-08:00", (), "2026-12-02T10:00:00-08:00",
         facts=CLEAN),
    Case("one-second-before-8am", LA, "2026-12-02T07:59:59-08:00", OUT,
         "2026-12-02T08:00:00-08:00", facts=CLEAN),
    Case("8am-sharp", LA, "2026-12-02T08:00:00-08:00", (), "2026-12-02T08:00:00-08:00",
         facts=CLEAN),
    Case("last-minute", LA, "2026-12-02T20:59:00-08:00", (), "2026-12-02T20:59:00-08:00",
         facts=CLEAN),
    Case("9pm-sharp-is-out", LA, "2026-12-02T21:00:00-08:00", OUT,
         "2026-12-03T08:00:00-08:00", facts=CLEAN),
    Case("late-evening-in-new-york", NY, "2026-12-02T23:30:00-05:00", OUT,
         "2026-12-03T08:00:00-05:00", facts=CLEAN),
    Case("boise-ok-los-angeles-too-early", BOISE, "2026-12-02T08:30:00-07:00", OUT,
         "2026-12-02T09:00:00-07:00", facts=CLEAN),
    Case("los-angeles-ok-boise-too-late", BOISE, "2026-12-02T20:30:00-08:00", OUT,
         "2026-12-03T09:00:00-07:00", facts=CLEAN),
    Case("both-zones-inside", BOISE, "2026-12-02T12:00:00-08:00", (),
         "2026-12-02T13:00:00-07:00", facts=CLEAN),
    Case("anchorage-ok-adak-too-early", ALASKA, "2026-12-02T08:30:00-09:00", OUT,
         "2026-12-02T08:00:00-10:00", facts=CLEAN),
    Case("mountain-ok-central-too-late", DAKOTA, "2026-12-02T20:30:00-07:00", OUT,
         "2026-12-03T08:00:00-07:00", facts=CLEAN),
    Case("honolulu-early", HAWAII, "2026-12-02T07:00:00-10:00", OUT,
         "2026-12-02T08:00:00-10:00", facts=CLEAN),
    Case("saturday-is-a-calling-day", LA, "2026-12-05T10:00:00-08:00", (),
         "2026-12-05T10:00:00-08:00", facts=CLEAN),
    Case("sunday-night", NY, "2026-12-06T22:00:00-05:00", OUT,
         "2026-12-07T08:00:00-05:00", facts=CLEAN),
    Case("spring-forward-night", LA, "2027-03-14T01:30:00-08:00", OUT,
         "2027-03-14T08:00:00-07:00",
         facts=Facts(snapshots=(snapshot("us-dnc", "2027-03-01T00:00:00-08:00"),))),
    Case("puerto-rico-is-us", PUERTO_RICO, "2026-12-02T21:30:00-04:00", OUT,
         "2026-12-03T08:00:00-04:00", facts=CLEAN),
    Case("on-the-registry", LA, "2026-12-02T10:00:00-08:00", ("OPPOSITION_LIST",), None,
         facts=Facts(snapshots=(LISTED,))),
    Case("on-the-registry-and-too-late", LA, "2026-12-02T22:00:00-08:00",
         ("OUTSIDE_HOURS", "OPPOSITION_LIST"), None, facts=Facts(snapshots=(LISTED,))),
    Case("no-registry-file", LA, "2026-12-02T10:00:00-08:00", ("OPPOSITION_LIST_STALE",), None),
    Case("file-exactly-31-days-old", LA, "2026-12-02T10:00:00-08:00",
         ("OPPOSITION_LIST_STALE",), None,
         facts=Facts(snapshots=(snapshot("us-dnc", "2026-11-01T10:00:00-08:00"),))),
    Case("file-one-second-younger", LA, "2026-12-02T10:00:00-08:00", (),
         "2026-12-02T10:00:00-08:00",
         facts=Facts(snapshots=(snapshot("us-dnc", "2026-11-01T10:00:01-08:00"),))),
    Case("file-imported-with-shorter-validity", LA, "2026-12-02T10:00:00-08:00",
         ("OPPOSITION_LIST_STALE",), None,
         facts=Facts(snapshots=(snapshot("us-dnc", "2026-11-20T00:00:00-05:00", days=10),))),
    Case("file-dated-after-the-call-is-ignored", LA, "2026-12-02T10:00:00-08:00",
         ("OPPOSITION_LIST_STALE",), None,
         facts=Facts(snapshots=(snapshot("us-dnc", "2026-12-03T00:00:00-05:00"),))),
    Case("newer-file-wins", LA, "2026-12-02T10:00:00-08:00", (), "2026-12-02T10:00:00-08:00",
         facts=Facts(snapshots=(LISTED, snapshot("us-dnc", "2026-11-25T00:00:00-05:00")))),
    Case("listed-with-written-consent", LA, "2026-12-02T10:00:00-08:00", (),
         "2026-12-02T10:00:00-08:00",
         facts=Facts(snapshots=(LISTED,), consents=(consent("call", "2026-06-01T10:00:00Z"),))),
    Case("listed-customer-17-months", LA, "2026-12-02T10:00:00-08:00", (),
         "2026-12-02T10:00:00-08:00",
         facts=Facts(snapshots=(LISTED,),
                     contracts=(ended_contract("2024-01-01T00:00:00Z", "2025-07-03T00:00:00Z"),))),
    Case("listed-customer-19-months", LA, "2026-12-02T10:00:00-08:00", ("OPPOSITION_LIST",),
         None, facts=Facts(snapshots=(LISTED,),
                           contracts=(ended_contract("2024-01-01T00:00:00Z",
                                                     "2025-05-01T00:00:00Z"),))),
    Case("opt-out-applied-at-once", LA, "2026-12-02T10:00:00-08:00", ("OBJECTION",), None,
         facts=Facts(snapshots=(FRESH,),
                     objections=(ObjectionFact(t("2026-12-02T09:00:00-08:00"), "call"),))),
    Case("state-list", LA, "2026-12-02T10:00:00-08:00", ("OPPOSITION_LIST",), None,
         facts=Facts(snapshots=(FRESH, snapshot("us-dnc-tx", "2026-01-01T00:00:00-06:00",
                                                listed=True, days=365)))),
    Case("state-list-with-consent", LA, "2026-12-02T10:00:00-08:00", (),
         "2026-12-02T10:00:00-08:00",
         facts=Facts(snapshots=(FRESH, snapshot("us-dnc-tx", "2026-01-01T00:00:00-06:00",
                                                listed=True, days=365)),
                     consents=(consent("call", "2026-06-01T10:00:00Z"),))),
    Case("robocall-without-written-consent", LA, "2026-12-02T10:00:00-08:00", ("NO_CONSENT",),
         None, channel=Channel.AUTOMATED_CALL, facts=CLEAN),
    Case("robocall-with-consent", LA, "2026-12-02T10:00:00-08:00", (),
         "2026-12-02T10:00:00-08:00", channel=Channel.AUTOMATED_CALL,
         facts=Facts(snapshots=(FRESH,),
                     consents=(consent("automated_call", "2026-06-01T10:00:00Z"),))),
    Case("business-line-not-covered", LA, "2026-12-02T22:00:00-08:00", (),
         "2026-12-02T22:00:00-08:00", facts=Facts(snapshots=(LISTED,)),
         audience=Audience.PROFESSIONAL),
    Case("2004-file-two-months-old-was-enough", LA, "2004-06-01T10:00:00-07:00", (),
         "2004-06-01T10:00:00-07:00",
         facts=Facts(snapshots=(snapshot("us-dnc", "2004-04-01T00:00:00-08:00", days=90),))),
    Case("2005-file-two-months-old-is-stale", LA, "2005-06-01T10:00:00-07:00",
         ("OPPOSITION_LIST_STALE",), None,
         facts=Facts(snapshots=(snapshot("us-dnc", "2005-04-01T00:00:00-08:00", days=90),))),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_us(case: Case) -> None:
    check(case, us_pack())


def test_enough_us_scenarios() -> None:
    assert len(CASES) >= 15


def test_the_scrub_interval_changed_on_1_january_2005() -> None:
    pack = us_pack()
    assert pack.version(t("2004-06-01T10:00:00-07:00")) == "us-2003-10-01"
    assert pack.version(t("2005-06-01T10:00:00-07:00")) == "us-2005-01-01"
