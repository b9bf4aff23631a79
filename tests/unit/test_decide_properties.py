"""Properties of ``decide`` under the French pack, on random facts from 2023 to 2028.

1. A matching objection (its channel or ``all``, its purpose or ``all``, made at or before the
   request) is never overridden: refused with ``OBJECTION`` and no ``next_allowed_at``.
2. ``next_allowed_at`` keeps its promise: deciding again at that instant with the same facts
   allows the contact; for a consumer call it is inside the D223-9 windows in the contact's local
   time and not on a public holiday of its territory.
3. ``next_allowed_at`` is never before the request; an allowed decision answers the request's
   own instant and has no reason.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from permis.domain import calendar
from permis.domain.contact import parse_contact
from permis.domain.decide import decide
from permis.domain.model import (
    ALL,
    DEFAULT_PURPOSE,
    PHONE_CHANNELS,
    AttemptFact,
    Audience,
    BudgetFact,
    Channel,
    CheckRequest,
    ConsentFact,
    ContractFact,
    Decision,
    Facts,
    ObjectionFact,
    Period,
    ProcessorFact,
    RefusalFact,
    Sector,
    SnapshotFact,
)
from permis.domain.pressure import Policy, PolicyCap
from permis.domain.rules.base import Params, legal_day
from permis.domain.rules.fr import DECREE_2022_1313, OPT_IN_SWITCH, fr_pack

PHONES = (
    "+33612345678",  # metropole
    "+33145678901",  # metropole, fixed line
    "+262692123456",  # Réunion
    "+262639012345",  # Mayotte
    "+596696123456",  # Martinique
    "+590690123456",  # Guadeloupe
    "+594694123456",  # Guyane
)
CONTACTS = (*PHONES, "jeanne.martin@example.fr")
POINTS = {text: parse_contact(text) for text in CONTACTS}
PURPOSES = (DEFAULT_PURPOSE, "insurance")
PROCESSOR_NAMES = ("lille", "tunis")
ZONES = (
    UTC,
    ZoneInfo("Europe/Paris"),
    ZoneInfo("Indian/Reunion"),
    ZoneInfo("America/Martinique"),
)

channels = st.sampled_from(list(Channel))


def instants(start: datetime = datetime(2023, 1, 1)) -> st.SearchStrategy[datetime]:
    return st.datetimes(
        min_value=start,
        max_value=datetime(2028, 12, 31),
        timezones=st.sampled_from(ZONES),
        allow_imaginary=False,
    )


def days(low: float, high: float) -> st.SearchStrategy[timedelta]:
    return st.timedeltas(min_value=timedelta(days=low), max_value=timedelta(days=high))


@st.composite
def situations(
    draw: st.DrawFn, *, lapsing: bool = False
) -> tuple[CheckRequest, Facts, Params, Policy]:
    """A request and random facts around its instant (some of them after it).

    ``lapsing``: a consumer call in force of D223-9 with a valid consent and a clean Bloctel
    file, no objection and no permanent refusal, so that the reasons are mostly ones that lapse
    (hours, holidays, caps, cooldowns, budgets, policy caps).
    """
    if lapsing:
        at = draw(instants(datetime(2023, 3, 2)))
        contact = draw(st.sampled_from(PHONES))
        channel = Channel.CALL
        purpose = DEFAULT_PURPOSE
        processor = None
        audience, sector = Audience.CONSUMER, Sector.GENERAL
    else:
        at = draw(instants())
        contact = draw(st.sampled_from(CONTACTS))
        channel = draw(channels)
        purpose = draw(st.sampled_from(PURPOSES))
        processor = draw(st.none() | st.sampled_from(PROCESSOR_NAMES))
        audience = draw(st.sampled_from(list(Audience)))
        sector = draw(st.sampled_from(list(Sector)))
    request = CheckRequest(
        contact=POINTS[contact],
        channel=channel,
        at=at,
        purpose=purpose,
        audience=audience,
        sector=sector,
        processor=processor,
    )

    def when(low: float, high: float) -> datetime:
        return at + draw(days(low, high))

    def maybe_after(base: datetime, most: float) -> datetime | None:
        return None if draw(st.booleans()) else base + draw(days(1, most))

    consents = []
    for _ in range(draw(st.integers(0, 3))):
        given_at = when(-500, 10)
        consents.append(
            ConsentFact(
                channel=draw(st.sampled_from([channel, channel, Channel.SMS, ALL])),
                purpose=draw(st.sampled_from(PURPOSES)),
                given_at=given_at,
                expires_at=maybe_after(given_at, 600),
                withdrawn_at=maybe_after(given_at, 600),
            )
        )
    objections = [
        ObjectionFact(
            at=when(-300, 60),
            channel=draw(st.sampled_from([ALL, *Channel])),
            purpose=draw(st.sampled_from([ALL, *PURPOSES])),
        )
        for _ in range(draw(st.integers(0, 1)))
    ]
    refusals = [RefusalFact(when(-120, 5)) for _ in range(draw(st.integers(0, 2)))]
    contracts = []
    for _ in range(draw(st.integers(0, 1))):
        start = when(-1500, 30)
        contracts.append(ContractFact(start, maybe_after(start, 2000)))
    attempts = [
        AttemptFact(when(-45, 2), draw(channels), draw(st.sampled_from(PROCESSOR_NAMES)))
        for _ in range(draw(st.integers(0, 7)))
    ]
    budgets = [
        BudgetFact(
            channel=draw(st.sampled_from([channel, ALL, Channel.SMS])),
            max=draw(st.integers(0, 3)),
            period=draw(st.sampled_from(list(Period))),
            set_at=when(-400, 5),
        )
        for _ in range(draw(st.integers(0, 2)))
    ]
    snapshots = []
    for _ in range(draw(st.integers(0, 2))):
        as_of = when(-50, 5)
        snapshots.append(
            SnapshotFact(
                list_name=draw(st.sampled_from(["bloctel", "bloctel", "us-dnc"])),
                as_of=as_of,
                valid_until=as_of + timedelta(days=30),
                listed=draw(st.booleans()),
            )
        )
    known = None
    if processor is not None and draw(st.booleans()):
        known = ProcessorFact(
            processor,
            known=draw(st.booleans()),
            channels=draw(
                st.sampled_from(
                    [frozenset({ALL}), frozenset({channel}), frozenset({Channel.EMAIL})]
                )
            ),
            active=draw(st.booleans()),
        )
    if lapsing:
        consents.append(ConsentFact(Channel.CALL, DEFAULT_PURPOSE, at - timedelta(days=1)))
        snapshots.append(SnapshotFact("bloctel", at - timedelta(days=1), at + timedelta(29), False))
        objections = []
        refusals = [r for r in refusals if legal_day(r.at) < OPT_IN_SWITCH]
        budgets = [b for b in budgets if b.max > 0]
        attempts += [
            AttemptFact(when(-29, 0), Channel.CALL, draw(st.sampled_from(PROCESSOR_NAMES)))
            for _ in range(draw(st.integers(0, 4)))
        ]
    facts = Facts(
        consents=tuple(consents),
        objections=tuple(objections),
        refusals=tuple(refusals),
        contracts=tuple(contracts),
        attempts=tuple(attempts),
        budgets=tuple(budgets),
        snapshots=tuple(snapshots),
        processor=known,
    )
    params = Params(
        consent_max_age_days=draw(st.sampled_from([365, 200, 730])),
        alsace_moselle_everywhere=draw(st.booleans()),
    )
    caps: tuple[PolicyCap, ...] = ()
    if draw(st.booleans()):
        caps = (
            PolicyCap(
                "ACME.cap",
                frozenset({draw(st.sampled_from([ALL, channel, Channel.SMS]))}),
                draw(st.integers(1, 4)),
                draw(st.integers(1, 30)),
            ),
        )
    return request, facts, params, Policy("acme", caps)


NEVER_LAPSE = frozenset(
    {
        "INVALID_CONTACT",
        "OBJECTION",
        "NO_CONSENT",
        "CONSENT_EXPIRED",
        "SECTOR_BAN",
        "PROCESSOR_NOT_AUTHORIZED",
    }
)
"""Reasons that only a new fact can lift (a consent, a contract, a registration)."""


def same_instant(a: datetime | None, b: datetime) -> bool:
    """``a`` and ``b`` are the same instant. Not ``==``: an aware time in a repeated hour (the
    night clocks go back) never equals a time in another zone (PEP 495), even the same instant."""
    return a is not None and a.timestamp() == b.timestamp()


def check_shape(request: CheckRequest, decision: Decision) -> None:
    """Property 3 and the invariants every decision keeps."""
    assert decision.allowed is (not decision.reasons)
    if decision.allowed:
        assert same_instant(decision.next_allowed_at, request.at)
    if decision.next_allowed_at is not None:
        assert decision.next_allowed_at >= request.at
        zone = request.contact.timezone if request.contact is not None else None
        if zone is not None:
            assert decision.next_allowed_at.tzinfo == ZoneInfo(zone)
    for reason in decision.reasons:
        assert reason.until is None or reason.until > request.at
        if reason.code.value in NEVER_LAPSE:
            assert reason.until is None, reason
    if any(reason.until is None for reason in decision.reasons):
        assert decision.next_allowed_at is None  # DESIGN 4.1: null when one never lapses


# ---------------------------------------------------------------------------------------------
# 1. a matching objection always wins
# ---------------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(situations(), st.data())
def test_matching_objection_never_allows(
    situation: tuple[CheckRequest, Facts, Params, Policy], data: st.DataObject
) -> None:
    request, facts, params, policy = situation
    objection = ObjectionFact(
        at=request.at - data.draw(days(0, 2000), label="objection age"),
        channel=data.draw(st.sampled_from([ALL, request.channel]), label="objection channel"),
        purpose=data.draw(st.sampled_from([ALL, request.purpose]), label="objection purpose"),
    )
    facts = replace(facts, objections=(*facts.objections, objection))

    decision = decide(request, facts, fr_pack(params), policy)

    assert not decision.allowed
    assert "OBJECTION" in decision.codes
    assert decision.next_allowed_at is None
    check_shape(request, decision)


# ---------------------------------------------------------------------------------------------
# 2. and 3. next_allowed_at keeps its promise and is never in the past
# ---------------------------------------------------------------------------------------------


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(situations(), situations(lapsing=True)))
def test_next_allowed_at_is_allowed(situation: tuple[CheckRequest, Facts, Params, Policy]) -> None:
    request, facts, params, policy = situation
    pack = fr_pack(params)
    decision = decide(request, facts, pack, policy)
    check_shape(request, decision)

    if decision.allowed:
        event("allowed")
        return
    if decision.next_allowed_at is None:
        event("refused, no next_allowed_at")
        return
    event("refused with next_allowed_at")
    later = decision.next_allowed_at

    again = decide(replace(request, at=later), facts, pack, policy)

    assert again.allowed, again.codes
    assert same_instant(again.next_allowed_at, later)
    contact = request.contact
    assert contact is not None
    if (
        request.channel in PHONE_CHANNELS
        and request.audience is Audience.CONSUMER
        and legal_day(later) >= DECREE_2022_1313
        and contact.timezone is not None
    ):
        event("phone window checked")
        assert contact.region is not None
        local = calendar.local_time(later, contact.timezone)
        assert calendar.in_windows(local, calendar.FR_CALL_WINDOWS), local
        assert not calendar.is_public_holiday(
            local.date(),
            contact.region,
            alsace_moselle_everywhere=params.alsace_moselle_everywhere,
        ), local


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(situations(lapsing=True))
def test_lapsing_reasons_give_a_next_allowed_at(
    situation: tuple[CheckRequest, Facts, Params, Policy],
) -> None:
    """With consent, a clean file and nothing permanent, a refusal always has a next instant."""
    request, facts, params, policy = situation
    decision = decide(request, facts, fr_pack(params), policy)
    check_shape(request, decision)
    event(f"codes={'+'.join(decision.codes) or 'allowed'}")
    if decision.next_allowed_at is None:
        # only when re-evaluation runs into something that does not lapse: the consent ages
        # out, the Bloctel file expires, the search bound is reached
        assert not decision.allowed
        event("no next_allowed_at")
    else:
        assert not NEVER_LAPSE & set(decision.codes)
