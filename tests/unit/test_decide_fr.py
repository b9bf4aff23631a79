"""``decide`` under the French pack: one table of scenarios, each answer worked out by hand.

Every row calls ``decide(request, facts, fr_pack(params), policy)`` on plain ``Facts`` (no
database, no mock) and asserts exactly ``allowed``, the reason codes in the order produced (the
common rules, then the French rules in pack order, then the company's policy) and
``next_allowed_at``: the earliest instant at which no reason holds, or None when one never lapses
on its own (objection, no consent, expired consent, a sector ban, an unknown processor, an
invalid contact). For an allowed decision ``next_allowed_at`` is the request's own instant.
Expected instants are written in the contact's local time, and the test checks the offset too:
``decide`` answers in the contact's zone (an e-mail address has none: the request's offset).

Legal basis (../shared/LAW.md):

* D223-9 (décret 2022-1313, from 1 Mar 2023): consumer calls Mon-Fri 10:00-13:00 and
  14:00-20:00 local time (13:00 and 20:00 sharp are outside), never on a public holiday of the
  territory (Alsace-Moselle's Good Friday and 26 December blocked everywhere by default, a
  ``Params`` setting); at most 4 calls or attempts per rolling 30 days per company, all call
  centres together (an attempt at ``t`` counts while ``t <= at < t + 30 days``, so the cap frees
  at the oldest counted attempt + 30 days); after a refusal, 60 full calendar days without a
  call: refused on local day D, blocked through D+60, free from local midnight starting D+61.
* Bloctel until 10 Aug 2026 (a scrubbed file is valid 30 days); from 11 Aug 2026 (loi 2025-594)
  prior consent for consumer calls (current contract excepted), at most 365 days old (inclusive,
  ``Params.consent_max_age_days``), and a refusal during a call is a permanent objection. Dates of
  entry into force are read in Paris time.
* L34-5 CPCE: e-mail, SMS, automated calls, messaging, fax to consumers need opt-in (existing
  customers excepted: contract current or ended less than 3 years ago); B2B is opt-out; post is
  opt-out. No legal hours for SMS or e-mail (the AF2M charter is contractual).
* Sector bans (current contract the only exception, consent does not help): energy renovation by
  phone since 26 Jul 2020 (loi 2020-901), extended to SMS/e-mail/messaging and to home adaptation
  on 2 Jul 2025 (loi 2025-594); CPF training on every channel since 21 Dec 2022 (loi 2022-1587).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from permis.domain.contact import parse_contact
from permis.domain.decide import decide
from permis.domain.model import (
    ALL,
    DEFAULT_PURPOSE,
    AttemptFact,
    Audience,
    BudgetFact,
    Channel,
    CheckRequest,
    ConsentFact,
    ContractFact,
    Facts,
    ObjectionFact,
    Period,
    ProcessorFact,
    RefusalFact,
    Sector,
    SnapshotFact,
)
from permis.domain.pressure import EMPTY_POLICY, Policy, PolicyCap
from permis.domain.rules.base import Params
from permis.domain.rules.fr import fr_pack

# contact points (one per territory; the test parses them as the gate does)
FR = "+33612345678"  # metropolitan mobile, Europe/Paris
RE = "+262692123456"  # Réunion, UTC+4
YT = "+262639012345"  # Mayotte, UTC+3
MQ = "+596696123456"  # Martinique, UTC-4
GP = "+590690123456"  # Guadeloupe, UTC-4
GF = "+594694123456"  # Guyane, UTC-3
EMAIL = "jeanne.martin@example.fr"
PRO_EMAIL = "achats@fournisseur.example.fr"

# reason codes
INVALID = "INVALID_CONTACT"
OBJECTION = "OBJECTION"
LISTED = "OPPOSITION_LIST"
STALE = "OPPOSITION_LIST_STALE"
NO_CONSENT = "NO_CONSENT"
EXPIRED = "CONSENT_EXPIRED"
HOURS = "OUTSIDE_HOURS"
HOLIDAY = "HOLIDAY"
CAP = "LEGAL_CAP"
COOLDOWN = "REFUSAL_COOLDOWN"
BAN = "SECTOR_BAN"
BUDGET = "PERSONAL_BUDGET"
POLICY = "POLICY_CAP"
PROCESSOR = "PROCESSOR_NOT_AUTHORIZED"

PROCESSORS = ("lille", "tunis", "abidjan", "marketing")


def t(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    assert value.utcoffset() is not None, text
    return value


def consent(
    given: str,
    channel: str = Channel.CALL,
    *,
    purpose: str = DEFAULT_PURPOSE,
    expires: str | None = None,
    withdrawn: str | None = None,
) -> ConsentFact:
    return ConsentFact(
        channel=channel,
        purpose=purpose,
        given_at=t(given),
        expires_at=None if expires is None else t(expires),
        withdrawn_at=None if withdrawn is None else t(withdrawn),
    )


CALL_OK = consent("2026-08-20T10:00:00+02:00")
"""Phone consent valid from 20 Aug 2026 to 20 Aug 2027 (365 days)."""


def bloctel(
    as_of: str, *, listed: bool = False, days: int = 30, name: str = "bloctel"
) -> SnapshotFact:
    start = t(as_of)
    return SnapshotFact(name, start, start + timedelta(days=days), listed)


def calls(*times: str, channel: str = Channel.CALL) -> tuple[AttemptFact, ...]:
    """Attempts spread over the principal's call centres and marketing department, in turn."""
    return tuple(
        AttemptFact(t(when), channel, PROCESSORS[n % len(PROCESSORS)], "no_answer")
        for n, when in enumerate(times)
    )


def facts(*items: object, processor: ProcessorFact | None = None) -> Facts:
    """Plain ``Facts`` from records given in any order (each goes to its own tuple)."""

    def of(kind: type) -> tuple:  # type: ignore[type-arg]
        found: list[object] = []
        for item in items:
            if isinstance(item, tuple):
                found.extend(x for x in item if isinstance(x, kind))
            elif isinstance(item, kind):
                found.append(item)
        return tuple(found)

    known = (ConsentFact, ObjectionFact, RefusalFact, ContractFact, AttemptFact, BudgetFact)
    for item in items:
        for single in item if isinstance(item, tuple) else (item,):
            assert isinstance(single, (*known, SnapshotFact)), single
    return Facts(
        consents=of(ConsentFact),
        objections=of(ObjectionFact),
        refusals=of(RefusalFact),
        contracts=of(ContractFact),
        attempts=of(AttemptFact),
        budgets=of(BudgetFact),
        snapshots=of(SnapshotFact),
        processor=processor,
    )


def objection(when: str, channel: str = ALL, purpose: str = ALL) -> ObjectionFact:
    return ObjectionFact(t(when), channel, purpose)


def refusal(when: str) -> RefusalFact:
    return RefusalFact(t(when), "tunis")


def contract(start: str, end: str | None = None) -> ContractFact:
    return ContractFact(t(start), None if end is None else t(end))


def budget(channel: str, most: int, period: Period, set_at: str) -> BudgetFact:
    return BudgetFact(channel, most, period, t(set_at))


@dataclass(frozen=True)
class Scenario:
    id: str
    when: str
    allowed: bool
    codes: tuple[str, ...]
    next: str | None
    contact: str | None = FR
    channel: Channel = Channel.CALL
    facts: Facts = field(default_factory=Facts)
    purpose: str = DEFAULT_PURPOSE
    audience: Audience = Audience.CONSUMER
    sector: Sector = Sector.GENERAL
    processor: str | None = None
    params: Params | None = None
    policy: Policy = EMPTY_POLICY
    untils: Mapping[str, str | None] = field(default_factory=dict)
    local: str | None = None  # the decision's local_time, when worth checking


def ok(id: str, when: str, *, next: str | None = None, **kw: object) -> Scenario:
    """Allowed: no reason, ``next_allowed_at`` is the request's instant (in local time)."""
    return Scenario(id, when, True, (), next or when, **kw)  # type: ignore[arg-type]


