"""Personal budgets and the principal's policy under ``decide``: one table, answers worked by hand.

Each row asserts the exact reasons as (code, rule) pairs in the order produced (common rules,
then the French pack, then the policy: quiet hours, exclusions, caps), each reason's ``until``
and ``next_allowed_at``, in the contact's local time.

How the periods roll (``domain.pressure``): an attempt at ``t`` counts at ``at`` while
``t <= at < t + period``; a week is 7 days, a month the same wall-clock time one month later
(clipped to the end of a shorter month: 31 Jan + 1 month = 28 Feb), a year 12 months later
(29 Feb 2028 + 1 year = 28 Feb 2029). A cap of N reached by M >= N attempts frees up when the
(M - N + 1)-th oldest leaves the period. A budget of 0 never frees (``until`` None), like an
objection, but keeps its own code and message. Budgets count every processor's attempts.

Policies are written in TOML and read by ``services.policy.parse_policy`` (pure).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from permis.domain.contact import parse_contact
from permis.domain.decide import decide
from permis.domain.model import (
    ALL,
    AttemptFact,
    Audience,
    BudgetFact,
    Channel,
    CheckRequest,
    ConsentFact,
    Facts,
    Period,
)
from permis.domain.policy import EMPTY_POLICY, Policy
from permis.domain.rules.fr import fr_pack
from permis.services.policy import parse_policy

FR = "+33612345678"
RE = "+262692123456"  # Réunion, UTC+4
YT = "+262639012345"  # Mayotte, UTC+3
EMAIL = "jeanne.martin@example.fr"
PRO_EMAIL = "achats@fournisseur.example.fr"

BUDGET = ("PERSONAL_BUDGET", "PERMIS.budget")
LAW_HOURS = ("OUTSIDE_HOURS", "FR.D223-9.hours")
QUIET_CALL = ("OUTSIDE_HOURS", "POLICY.quiet_hours.call")
QUIET_SMS = ("OUTSIDE_HOURS", "POLICY.quiet_hours.sms")
QUIET_EMAIL = ("OUTSIDE_HOURS", "POLICY.quiet_hours.email")
ALL_WEEK = ("POLICY_CAP", "POLICY.cap.all-week")
PHONE_MONTH = ("POLICY_CAP", "POLICY.cap.phone-sms-month")
WINTER = ("POLICY_CAP", "POLICY.cap.winter-once")
NO_PRO = ("POLICY_CAP", "POLICY.exclude.audience")
NO_YT = ("POLICY_CAP", "POLICY.exclude.region")
PROCESSORS = ("lille", "tunis", "abidjan", "marketing")

POLICY = parse_policy(
    """
version = "acme-2026-12"
timezone = "Europe/Paris"

[quiet_hours.call]
hours = ["19:00-24:00", "00:00-10:30"]

[quiet_hours.sms]
hours = ["20:00-09:00"]
days = ["sat", "sun"]

[quiet_hours.email]
hours = ["21:00-08:00"]

[[caps]]
id = "all-week"
channels = ["all"]
max = 3
days = 7

[[caps]]
id = "phone-sms-month"
channels = ["call", "sms"]
max = 2
per = "month"

[[caps]]
id = "winter-once"
campaign = "winter"
channels = ["call"]
max = 1
days = 30

[exclude]
audiences = ["professional"]
regions = ["YT"]
"""
).policy
CAPS_ONLY = Policy("caps", POLICY.caps)


def t(text: str) -> datetime:
    return datetime.fromisoformat(text)


def consent(channel: str, given: str = "2026-10-01T10:00:00+02:00") -> ConsentFact:
    return ConsentFact(channel, "prospecting", t(given))


def tried(
    *times: str, channel: str = Channel.SMS, campaign: str | None = None
) -> list[AttemptFact]:
    """Attempts made by the principal's call centres and departments, in turn."""
    return [
        AttemptFact(t(w), channel, PROCESSORS[i % 4], "sent", campaign) for i, w in enumerate(times)
    ]


def budget(
    channel: str, most: int, per: Period, set_at: str = "2026-01-01T10:00:00+01:00"
) -> BudgetFact:
    return BudgetFact(channel, most, per, t(set_at))


@dataclass(frozen=True)
class Case:
    id: str
    when: str
    reasons: tuple[tuple[str, str], ...]
    next: str | None
    channel: Channel = Channel.SMS
    contact: str = FR
    consents: tuple[ConsentFact, ...] = ()
    attempts: tuple[AttemptFact, ...] = ()
    budgets: tuple[BudgetFact, ...] = ()
    policy: Policy = EMPTY_POLICY
    untils: dict[tuple[str, str], str | None] = field(default_factory=dict)
    audience: Audience = Audience.CONSUMER
    campaign: str | None = None