def no(id: str, when: str, codes: tuple[str, ...], next: str | None, **kw: object) -> Scenario:
    """Refused for ``codes``, allowed again at ``next`` (None: not on its own)."""
    return Scenario(id, when, False, codes, next, **kw)  # type: ignore[arg-type]


# Before 11 Aug 2026 a consumer call needs a clean Bloctel file: these are valid 30 days.
CLEAN_MAR_2026 = bloctel("2026-03-11T09:00:00+01:00")
CLEAN_APR_2026 = bloctel("2026-03-30T09:00:00+02:00")
CLEAN_MAY_2026 = bloctel("2026-05-11T09:00:00+02:00")
CLEAN_JUN_2026 = bloctel("2026-06-05T09:00:00+02:00")
CLEAN_JUL_2026 = bloctel("2026-07-06T09:00:00+02:00")
CLEAN_AUG_2026 = bloctel("2026-08-01T09:00:00+02:00")
CLEAN_DEC_2025 = bloctel("2025-12-15T09:00:00+01:00")

# ---------------------------------------------------------------------------------------------
# calling hours (D223-9); Thursday 19 November 2026, Paris (UTC+1), consent on file
# ---------------------------------------------------------------------------------------------
HOURS_CASES = [
    ok("hours/thu-10:00-opens", "2026-11-19T10:00:00+01:00", facts=facts(CALL_OK)),
    no(
        "hours/thu-09:59-refused-until-10:00",
        "2026-11-19T09:59:00+01:00",
        (HOURS,),
        "2026-11-19T10:00:00+01:00",
        facts=facts(CALL_OK),
    ),
    ok("hours/thu-12:59-allowed", "2026-11-19T12:59:00+01:00", facts=facts(CALL_OK)),
    no(
        "hours/thu-13:00-lunch-refused-until-14:00",
        "2026-11-19T13:00:00+01:00",
        (HOURS,),
        "2026-11-19T14:00:00+01:00",
        facts=facts(CALL_OK),
        untils={HOURS: "2026-11-19T14:00:00+01:00"},
    ),
    no(
        "hours/thu-13:59:59-lunch",
        "2026-11-19T13:59:59+01:00",
        (HOURS,),
        "2026-11-19T14:00:00+01:00",
        facts=facts(CALL_OK),
    ),
    ok("hours/thu-14:00-allowed", "2026-11-19T14:00:00+01:00", facts=facts(CALL_OK)),
    ok("hours/thu-19:59-allowed", "2026-11-19T19:59:00+01:00", facts=facts(CALL_OK)),
    no(
        "hours/thu-20:00-refused-until-fri-10:00",
        "2026-11-19T20:00:00+01:00",
        (HOURS,),
        "2026-11-20T10:00:00+01:00",
        facts=facts(CALL_OK),
    ),
    no(
        "hours/design-4.1-fri-21:05-until-mon-10:00",
        "2026-11-20T21:05:00+01:00",
        (HOURS,),
        "2026-11-23T10:00:00+01:00",
        facts=facts(CALL_OK),
        untils={HOURS: "2026-11-23T10:00:00+01:00"},
        local="2026-11-20T21:05:00+01:00",
    ),
    no(
        "hours/sat-11:00-until-mon",
        "2026-11-21T11:00:00+01:00",
        (HOURS,),
        "2026-11-23T10:00:00+01:00",
        facts=facts(CALL_OK),
    ),
    no(
        "hours/sun-15:00-until-mon",
        "2026-11-22T15:00:00+01:00",
        (HOURS,),
        "2026-11-23T10:00:00+01:00",
        facts=facts(CALL_OK),
    ),
    no(
        "hours/mon-00:00-until-10:00",
        "2026-11-23T00:00:00+01:00",
        (HOURS,),
        "2026-11-23T10:00:00+01:00",
        facts=facts(CALL_OK),
    ),
    no(
        "hours/utc-12:00-is-13:00-paris",
        "2026-11-19T12:00:00+00:00",
        (HOURS,),
        "2026-11-19T14:00:00+01:00",
        facts=facts(CALL_OK),
        local="2026-11-19T13:00:00+01:00",
    ),
    no(
        "hours/dst-end-fri-20:30-cest-until-mon-10:00-cet",
        "2026-10-23T20:30:00+02:00",
        (HOURS,),
        "2026-10-26T10:00:00+01:00",
        facts=facts(CALL_OK),
    ),
    no(
        "hours/dst-start-fri-20:30-cet-until-mon-10:00-cest",
        "2026-03-27T20:30:00+01:00",
        (HOURS,),
        "2026-03-30T10:00:00+02:00",
        facts=facts(bloctel("2026-03-20T09:00:00+01:00")),
    ),
    # Friday 26 Mar 2027 is Good Friday, the clocks change on Sunday, Monday is Easter Monday
    no(
        "hours/good-friday-2027-20:30-dst-easter-monday-until-tue",
        "2027-03-26T20:30:00+01:00",
        (HOURS, HOLIDAY),
        "2027-03-30T10:00:00+02:00",
        facts=facts(CALL_OK),
        untils={HOURS: "2027-03-29T10:00:00+02:00", HOLIDAY: "2027-03-27T00:00:00+01:00"},
    ),
    no(
        "hours/automated-call-sat-until-mon",
        "2026-11-21T11:00:00+01:00",
        (HOURS,),
        "2026-11-23T10:00:00+01:00",
        channel=Channel.AUTOMATED_CALL,
        facts=facts(consent("2026-09-01T10:00:00+02:00", Channel.AUTOMATED_CALL)),
    ),
    ok(
        "hours/professional-call-sat-no-consent-allowed",
        "2026-11-21T11:00:00+01:00",
        audience=Audience.PROFESSIONAL,
    ),
    ok(
        "hours/sms-sun-23:00-no-legal-hours",
        "2026-11-22T23:00:00+01:00",
        channel=Channel.SMS,
        facts=facts(consent("2026-09-01T10:00:00+02:00", Channel.SMS)),
    ),
    ok(
        "hours/before-decree-2022-1313-sat-allowed",
        "2023-02-25T11:00:00+01:00",
        facts=facts(bloctel("2023-02-20T09:00:00+01:00")),
    ),
    no(
        "hours/decree-2022-1313-sat-4-mar-2023-until-mon",
        "2023-03-04T11:00:00+01:00",
        (HOURS,),
        "2023-03-06T10:00:00+01:00",
        facts=facts(bloctel("2023-02-27T09:00:00+01:00")),
    ),
]

# ---------------------------------------------------------------------------------------------
# public holidays (Code du travail L3133-1, and each territory's own days)
# ---------------------------------------------------------------------------------------------
HOLIDAY_CASES = [
    no(
        "holiday/11-nov-2026-wed-until-thu-10:00",
        "2026-11-11T11:00:00+01:00",
        (HOLIDAY,),
        "2026-11-12T10:00:00+01:00",
        facts=facts(CALL_OK),
        untils={HOLIDAY: "2026-11-12T00:00:00+01:00"},
    ),
    no(
        "holiday/christmas-fri-2026-until-mon-28-dec",
        "2026-12-25T11:00:00+01:00",
        (HOLIDAY,),
        "2026-12-28T10:00:00+01:00",
        facts=facts(CALL_OK),
        untils={HOLIDAY: "2026-12-27T00:00:00+01:00"},
    ),  # Sat 26 Dec: Alsace-Moselle day
    no(
        "holiday/christmas-without-alsace-moselle",
        "2026-12-25T11:00:00+01:00",
        (HOLIDAY,),
        "2026-12-28T10:00:00+01:00",
        facts=facts(CALL_OK),
        params=Params(alsace_moselle_everywhere=False),
        untils={HOLIDAY: "2026-12-26T00:00:00+01:00"},
    ),
    no(
        "holiday/christmas-eve-20:30-until-mon-28-dec",
        "2026-12-24T20:30:00+01:00",
        (HOURS,),
        "2026-12-28T10:00:00+01:00",
        facts=facts(CALL_OK),
        untils={HOURS: "2026-12-25T10:00:00+01:00"},
    ),
    no(
        "holiday/whit-monday-25-may-2026",
        "2026-05-25T11:00:00+02:00",
        (HOLIDAY,),
        "2026-05-26T10:00:00+02:00",
        facts=facts(CLEAN_MAY_2026),
    ),
    no(
        "holiday/ascension-14-may-2026",
        "2026-05-14T11:00:00+02:00",
        (HOLIDAY,),
        "2026-05-15T10:00:00+02:00",
        facts=facts(CLEAN_MAY_2026),
    ),
    no(
        "holiday/good-friday-2026-mainland-default-until-tue-after-easter-monday",
        "2026-04-03T11:00:00+02:00",
        (HOLIDAY,),
        "2026-04-07T10:00:00+02:00",
        facts=facts(CLEAN_APR_2026),
        untils={HOLIDAY: "2026-04-04T00:00:00+02:00"},
    ),
    ok(
        "holiday/good-friday-2026-alsace-moselle-setting-off",
        "2026-04-03T11:00:00+02:00",
        facts=facts(CLEAN_APR_2026),
        params=Params(alsace_moselle_everywhere=False),
    ),
    no(
        "holiday/st-stephen-fri-26-dec-2025-default",
        "2025-12-26T11:00:00+01:00",
        (HOLIDAY,),
        "2025-12-29T10:00:00+01:00",
        facts=facts(CLEAN_DEC_2025),
    ),
    ok(
        "holiday/st-stephen-26-dec-2025-alsace-moselle-setting-off",
        "2025-12-26T11:00:00+01:00",
        facts=facts(CLEAN_DEC_2025),
        params=Params(alsace_moselle_everywhere=False),
    ),
    no(
        "holiday/14-july-2026",
        "2026-07-14T11:00:00+02:00",
        (HOLIDAY,),
        "2026-07-15T10:00:00+02:00",
        facts=facts(CLEAN_JUL_2026),
    ),
    no(
        "holiday/1-may-2026-fri-until-mon-4-may",
        "2026-05-01T11:00:00+02:00",
        (HOLIDAY,),
        "2026-05-04T10:00:00+02:00",
        facts=facts(bloctel("2026-04-20T09:00:00+02:00")),
    ),
    # overseas abolition days (calendar module / holidays package)
    no(
        "holiday/reunion-20-dec-2026-sunday",
        "2026-12-20T11:00:00+04:00",
        (HOURS, HOLIDAY),
        "2026-12-21T10:00:00+04:00",
        contact=RE,
        facts=facts(CALL_OK),
        untils={HOURS: "2026-12-21T10:00:00+04:00", HOLIDAY: "2026-12-21T00:00:00+04:00"},
    ),
    no(
        "holiday/reunion-20-dec-2027-monday",
        "2027-12-20T11:00:00+04:00",
        (HOLIDAY,),
        "2027-12-21T10:00:00+04:00",
        contact=RE,
        facts=facts(consent("2027-06-01T10:00:00+04:00")),
    ),
    ok(
        "holiday/metropole-not-on-reunion-day-20-dec-2027",
        "2027-12-20T11:00:00+01:00",
        facts=facts(consent("2027-06-01T10:00:00+02:00")),
    ),
    no(
        "holiday/martinique-22-may-2026-fri-then-whit-monday",
        "2026-05-22T11:00:00-04:00",
        (HOLIDAY,),
        "2026-05-26T10:00:00-04:00",
        contact=MQ,
        facts=facts(CLEAN_MAY_2026),
        untils={HOLIDAY: "2026-05-23T00:00:00-04:00"},
    ),
    ok(
        "holiday/metropole-not-on-martinique-day-22-may-2026",
        "2026-05-22T11:00:00+02:00",
        facts=facts(CLEAN_MAY_2026),
    ),
    no(
        "holiday/guadeloupe-27-may-2026",
        "2026-05-27T11:00:00-04:00",
        (HOLIDAY,),
        "2026-05-28T10:00:00-04:00",
        contact=GP,
        facts=facts(CLEAN_MAY_2026),
    ),
    no(
        "holiday/guyane-10-jun-2026",
        "2026-06-10T11:00:00-03:00",
        (HOLIDAY,),
        "2026-06-11T10:00:00-03:00",
        contact=GF,
        facts=facts(CLEAN_JUN_2026),
    ),
    no(
        "holiday/mayotte-27-apr-2026",
        "2026-04-27T11:00:00+03:00",
        (HOLIDAY,),
        "2026-04-28T10:00:00+03:00",
        contact=YT,
        facts=facts(bloctel("2026-04-20T09:00:00+02:00")),
    ),
    ok(
        "holiday/reunion-not-on-mayotte-day-27-apr-2026",
        "2026-04-27T11:00:00+04:00",
        contact=RE,
        facts=facts(bloctel("2026-04-20T09:00:00+02:00")),
    ),
]

# ---------------------------------------------------------------------------------------------
# overseas numbers checked from a Paris office (Thursday 19 November 2026, Paris UTC+1)
# ---------------------------------------------------------------------------------------------
OVERSEAS_CASES = [
    no(
        "overseas/reunion-paris-18:30-is-21:30-until-fri-10:00-local",
        "2026-11-19T18:30:00+01:00",
        (HOURS,),
        "2026-11-20T10:00:00+04:00",
        contact=RE,
        facts=facts(CALL_OK),
        local="2026-11-19T21:30:00+04:00",
    ),
    ok(
        "overseas/reunion-paris-09:30-is-12:30-allowed",
        "2026-11-19T09:30:00+01:00",
        next="2026-11-19T12:30:00+04:00",
        contact=RE,
        facts=facts(CALL_OK),
    ),
    no(
        "overseas/reunion-fri-paris-17:30-is-20:30-until-mon",
        "2026-11-20T17:30:00+01:00",
        (HOURS,),
        "2026-11-23T10:00:00+04:00",
        contact=RE,
        facts=facts(CALL_OK),
    ),
    no(
        "overseas/martinique-paris-10:30-is-05:30-until-10:00-local",
        "2026-11-19T10:30:00+01:00",
        (HOURS,),
        "2026-11-19T10:00:00-04:00",
        contact=MQ,
        facts=facts(CALL_OK),
        local="2026-11-19T05:30:00-04:00",
    ),
    no(
        "overseas/martinique-paris-fri-01:30-is-thu-20:30",
        "2026-11-20T01:30:00+01:00",
        (HOURS,),
        "2026-11-20T10:00:00-04:00",
        contact=MQ,
        facts=facts(CALL_OK),
    ),
    ok(
        "overseas/martinique-paris-sat-00:30-is-fri-19:30-allowed",
        "2026-11-21T00:30:00+01:00",
        next="2026-11-20T19:30:00-04:00",
        contact=MQ,
        facts=facts(CALL_OK),
    ),
    ok(
        "overseas/guadeloupe-paris-15:30-is-10:30-allowed",
        "2026-11-19T15:30:00+01:00",
        next="2026-11-19T10:30:00-04:00",
        contact=GP,
        facts=facts(CALL_OK),
    ),
    no(
        "overseas/guadeloupe-paris-14:30-is-09:30",
        "2026-11-19T14:30:00+01:00",
        (HOURS,),
        "2026-11-19T10:00:00-04:00",
        contact=GP,
        facts=facts(CALL_OK),
    ),
    no(
        "overseas/guyane-paris-13:30-is-09:30-until-10:00-local",
        "2026-11-19T13:30:00+01:00",
        (HOURS,),
        "2026-11-19T10:00:00-03:00",
        contact=GF,
        facts=facts(CALL_OK),
    ),
    no(
        "overseas/mayotte-paris-11:30-is-13:30-lunch",
        "2026-11-19T11:30:00+01:00",
        (HOURS,),
        "2026-11-19T14:00:00+03:00",
        contact=YT,
        facts=facts(CALL_OK),
    ),
    ok(
        "overseas/mayotte-paris-12:30-is-14:30-allowed",
        "2026-11-19T12:30:00+01:00",
        next="2026-11-19T14:30:00+03:00",
        contact=YT,
        facts=facts(CALL_OK),
    ),
]