SMS_OK = (consent(Channel.SMS, "2026-11-01T10:00:00+01:00"),)
CALL_OK = (consent(Channel.CALL, "2026-10-01T10:00:00+02:00"),)

BUDGET_CASES = [
    Case(
        "budget/sms-2-a-month-across-month-end",
        "2026-12-03T12:00:00+01:00",
        (BUDGET,),
        "2026-12-05T09:00:00+01:00",
        consents=SMS_OK,
        attempts=(
            *tried("2026-11-02T10:00:00+01:00", "2026-11-05T09:00:00+01:00"),
            *tried("2026-11-30T18:00:00+01:00"),
        ),
        budgets=(budget(Channel.SMS, 2, Period.MONTH),),
        untils={BUDGET: "2026-12-05T09:00:00+01:00"},
    ),
    Case(
        "budget/sms-2-a-month-the-oldest-has-left",
        "2026-12-05T09:00:00+01:00",
        (),
        "2026-12-05T09:00:00+01:00",
        consents=SMS_OK,
        attempts=tuple(tried("2026-11-05T09:00:00+01:00", "2026-11-30T18:00:00+01:00")),
        budgets=(budget(Channel.SMS, 2, Period.MONTH),),
    ),
    Case(
        "budget/all-3-a-year-across-year-end-every-channel-counts",
        "2027-01-04T10:00:00+01:00",
        (BUDGET,),
        "2027-03-15T10:00:00+01:00",
        consents=(consent(Channel.SMS, "2026-12-20T10:00:00+01:00"),),
        attempts=(
            *tried("2026-01-03T10:00:00+01:00", channel=Channel.EMAIL),  # left on 3 Jan 2027
            *tried("2026-03-15T10:00:00+01:00"),
            *tried("2026-06-01T10:00:00+02:00", channel=Channel.EMAIL),
            *tried("2026-12-31T23:30:00+01:00", channel=Channel.CALL),
        ),
        budgets=(budget(ALL, 3, Period.YEAR),),
        untils={BUDGET: "2027-03-15T10:00:00+01:00"},
    ),
    Case(
        "budget/31-jan-plus-a-month-is-28-feb",
        "2027-02-27T12:00:00+01:00",
        (BUDGET,),
        "2027-02-28T10:00:00+01:00",
        consents=(consent(Channel.SMS, "2027-01-15T10:00:00+01:00"),),
        attempts=tuple(tried("2027-01-31T10:00:00+01:00")),
        budgets=(budget(Channel.SMS, 1, Period.MONTH),),
    ),
    Case(
        "budget/29-feb-plus-a-year-is-28-feb",
        "2029-01-15T12:00:00+01:00",
        (BUDGET,),
        "2029-02-28T10:00:00+01:00",
        consents=(consent(Channel.SMS, "2028-12-01T10:00:00+01:00"),),
        attempts=tuple(tried("2028-02-29T10:00:00+01:00")),
        budgets=(budget(Channel.SMS, 1, Period.YEAR),),
    ),
    Case(
        "budget/a-week-freed-on-saturday-called-on-monday",
        "2026-11-23T11:00:00+01:00",
        (BUDGET,),
        "2026-11-30T10:00:00+01:00",
        channel=Channel.CALL,
        consents=CALL_OK,
        attempts=tuple(tried("2026-11-21T09:00:00+01:00")),
        budgets=(budget(ALL, 1, Period.WEEK),),
        untils={BUDGET: "2026-11-28T09:00:00+01:00"},
    ),
    Case(
        "budget/call-week-and-all-month-the-later-one-is-reported",
        "2026-11-23T11:00:00+01:00",
        (BUDGET,),
        "2026-12-09T14:00:00+01:00",
        channel=Channel.CALL,
        consents=CALL_OK,
        attempts=(
            *tried("2026-11-09T14:00:00+01:00"),
            *tried("2026-11-20T15:00:00+01:00", channel=Channel.CALL),
        ),
        budgets=(budget(Channel.CALL, 1, Period.WEEK), budget(ALL, 2, Period.MONTH)),
        untils={BUDGET: "2026-12-09T14:00:00+01:00"},
    ),
    Case(
        "budget/zero-sms-never-on-its-own",
        "2026-11-24T12:00:00+01:00",
        (BUDGET,),
        None,
        consents=SMS_OK,
        budgets=(budget(Channel.SMS, 0, Period.YEAR),),
        untils={BUDGET: None},
    ),
    Case(
        "budget/zero-sms-does-not-stop-email",
        "2026-11-24T12:00:00+01:00",
        (),
        "2026-11-24T12:00:00+01:00",
        channel=Channel.EMAIL,
        contact=EMAIL,
        consents=(consent(Channel.EMAIL),),
        budgets=(budget(Channel.SMS, 0, Period.YEAR),),
    ),
    Case(
        "budget/zero-all-stops-email-too",
        "2026-11-24T12:00:00+01:00",
        (BUDGET,),
        None,
        channel=Channel.EMAIL,
        contact=EMAIL,
        consents=(consent(Channel.EMAIL),),
        budgets=(budget(ALL, 0, Period.WEEK),),
    ),
    Case(
        "budget/future-attempts-do-not-count",
        "2026-11-24T12:00:00+01:00",
        (),
        "2026-11-24T12:00:00+01:00",
        consents=SMS_OK,
        attempts=tuple(tried("2026-11-24T12:00:00.000001+01:00")),
        budgets=(budget(Channel.SMS, 1, Period.WEEK),),
    ),
]