# ---------------------------------------------------------------------------------------------
# legal cap: 4 calls or attempts per 30 days per company, every call centre counted (D223-9)
# ---------------------------------------------------------------------------------------------
FOUR_RECENT = (
    "2026-11-05T11:00:00+01:00",
    "2026-11-12T11:00:00+01:00",
    "2026-11-17T11:00:00+01:00",
)
CAP_CASES = [
    no(
        "cap/5th-call-4-processors-until-oldest+30d",
        "2026-11-19T11:00:00+01:00",
        (CAP,),
        "2026-11-25T10:30:00+01:00",
        facts=facts(
            CALL_OK,
            calls(
                "2026-10-26T10:30:00+01:00",
                "2026-11-02T15:00:00+01:00",
                "2026-11-09T11:00:00+01:00",
                "2026-11-16T16:00:00+01:00",
            ),
        ),
        untils={CAP: "2026-11-25T10:30:00+01:00"},
    ),
    no(
        "cap/oldest+30d-is-sunday-evening-until-mon-10:00",
        "2026-11-19T11:00:00+01:00",
        (CAP,),
        "2026-11-30T10:00:00+01:00",
        facts=facts(CALL_OK, calls("2026-10-30T19:30:00+01:00", *FOUR_RECENT)),
        untils={CAP: "2026-11-29T19:30:00+01:00"},
    ),
    no(
        "cap/oldest+30d-one-minute-later",
        "2026-11-19T11:00:00+01:00",
        (CAP,),
        "2026-11-19T11:01:00+01:00",
        facts=facts(CALL_OK, calls("2026-10-20T12:01:00+02:00", *FOUR_RECENT)),
    ),
    ok(
        "cap/oldest-exactly-30-days-ago-allowed",
        "2026-11-19T11:00:00+01:00",
        facts=facts(CALL_OK, calls("2026-10-20T12:00:00+02:00", *FOUR_RECENT)),
    ),
    ok(
        "cap/oldest-31-days-ago-allowed",
        "2026-11-19T11:00:00+01:00",
        facts=facts(CALL_OK, calls("2026-10-19T11:00:00+02:00", *FOUR_RECENT)),
    ),
    no(
        "cap/5-counted-frees-when-2nd-oldest-leaves",
        "2026-11-19T11:00:00+01:00",
        (CAP,),
        "2026-11-26T11:00:00+01:00",
        facts=facts(
            CALL_OK, calls("2026-10-22T11:00:00+02:00", "2026-10-27T11:00:00+01:00", *FOUR_RECENT)
        ),
    ),
    ok(
        "cap/sms-attempts-do-not-count",
        "2026-11-19T11:00:00+01:00",
        facts=facts(CALL_OK, calls("2026-11-02T11:00:00+01:00", *FOUR_RECENT, channel=Channel.SMS)),
    ),
    no(
        "cap/automated-calls-count",
        "2026-11-19T11:00:00+01:00",
        (CAP,),
        "2026-12-02T11:00:00+01:00",
        facts=facts(
            CALL_OK,
            calls("2026-11-02T11:00:00+01:00", "2026-11-05T11:00:00+01:00"),
            calls(
                "2026-11-12T11:00:00+01:00",
                "2026-11-17T11:00:00+01:00",
                channel=Channel.AUTOMATED_CALL,
            ),
        ),
    ),
    ok(
        "cap/attempt-after-at-not-counted",
        "2026-11-19T11:00:00+01:00",
        facts=facts(CALL_OK, calls("2026-11-19T11:30:00+01:00", *FOUR_RECENT)),
    ),
    no(
        "cap/before-switch-with-bloctel",
        "2026-06-18T11:00:00+02:00",
        (CAP,),
        "2026-06-25T10:30:00+02:00",
        facts=facts(
            bloctel("2026-06-15T09:00:00+02:00"),
            calls(
                "2026-05-26T10:30:00+02:00",
                "2026-06-02T11:00:00+02:00",
                "2026-06-09T11:00:00+02:00",
                "2026-06-16T11:00:00+02:00",
            ),
        ),
    ),
    ok(
        "cap/professional-not-capped",
        "2026-11-19T11:00:00+01:00",
        audience=Audience.PROFESSIONAL,
        facts=facts(calls("2026-11-02T11:00:00+01:00", *FOUR_RECENT)),
    ),
]

# ---------------------------------------------------------------------------------------------
# refusal during a call: 60 full days before 11 Aug 2026, permanent from then on
# Refusal on Friday 16 Jan 2026 (day D): day 59 = Mon 16 Mar, 60 = Tue 17 Mar, 61 = Wed 18 Mar
# ---------------------------------------------------------------------------------------------
REFUSED_JAN = refusal("2026-01-16T15:00:00+01:00")
REFUSAL_CASES = [
    no(
        "refusal/day-3-cooldown-and-bloctel-file-expires-first",
        "2026-01-19T11:00:00+01:00",
        (COOLDOWN,),
        None,
        facts=facts(REFUSED_JAN, bloctel("2026-01-14T09:00:00+01:00")),
        untils={COOLDOWN: "2026-03-18T00:00:00+01:00"},
    ),
    no(
        "refusal/day-59-cooldown",
        "2026-03-16T11:00:00+01:00",
        (COOLDOWN,),
        "2026-03-18T10:00:00+01:00",
        facts=facts(REFUSED_JAN, CLEAN_MAR_2026),
        untils={COOLDOWN: "2026-03-18T00:00:00+01:00"},
    ),
    no(
        "refusal/day-60-still-cooldown",
        "2026-03-17T11:00:00+01:00",
        (COOLDOWN,),
        "2026-03-18T10:00:00+01:00",
        facts=facts(REFUSED_JAN, CLEAN_MAR_2026),
    ),
    no(
        "refusal/day-60-23:59",
        "2026-03-17T23:59:00+01:00",
        (HOURS, COOLDOWN),
        "2026-03-18T10:00:00+01:00",
        facts=facts(REFUSED_JAN, CLEAN_MAR_2026),
    ),
    ok(
        "refusal/day-61-10:00-allowed",
        "2026-03-18T10:00:00+01:00",
        facts=facts(REFUSED_JAN, CLEAN_MAR_2026),
    ),
    no(
        "refusal/reunion-counts-local-days",
        "2026-03-18T11:00:00+04:00",
        (COOLDOWN,),
        "2026-03-19T10:00:00+04:00",
        contact=RE,
        # 22:30 in Paris on Fri 16 Jan is 01:30 on Sat 17 Jan in Réunion: day D is 17 Jan
        facts=facts(refusal("2026-01-16T22:30:00+01:00"), CLEAN_MAR_2026),
        untils={COOLDOWN: "2026-03-19T00:00:00+04:00"},
    ),
    no(
        "refusal/before-switch-still-cools-after-switch",
        "2026-10-05T11:00:00+02:00",
        (COOLDOWN,),
        "2026-10-07T10:00:00+02:00",
        facts=facts(refusal("2026-08-07T15:00:00+02:00"), CALL_OK),
    ),
    no(
        "refusal/10-aug-23:30-cooldown-ends-sat-10-oct",
        "2026-08-24T11:00:00+02:00",
        (COOLDOWN,),
        "2026-10-12T10:00:00+02:00",
        facts=facts(refusal("2026-08-10T23:30:00+02:00"), CALL_OK),
        untils={COOLDOWN: "2026-10-10T00:00:00+02:00"},
    ),
    no(
        "refusal/11-aug-00:30-permanent",
        "2026-08-24T11:00:00+02:00",
        (OBJECTION,),
        None,
        facts=facts(refusal("2026-08-11T00:30:00+02:00"), CALL_OK),
        untils={OBJECTION: None},
    ),
    no(
        "refusal/after-switch-permanent-months-later",
        "2026-11-19T11:00:00+01:00",
        (OBJECTION,),
        None,
        facts=facts(refusal("2026-09-01T15:00:00+02:00"), CALL_OK),
    ),
    ok(
        "refusal/recorded-after-at-ignored",
        "2026-11-19T11:00:00+01:00",
        facts=facts(refusal("2026-11-19T11:05:00+01:00"), CALL_OK),
    ),
    ok(
        "refusal/call-refusal-does-not-block-sms",
        "2026-01-20T11:00:00+01:00",
        channel=Channel.SMS,
        facts=facts(REFUSED_JAN, consent("2025-06-01T10:00:00+02:00", Channel.SMS)),
    ),
]

# ---------------------------------------------------------------------------------------------
# both sides of 11 Aug 2026: Bloctel, then prior consent (loi 2025-594 art. 13)
# ---------------------------------------------------------------------------------------------
MON_10_AUG = "2026-08-10T11:00:00+02:00"
TUE_11_AUG = "2026-08-11T11:00:00+02:00"
SWITCH_CASES = [
    no(
        "bloctel/10-aug-no-snapshot-stale",
        MON_10_AUG,
        (STALE,),
        None,
        untils={STALE: "2026-08-11T00:00:00+02:00"},
    ),
    no(
        "bloctel/10-aug-listed",
        MON_10_AUG,
        (LISTED,),
        None,
        facts=facts(bloctel("2026-08-01T09:00:00+02:00", listed=True)),
        untils={LISTED: "2026-08-11T00:00:00+02:00"},
    ),
    ok("bloctel/10-aug-valid-unlisted-allowed", MON_10_AUG, facts=facts(CLEAN_AUG_2026)),
    no(
        "bloctel/10-aug-file-older-than-30-days-stale",
        MON_10_AUG,
        (STALE,),
        None,
        facts=facts(bloctel("2026-07-10T09:00:00+02:00")),
    ),
    no(
        "bloctel/newest-file-wins",
        MON_10_AUG,
        (LISTED,),
        None,
        facts=facts(
            bloctel("2026-07-20T09:00:00+02:00"), bloctel("2026-08-05T09:00:00+02:00", listed=True)
        ),
    ),
    no(
        "bloctel/file-dated-after-at-ignored",
        MON_10_AUG,
        (STALE,),
        None,
        facts=facts(bloctel("2026-08-10T12:00:00+02:00")),
    ),
    no(
        "bloctel/other-list-does-not-count",
        MON_10_AUG,
        (STALE,),
        None,
        facts=facts(bloctel("2026-08-01T09:00:00+02:00", name="us-dnc")),
    ),
    ok(
        "bloctel/current-contract-exempt",
        MON_10_AUG,
        facts=facts(contract("2025-01-01T00:00:00+01:00")),
    ),
    ok("bloctel/professional-exempt", MON_10_AUG, audience=Audience.PROFESSIONAL),
    ok(
        "bloctel/sms-not-concerned",
        MON_10_AUG,
        channel=Channel.SMS,
        facts=facts(consent("2026-06-01T10:00:00+02:00", Channel.SMS)),
    ),
    no(
        "bloctel/10-aug-listed-with-consent-callable-11-aug-10:00",
        MON_10_AUG,
        (LISTED,),
        "2026-08-11T10:00:00+02:00",
        facts=facts(
            bloctel("2026-08-01T09:00:00+02:00", listed=True), consent("2026-07-01T10:00:00+02:00")
        ),
    ),
    no(
        "switch/10-aug-23:59-no-file-with-consent",
        "2026-08-10T23:59:00+02:00",
        (STALE, HOURS),
        "2026-08-11T10:00:00+02:00",
        facts=facts(consent("2026-07-01T10:00:00+02:00")),
    ),
    no("switch/11-aug-no-consent", TUE_11_AUG, (NO_CONSENT,), None, untils={NO_CONSENT: None}),
    ok(
        "switch/11-aug-consent-allowed",
        TUE_11_AUG,
        facts=facts(consent("2026-07-01T10:00:00+02:00")),
    ),
    ok(
        "switch/11-aug-listed-on-bloctel-with-consent-allowed",
        TUE_11_AUG,
        facts=facts(
            consent("2026-07-01T10:00:00+02:00"), bloctel("2026-08-01T09:00:00+02:00", listed=True)
        ),
    ),
    no(
        "switch/reunion-01:30-11-aug-is-still-10-aug-in-paris",
        "2026-08-11T01:30:00+04:00",
        (STALE, HOURS),
        None,
        contact=RE,
    ),
]

# ---------------------------------------------------------------------------------------------
# consent to phone prospecting (from 11 Aug 2026), at most 365 days old; contracts
# ---------------------------------------------------------------------------------------------
THU = "2026-11-19T11:00:00+01:00"
CONSENT_CASES = [
    ok("consent/364-days-old-allowed", THU, facts=facts(consent("2025-11-20T11:00:00+01:00"))),
    ok("consent/365-days-exactly-allowed", THU, facts=facts(consent("2025-11-19T11:00:00+01:00"))),
    no(
        "consent/366-days-old-expired",
        THU,
        (EXPIRED,),
        None,
        facts=facts(consent("2025-11-18T11:00:00+01:00")),
        untils={EXPIRED: None},
    ),
    no(
        "consent/valid-saturday-expired-by-monday",
        "2026-11-21T11:00:00+01:00",
        (HOURS,),
        None,
        facts=facts(consent("2025-11-22T10:00:00+01:00")),
    ),
    ok(
        "consent/max-age-setting-730-days",
        THU,
        params=Params(consent_max_age_days=730),
        facts=facts(consent("2025-11-18T11:00:00+01:00")),
    ),
    no(
        "consent/explicit-expiry-passed",
        THU,
        (EXPIRED,),
        None,
        facts=facts(consent("2026-09-01T10:00:00+02:00", expires="2026-11-01T00:00:00+01:00")),
    ),
    no(
        "consent/explicit-expiry-at-the-instant",
        THU,
        (EXPIRED,),
        None,
        facts=facts(consent("2026-09-01T10:00:00+02:00", expires=THU)),
    ),
    no(
        "consent/withdrawn",
        THU,
        (NO_CONSENT,),
        None,
        facts=facts(consent("2026-09-01T10:00:00+02:00", withdrawn="2026-10-01T10:00:00+02:00")),
    ),
    ok(
        "consent/withdrawn-after-at-allowed",
        THU,
        facts=facts(consent("2026-09-01T10:00:00+02:00", withdrawn="2026-12-01T10:00:00+01:00")),
    ),
    no(
        "consent/sms-consent-does-not-cover-call",
        THU,
        (NO_CONSENT,),
        None,
        facts=facts(consent("2026-09-01T10:00:00+02:00", Channel.SMS)),
    ),
    no(
        "consent/other-purpose-does-not-cover-prospecting",
        THU,
        (NO_CONSENT,),
        None,
        facts=facts(consent("2026-09-01T10:00:00+02:00", purpose="insurance")),
    ),
    no(
        "consent/given-after-at",
        THU,
        (NO_CONSENT,),
        None,
        facts=facts(consent("2026-11-19T11:30:00+01:00")),
    ),
    ok(
        "consent/expired-one-and-fresh-one-allowed",
        THU,
        facts=facts(consent("2025-01-10T10:00:00+01:00"), consent("2026-10-01T10:00:00+02:00")),
    ),
    ok(
        "contract/current-no-consent-allowed",
        THU,
        facts=facts(contract("2025-01-01T00:00:00+01:00")),
    ),
    no(
        "contract/ended-no-consent",
        THU,
        (NO_CONSENT,),
        None,
        facts=facts(contract("2024-01-01T00:00:00+01:00", "2026-06-30T00:00:00+02:00")),
    ),
    no(
        "contract/starts-after-at",
        THU,
        (NO_CONSENT,),
        None,
        facts=facts(contract("2026-12-01T00:00:00+01:00")),
    ),
    no(
        "contract/ends-before-next-window",
        "2026-11-21T11:00:00+01:00",
        (HOURS,),
        None,
        facts=facts(contract("2025-01-01T00:00:00+01:00", "2026-11-23T00:00:00+01:00")),
    ),
]