POLICY_CASES = [
    Case(
        "policy/quiet-call-after-19:00-law-allows",
        "2026-11-19T19:15:00+01:00",
        (QUIET_CALL,),
        "2026-11-20T10:30:00+01:00",
        channel=Channel.CALL,
        consents=CALL_OK,
        policy=POLICY,
        untils={QUIET_CALL: "2026-11-20T10:30:00+01:00"},
    ),
    Case(
        "policy/quiet-call-and-law-hours-the-later-wins",
        "2026-11-19T20:30:00+01:00",
        (LAW_HOURS, QUIET_CALL),
        "2026-11-20T10:30:00+01:00",
        channel=Channel.CALL,
        consents=CALL_OK,
        policy=POLICY,
        untils={LAW_HOURS: "2026-11-20T10:00:00+01:00", QUIET_CALL: "2026-11-20T10:30:00+01:00"},
    ),
    Case(
        "policy/quiet-call-ends-10:30",
        "2026-11-20T10:30:00+01:00",
        (),
        "2026-11-20T10:30:00+01:00",
        channel=Channel.CALL,
        consents=CALL_OK,
        policy=POLICY,
    ),
    Case(
        "policy/quiet-call-in-reunion-local-time",
        "2026-11-19T16:00:00+01:00",  # 19:00 in Réunion: the law allows, the policy does not
        (QUIET_CALL,),
        "2026-11-20T10:30:00+04:00",
        channel=Channel.CALL,
        contact=RE,
        consents=CALL_OK,
        policy=POLICY,
    ),
    Case(
        "policy/quiet-sms-weekend-until-monday-09:00",
        "2026-11-21T12:00:00+01:00",
        (QUIET_SMS,),
        "2026-11-23T09:00:00+01:00",
        consents=SMS_OK,
        policy=POLICY,
    ),
    Case(
        "policy/quiet-email-in-the-policy-zone",
        "2026-11-19T22:00:00+01:00",
        (QUIET_EMAIL,),
        "2026-11-20T08:00:00+01:00",
        channel=Channel.EMAIL,
        contact=EMAIL,
        consents=(consent(Channel.EMAIL),),
        policy=POLICY,
    ),
    Case(
        "policy/3-a-week-across-channels",
        "2026-11-19T11:00:00+01:00",
        (ALL_WEEK,),
        "2026-11-20T10:00:00+01:00",
        channel=Channel.EMAIL,
        contact=EMAIL,
        consents=(consent(Channel.EMAIL),),
        attempts=(
            *tried("2026-11-13T10:00:00+01:00"),
            *tried("2026-11-16T11:00:00+01:00", channel=Channel.CALL),
            *tried("2026-11-18T10:00:00+01:00", channel=Channel.EMAIL),
        ),
        policy=CAPS_ONLY,
        untils={ALL_WEEK: "2026-11-20T10:00:00+01:00"},
    ),
    Case(
        "policy/2-a-month-call-and-sms-across-year-end",
        "2027-01-10T12:00:00+01:00",
        (PHONE_MONTH,),
        "2027-01-15T11:00:00+01:00",
        consents=SMS_OK,
        attempts=(
            *tried("2026-12-15T11:00:00+01:00", channel=Channel.CALL),
            *tried("2026-12-31T10:00:00+01:00"),
            *tried("2027-01-02T10:00:00+01:00", channel=Channel.EMAIL),  # not call or sms
        ),
        policy=CAPS_ONLY,
    ),
    Case(
        "policy/cap-and-budget-together",
        "2027-01-10T12:00:00+01:00",
        (BUDGET, PHONE_MONTH),
        "2027-01-31T10:00:00+01:00",
        consents=SMS_OK,
        attempts=(
            *tried("2026-12-15T11:00:00+01:00", channel=Channel.CALL),
            *tried("2026-12-31T10:00:00+01:00"),
        ),
        budgets=(budget(Channel.SMS, 1, Period.MONTH),),
        policy=CAPS_ONLY,
        untils={BUDGET: "2027-01-31T10:00:00+01:00", PHONE_MONTH: "2027-01-15T11:00:00+01:00"},
    ),
    Case(
        "policy/campaign-once-in-30-days",
        "2026-11-19T11:00:00+01:00",
        (WINTER,),
        "2026-12-02T11:00:00+01:00",
        channel=Channel.CALL,
        consents=CALL_OK,
        attempts=tuple(tried("2026-11-02T11:00:00+01:00", channel=Channel.CALL, campaign="winter")),
        policy=CAPS_ONLY,
        campaign="winter",
    ),
    Case(
        "policy/campaign-cap-ignores-other-campaigns",
        "2026-11-19T11:00:00+01:00",
        (),
        "2026-11-19T11:00:00+01:00",
        channel=Channel.CALL,
        consents=CALL_OK,
        attempts=tuple(tried("2026-11-02T11:00:00+01:00", channel=Channel.CALL, campaign="spring")),
        policy=CAPS_ONLY,
        campaign="winter",
    ),
    Case(
        "policy/campaign-cap-does-not-cap-other-campaigns",
        "2026-11-19T11:00:00+01:00",
        (),
        "2026-11-19T11:00:00+01:00",
        channel=Channel.CALL,
        consents=CALL_OK,
        attempts=tuple(tried("2026-11-02T11:00:00+01:00", channel=Channel.CALL, campaign="winter")),
        policy=CAPS_ONLY,
        campaign="spring",
    ),
    Case(
        "policy/excluded-audience-never",
        "2026-11-19T11:00:00+01:00",
        (NO_PRO,),
        None,
        channel=Channel.EMAIL,
        contact=PRO_EMAIL,
        audience=Audience.PROFESSIONAL,
        policy=POLICY,
        untils={NO_PRO: None},
    ),
    Case(
        "policy/excluded-region-never",
        "2026-11-19T11:00:00+01:00",  # 13:00 in Mayotte: the law's lunch break too
        (LAW_HOURS, NO_YT),
        None,
        channel=Channel.CALL,
        contact=YT,
        consents=CALL_OK,
        policy=POLICY,
    ),
]