# ---------------------------------------------------------------------------------------------
# electronic channels and post (L34-5 CPCE): B2C opt-in, B2B opt-out, existing customers
# ---------------------------------------------------------------------------------------------
ELECTRONIC_CASES = [
    no("email/consumer-no-consent", THU, (NO_CONSENT,), None, contact=EMAIL, channel=Channel.EMAIL),
    ok(
        "email/consumer-opt-in-allowed",
        THU,
        contact=EMAIL,
        channel=Channel.EMAIL,
        facts=facts(consent("2024-03-01T10:00:00+01:00", Channel.EMAIL)),
    ),
    ok(
        "email/professional-no-consent-allowed",
        THU,
        contact=PRO_EMAIL,
        channel=Channel.EMAIL,
        audience=Audience.PROFESSIONAL,
    ),
    no(
        "email/professional-objection",
        THU,
        (OBJECTION,),
        None,
        contact=PRO_EMAIL,
        channel=Channel.EMAIL,
        audience=Audience.PROFESSIONAL,
        facts=facts(objection("2026-10-01T10:00:00+02:00", Channel.EMAIL)),
    ),
    ok(
        "email/consumer-existing-customer-allowed",
        THU,
        contact=EMAIL,
        channel=Channel.EMAIL,
        facts=facts(contract("2025-01-01T00:00:00+01:00")),
    ),
    ok(
        "email/customer-ended-2-years-ago-allowed",
        THU,
        contact=EMAIL,
        channel=Channel.EMAIL,
        facts=facts(contract("2020-01-01T00:00:00+01:00", "2024-11-19T00:00:00+01:00")),
    ),
    no(
        "email/customer-ended-4-years-ago",
        THU,
        (NO_CONSENT,),
        None,
        contact=EMAIL,
        channel=Channel.EMAIL,
        facts=facts(contract("2020-01-01T00:00:00+01:00", "2022-11-01T00:00:00+01:00")),
    ),
    ok(
        "email/sunday-03:00-no-legal-hours",
        "2026-11-22T03:00:00+01:00",
        contact=EMAIL,
        channel=Channel.EMAIL,
        facts=facts(consent("2024-03-01T10:00:00+01:00", Channel.EMAIL)),
    ),
    no("sms/consumer-no-opt-in", THU, (NO_CONSENT,), None, channel=Channel.SMS),
    ok(
        "sms/opt-in-allowed",
        THU,
        channel=Channel.SMS,
        facts=facts(consent("2024-03-01T10:00:00+01:00", Channel.SMS)),
    ),
    no(
        "sms/STOP-objection-beats-opt-in",
        THU,
        (OBJECTION,),
        None,
        channel=Channel.SMS,
        facts=facts(
            consent("2024-03-01T10:00:00+01:00", Channel.SMS),
            objection("2026-11-02T10:00:00+01:00", Channel.SMS),
        ),
    ),
    no(
        "sms/call-consent-does-not-cover-sms",
        THU,
        (NO_CONSENT,),
        None,
        channel=Channel.SMS,
        facts=facts(CALL_OK),
    ),
    no(
        "automated-call/live-call-consent-not-enough",
        THU,
        (NO_CONSENT,),
        None,
        channel=Channel.AUTOMATED_CALL,
        facts=facts(CALL_OK),
    ),
    no(
        "automated-call/needs-opt-in-before-switch-too",
        "2026-05-20T11:00:00+02:00",
        (NO_CONSENT,),
        None,
        channel=Channel.AUTOMATED_CALL,
    ),
    no("messaging/no-consent", THU, (NO_CONSENT,), None, channel=Channel.MESSAGING),
    no("fax/consumer-no-consent", THU, (NO_CONSENT,), None, channel=Channel.FAX),
    ok(
        "post/consumer-no-consent-sunday-allowed", "2026-11-22T15:00:00+01:00", channel=Channel.POST
    ),
    no(
        "post/objection-all-channels",
        THU,
        (OBJECTION,),
        None,
        channel=Channel.POST,
        facts=facts(objection("2026-10-01T10:00:00+02:00")),
    ),
]

# ---------------------------------------------------------------------------------------------
# sector bans: consent does not help, a current contract does
# ---------------------------------------------------------------------------------------------
SECTOR_CASES = [
    no(
        "sector/renovation-call-2026-with-consent",
        THU,
        (BAN,),
        None,
        sector=Sector.ENERGY_RENOVATION,
        facts=facts(CALL_OK),
        untils={BAN: None},
    ),
    no(
        "sector/renovation-call-no-consent",
        THU,
        (NO_CONSENT, BAN),
        None,
        sector=Sector.ENERGY_RENOVATION,
    ),
    no(
        "sector/renovation-sms-2-jul-2025",
        "2025-07-02T11:00:00+02:00",
        (BAN,),
        None,
        channel=Channel.SMS,
        sector=Sector.ENERGY_RENOVATION,
        facts=facts(consent("2025-01-10T10:00:00+01:00", Channel.SMS)),
    ),
    ok(
        "sector/renovation-sms-1-jul-2025-not-yet-banned",
        "2025-07-01T11:00:00+02:00",
        channel=Channel.SMS,
        sector=Sector.ENERGY_RENOVATION,
        facts=facts(consent("2025-01-10T10:00:00+01:00", Channel.SMS)),
    ),
    no(
        "sector/renovation-call-1-jul-2025-banned-since-2020",
        "2025-07-01T11:00:00+02:00",
        (BAN,),
        None,
        sector=Sector.ENERGY_RENOVATION,
        facts=facts(bloctel("2025-06-20T09:00:00+02:00")),
    ),
    ok(
        "sector/renovation-call-sat-25-jul-2020-before-loi-2020-901",
        "2020-07-25T11:00:00+02:00",
        sector=Sector.ENERGY_RENOVATION,
        facts=facts(bloctel("2020-07-20T09:00:00+02:00")),
    ),
    no(
        "sector/renovation-call-sun-26-jul-2020-loi-2020-901",
        "2020-07-26T11:00:00+02:00",
        (BAN,),
        None,
        sector=Sector.ENERGY_RENOVATION,
        facts=facts(bloctel("2020-07-20T09:00:00+02:00")),
    ),
    ok(
        "sector/home-adaptation-call-30-jun-2025-not-yet-banned",
        "2025-06-30T11:00:00+02:00",
        sector=Sector.HOME_ADAPTATION,
        facts=facts(bloctel("2025-06-20T09:00:00+02:00")),
    ),
    no(
        "sector/home-adaptation-email-2026",
        THU,
        (BAN,),
        None,
        contact=EMAIL,
        channel=Channel.EMAIL,
        sector=Sector.HOME_ADAPTATION,
        facts=facts(consent("2025-01-10T10:00:00+01:00", Channel.EMAIL)),
    ),
    no(
        "sector/cpf-email-with-consent",
        THU,
        (BAN,),
        None,
        contact=EMAIL,
        channel=Channel.EMAIL,
        sector=Sector.CPF_TRAINING,
        facts=facts(consent("2025-01-10T10:00:00+01:00", Channel.EMAIL)),
    ),
    no("sector/cpf-post", THU, (BAN,), None, channel=Channel.POST, sector=Sector.CPF_TRAINING),
    ok(
        "sector/renovation-call-current-contract-allowed",
        THU,
        sector=Sector.ENERGY_RENOVATION,
        facts=facts(contract("2025-01-01T00:00:00+01:00")),
    ),
    ok(
        "sector/cpf-email-current-contract-allowed",
        THU,
        contact=EMAIL,
        channel=Channel.EMAIL,
        sector=Sector.CPF_TRAINING,
        facts=facts(contract("2025-01-01T00:00:00+01:00")),
    ),
    ok(
        "sector/renovation-post-allowed", THU, channel=Channel.POST, sector=Sector.ENERGY_RENOVATION
    ),
    ok(
        "sector/renovation-professional-allowed",
        THU,
        audience=Audience.PROFESSIONAL,
        sector=Sector.ENERGY_RENOVATION,
    ),
]

# ---------------------------------------------------------------------------------------------
# objections: channel or all, purpose or all, from their own instant on
# ---------------------------------------------------------------------------------------------
OBJECTION_CASES = [
    ok(
        "objection/sms-only-call-allowed",
        THU,
        facts=facts(CALL_OK, objection("2026-10-01T10:00:00+02:00", Channel.SMS)),
    ),
    no(
        "objection/all-channels-refuses-call",
        THU,
        (OBJECTION,),
        None,
        facts=facts(CALL_OK, objection("2026-10-01T10:00:00+02:00")),
    ),
    no(
        "objection/call-prospecting",
        THU,
        (OBJECTION,),
        None,
        facts=facts(CALL_OK, objection("2026-10-01T10:00:00+02:00", Channel.CALL, DEFAULT_PURPOSE)),
    ),
    ok(
        "objection/other-purpose-allowed",
        THU,
        facts=facts(CALL_OK, objection("2026-10-01T10:00:00+02:00", ALL, "insurance")),
    ),
    no(
        "objection/all-purposes-refuses-email",
        THU,
        (OBJECTION,),
        None,
        contact=EMAIL,
        channel=Channel.EMAIL,
        facts=facts(
            consent("2025-01-10T10:00:00+01:00", Channel.EMAIL),
            objection("2026-10-01T10:00:00+02:00", Channel.EMAIL, ALL),
        ),
    ),
    ok(
        "objection/recorded-after-at-allowed",
        THU,
        facts=facts(CALL_OK, objection("2026-11-19T11:00:01+01:00")),
    ),
    no(
        "objection/recorded-after-at-before-next-window",
        "2026-11-21T11:00:00+01:00",
        (HOURS,),
        None,
        facts=facts(CALL_OK, objection("2026-11-22T09:00:00+01:00")),
    ),
    no(
        "objection/beats-consent-and-contract",
        THU,
        (OBJECTION,),
        None,
        facts=facts(
            CALL_OK,
            contract("2025-01-01T00:00:00+01:00"),
            objection("2026-10-01T10:00:00+02:00", Channel.CALL),
        ),
    ),
    no(
        "objection/professional-call",
        THU,
        (OBJECTION,),
        None,
        audience=Audience.PROFESSIONAL,
        facts=facts(objection("2026-10-01T10:00:00+02:00", Channel.CALL)),
    ),
]

# ---------------------------------------------------------------------------------------------
# several reasons at once: every one is listed
# ---------------------------------------------------------------------------------------------
COMBINED_CASES = [
    no(
        "combined/saturday+cap+no-consent",
        "2026-11-21T11:00:00+01:00",
        (NO_CONSENT, HOURS, CAP),
        None,
        facts=facts(calls("2026-11-02T11:00:00+01:00", *FOUR_RECENT)),
    ),
    no(
        "combined/objection+night+holiday",
        "2026-11-11T21:00:00+01:00",
        (OBJECTION, HOURS, HOLIDAY),
        None,
        facts=facts(CALL_OK, objection("2026-10-01T10:00:00+02:00")),
    ),
    no(
        "combined/sunday+cap-frees-thursday",
        "2026-11-22T11:00:00+01:00",
        (HOURS, CAP),
        "2026-11-26T10:30:00+01:00",
        facts=facts(CALL_OK, calls("2026-10-27T10:30:00+01:00", *FOUR_RECENT)),
        untils={HOURS: "2026-11-23T10:00:00+01:00", CAP: "2026-11-26T10:30:00+01:00"},
    ),
    no(
        "combined/processor-unknown+outside-hours",
        "2026-11-19T21:00:00+01:00",
        (PROCESSOR, HOURS),
        None,
        processor="boiler-room",
        facts=facts(CALL_OK),
    ),
    no(
        "combined/cap+policy-cap",
        THU,
        (CAP, POLICY),
        "2026-11-25T10:30:00+01:00",
        facts=facts(CALL_OK, calls("2026-10-26T10:30:00+01:00", *FOUR_RECENT)),
        policy=Policy("acme-2026", (PolicyCap("ACME.calls-7d", frozenset({"call"}), 1, 7),)),
        untils={CAP: "2026-11-25T10:30:00+01:00", POLICY: "2026-11-24T11:00:00+01:00"},
    ),
]

# ---------------------------------------------------------------------------------------------
# the person's own budget, the company's policy caps, processors, invalid contact points
# ---------------------------------------------------------------------------------------------
PRESSURE_CASES = [
    no(
        "budget/1-call-a-year-used-until-attempt+1y",
        THU,
        (BUDGET,),
        "2027-09-15T16:00:00+02:00",
        facts=facts(
            consent("2026-11-01T10:00:00+01:00"),
            budget(Channel.CALL, 1, Period.YEAR, "2026-09-01T10:00:00+02:00"),
            calls("2026-09-15T16:00:00+02:00"),
        ),
        untils={BUDGET: "2027-09-15T16:00:00+02:00"},
    ),
    no(
        "budget/year-ends-on-saturday-until-monday",
        THU,
        (BUDGET,),
        "2027-09-20T10:00:00+02:00",
        facts=facts(
            consent("2026-11-01T10:00:00+01:00"),
            budget(Channel.CALL, 1, Period.YEAR, "2026-09-01T10:00:00+02:00"),
            calls("2026-09-18T19:30:00+02:00"),
        ),
    ),
    no(
        "budget/all-channels-2-a-month",
        THU,
        (BUDGET,),
        "2026-12-07T10:00:00+01:00",
        facts=facts(
            CALL_OK,
            budget(ALL, 2, Period.MONTH, "2026-11-01T10:00:00+01:00"),
            calls("2026-11-05T10:00:00+01:00", channel=Channel.SMS),
            calls("2026-11-10T10:00:00+01:00", channel=Channel.EMAIL),
        ),
        untils={BUDGET: "2026-12-05T10:00:00+01:00"},
    ),
    ok(
        "budget/set-after-at-ignored",
        THU,
        facts=facts(
            CALL_OK,
            budget(Channel.CALL, 1, Period.YEAR, "2026-11-20T10:00:00+01:00"),
            calls("2026-11-05T10:00:00+01:00"),
        ),
    ),
    ok(
        "budget/sms-budget-does-not-limit-calls",
        THU,
        facts=facts(
            CALL_OK,
            budget(Channel.SMS, 1, Period.YEAR, "2026-09-01T10:00:00+02:00"),
            calls("2026-11-05T10:00:00+01:00"),
        ),
    ),
    ok(
        "budget/newer-budget-replaces-older",
        THU,
        facts=facts(
            CALL_OK,
            budget(Channel.CALL, 1, Period.YEAR, "2026-09-01T10:00:00+02:00"),
            budget(Channel.CALL, 3, Period.YEAR, "2026-10-01T10:00:00+02:00"),
            calls("2026-11-05T10:00:00+01:00"),
        ),
    ),
    no(
        "budget/zero-never-frees",
        THU,
        (BUDGET,),
        None,
        facts=facts(CALL_OK, budget(Channel.CALL, 0, Period.YEAR, "2026-09-01T10:00:00+02:00")),
        untils={BUDGET: None},
    ),
    no(
        "budget/email-1-a-week",
        THU,
        (BUDGET,),
        "2026-11-23T09:00:00+01:00",
        contact=EMAIL,
        channel=Channel.EMAIL,
        facts=facts(
            consent("2025-01-10T10:00:00+01:00", Channel.EMAIL),
            budget(Channel.EMAIL, 1, Period.WEEK, "2026-09-01T10:00:00+02:00"),
            calls("2026-11-16T09:00:00+01:00", channel=Channel.EMAIL),
        ),
    ),
    no(
        "policy/2-calls-per-14-days",
        THU,
        (POLICY,),
        "2026-11-23T15:00:00+01:00",
        facts=facts(CALL_OK, calls("2026-11-09T15:00:00+01:00", "2026-11-16T11:00:00+01:00")),
        policy=Policy("acme-2026", (PolicyCap("ACME.calls-14d", frozenset({"call"}), 2, 14),)),
        untils={POLICY: "2026-11-23T15:00:00+01:00"},
    ),
    ok(
        "policy/sms-cap-does-not-limit-calls",
        THU,
        facts=facts(CALL_OK, calls("2026-11-09T15:00:00+01:00", "2026-11-16T11:00:00+01:00")),
        policy=Policy("acme-2026", (PolicyCap("ACME.sms-14d", frozenset({"sms"}), 1, 14),)),
    ),
    no(
        "policy/all-channels-cap-on-email",
        THU,
        (POLICY,),
        "2026-11-20T10:00:00+01:00",
        contact=EMAIL,
        channel=Channel.EMAIL,
        facts=facts(
            consent("2025-01-10T10:00:00+01:00", Channel.EMAIL),
            calls("2026-11-13T10:00:00+01:00", channel=Channel.SMS),
            calls("2026-11-15T10:00:00+01:00", channel=Channel.CALL),
            calls("2026-11-18T10:00:00+01:00", channel=Channel.EMAIL),
        ),
        policy=Policy("acme-2026", (PolicyCap("ACME.all-7d", frozenset({ALL}), 3, 7),)),
    ),
    no(
        "processor/unknown",
        THU,
        (PROCESSOR,),
        None,
        processor="boiler-room",
        facts=facts(CALL_OK),
        untils={PROCESSOR: None},
    ),
    no(
        "processor/registered-but-not-known",
        THU,
        (PROCESSOR,),
        None,
        processor="tunis",
        facts=facts(CALL_OK, processor=ProcessorFact("tunis", known=False)),
    ),
    no(
        "processor/not-authorised-on-call",
        THU,
        (PROCESSOR,),
        None,
        processor="mailer",
        facts=facts(CALL_OK, processor=ProcessorFact("mailer", True, frozenset({"email"}))),
    ),
    no(
        "processor/inactive",
        THU,
        (PROCESSOR,),
        None,
        processor="lille",
        facts=facts(CALL_OK, processor=ProcessorFact("lille", True, active=False)),
    ),
    ok(
        "processor/authorised-on-call",
        THU,
        processor="tunis",
        facts=facts(CALL_OK, processor=ProcessorFact("tunis", True, frozenset({"call", "sms"}))),
    ),
    ok(
        "processor/authorised-on-all",
        THU,
        processor="marketing",
        facts=facts(CALL_OK, processor=ProcessorFact("marketing", True)),
    ),
    no("invalid/contact-none-call", THU, (INVALID,), None, contact=None, untils={INVALID: None}),
    no(
        "invalid/contact-none-email",
        THU,
        (INVALID,),
        None,
        contact=None,
        channel=Channel.EMAIL,
        facts=facts(consent("2025-01-10T10:00:00+01:00", Channel.EMAIL)),
    ),
]