CASES = BUDGET_CASES + POLICY_CASES


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_pressure_case(case: Case) -> None:
    request = CheckRequest(
        parse_contact(case.contact),
        case.channel,
        t(case.when),
        audience=case.audience,
        campaign=case.campaign,
    )
    facts = Facts(consents=case.consents, attempts=case.attempts, budgets=case.budgets)
    decision = decide(request, facts, fr_pack(), case.policy)
    assert tuple((r.code.value, r.rule) for r in decision.reasons) == case.reasons
    assert decision.allowed is (not case.reasons)
    assert decision.policy_version == case.policy.version
    if case.next is None:
        assert decision.next_allowed_at is None
    else:
        assert decision.next_allowed_at is not None
        assert decision.next_allowed_at.isoformat() == t(case.next).isoformat()
    for key, until in case.untils.items():
        (reason,) = (r for r in decision.reasons if (r.code.value, r.rule) == key)
        assert (reason.until.isoformat() if reason.until else None) == (
            t(until).isoformat() if until else None
        )


def test_a_zero_budget_has_its_own_message_and_is_not_an_objection() -> None:
    request = CheckRequest(parse_contact(FR), Channel.SMS, t("2026-11-24T12:00:00+01:00"))
    facts = Facts(consents=SMS_OK, budgets=(budget(Channel.SMS, 0, Period.YEAR),))
    (reason,) = decide(request, facts, fr_pack()).reasons
    assert reason.code.value == "PERSONAL_BUDGET" and reason.until is None
    assert reason.message == "The person wants no contact on sms (a budget of 0)"


def test_budgets_count_every_processors_attempts() -> None:
    request = CheckRequest(parse_contact(FR), Channel.SMS, t("2026-11-24T12:00:00+01:00"))
    times = [t("2026-11-20T10:00:00+01:00") + timedelta(hours=i) for i in range(4)]
    attempts = tuple(AttemptFact(w, Channel.SMS, PROCESSORS[i]) for i, w in enumerate(times))
    facts = Facts(
        consents=SMS_OK, attempts=attempts, budgets=(budget(Channel.SMS, 4, Period.WEEK),)
    )
    (reason,) = decide(request, facts, fr_pack()).reasons
    assert "4 made" in reason.message
    assert reason.until == t("2026-11-27T10:00:00+01:00")
    one = Facts(consents=SMS_OK, attempts=attempts[:3], budgets=facts.budgets)
    assert decide(request, one, fr_pack()).allowed