SCENARIOS = (
    HOURS_CASES
    + HOLIDAY_CASES
    + OVERSEAS_CASES
    + CAP_CASES
    + REFUSAL_CASES
    + SWITCH_CASES
    + CONSENT_CASES
    + ELECTRONIC_CASES
    + SECTOR_CASES
    + OBJECTION_CASES
    + COMBINED_CASES
    + PRESSURE_CASES
)


def request_for(case: Scenario) -> CheckRequest:
    return CheckRequest(
        contact=None if case.contact is None else parse_contact(case.contact),
        channel=case.channel,
        at=t(case.when),
        purpose=case.purpose,
        audience=case.audience,
        sector=case.sector,
        processor=case.processor,
    )


def test_scenario_table_is_large_and_ids_unique() -> None:
    ids = [case.id for case in SCENARIOS]
    assert len(ids) >= 70
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("case", SCENARIOS, ids=[case.id for case in SCENARIOS])
def test_decide_fr(case: Scenario) -> None:
    decision = decide(request_for(case), case.facts, fr_pack(case.params), case.policy)

    assert decision.allowed is case.allowed
    assert decision.codes == case.codes
    if case.next is None:
        assert decision.next_allowed_at is None
    else:
        expected = t(case.next)
        assert decision.next_allowed_at == expected
        assert decision.next_allowed_at is not None
        assert decision.next_allowed_at.utcoffset() == expected.utcoffset()  # local time
    for code, until in case.untils.items():
        (reason,) = (r for r in decision.reasons if r.code.value == code)
        if until is None:
            assert reason.until is None
        else:
            assert reason.until == t(until)
            assert reason.until is not None
            assert reason.until.utcoffset() == t(until).utcoffset()
    if case.local is not None:
        assert decision.local_time.isoformat() == case.local


# ---------------------------------------------------------------------------------------------
# the DESIGN.md 4.1 example, and the rules version on both sides of 11 Aug 2026
# ---------------------------------------------------------------------------------------------


def test_design_example_json() -> None:
    request = CheckRequest(
        parse_contact("06 12 34 56 78"), Channel.CALL, t("2026-11-20T21:05:00+01:00")
    )
    data = decide(request, facts(CALL_OK), fr_pack()).to_dict()

    (reason,) = data.pop("reasons")
    assert data == {
        "allowed": False,
        "contact": "+33612345678",
        "channel": "call",
        "at": "2026-11-20T21:05:00+01:00",
        "local_time": "2026-11-20T21:05:00+01:00",
        "next_allowed_at": "2026-11-23T10:00:00+01:00",
        "rules_version": "fr-2026-08-11",
    }
    assert reason["code"] == "OUTSIDE_HOURS"
    assert reason["rule"] == "FR.D223-9.hours"
    assert reason["reference"].startswith("Code de la consommation, art. D223-9")
    assert reason["message"] == "Calls are allowed Mon-Fri 10:00-13:00 and 14:00-20:00 local time"
    assert reason["until"] == "2026-11-23T10:00:00+01:00"


def test_overseas_answer_is_in_local_time() -> None:
    request = CheckRequest(
        parse_contact("0692 12 34 56"), Channel.CALL, t("2026-11-19T18:30:00+01:00")
    )
    decision = decide(request, facts(CALL_OK), fr_pack())
    assert decision.to_dict()["local_time"] == "2026-11-19T21:30:00+04:00"
    assert decision.to_dict()["next_allowed_at"] == "2026-11-20T10:00:00+04:00"
    assert decision.next_allowed_at is not None
    assert decision.next_allowed_at.utcoffset() == timedelta(hours=4)


@pytest.mark.parametrize(
    ("when", "contact", "version"),
    [
        ("2022-01-10T11:00:00+01:00", FR, "fr-2020-07-26"),  # loi 2020-901 renovation ban
        ("2023-02-28T11:00:00+01:00", FR, "fr-2022-12-21"),  # CPF ban
        ("2023-03-01T00:00:00+01:00", FR, "fr-2023-03-01"),  # décret 2022-1313
        ("2025-07-01T23:59:59+02:00", FR, "fr-2023-03-01"),
        ("2025-07-02T00:00:00+02:00", FR, "fr-2025-07-02"),  # loi 2025-594 sector bans
        ("2026-08-10T23:59:59+02:00", FR, "fr-2025-07-02"),
        ("2026-08-11T00:00:00+02:00", FR, "fr-2026-08-11"),  # opt-in switch
        ("2026-08-10T22:30:00+00:00", FR, "fr-2026-08-11"),  # 00:30 in Paris
        ("2026-08-11T01:30:00+04:00", RE, "fr-2025-07-02"),  # still 10 Aug in Paris
        ("2026-08-10T20:30:00-04:00", MQ, "fr-2026-08-11"),  # already 11 Aug in Paris
        ("2026-08-10T11:00:00+02:00", None, "fr-2025-07-02"),  # invalid contact too
        ("2026-08-11T11:00:00+02:00", None, "fr-2026-08-11"),
    ],
    ids=str,
)
def test_rules_version(when: str, contact: str | None, version: str) -> None:
    request = CheckRequest(
        None if contact is None else parse_contact(contact), Channel.CALL, t(when)
    )
    assert decide(request, Facts(), fr_pack()).rules_version == version
    assert fr_pack().version(t(when)) == version
