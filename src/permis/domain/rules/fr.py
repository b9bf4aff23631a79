"""The French rule pack (see ../shared/LAW.md sections 1 to 4 and docs/rules.md).

Dates are those of entry into force; a rule whose regime ended carries ``effective_until``.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache

from permis.domain import calendar
from permis.domain.contact import ContactPoint
from permis.domain.model import (
    ELECTRONIC_CHANNELS,
    Channel,
    ConsentFact,
    Reason,
    ReasonCode,
    Sector,
)
from permis.domain.pressure import attempt_times, cap_state, days_shift
from permis.domain.rules.base import (
    CONSUMERS,
    EVERY_CHANNEL,
    LEGAL_ZONE,
    LIVE_CALL,
    PHONE,
    Check,
    Params,
    Rule,
    RuleContext,
    RulePack,
    legal_day,
)
from permis.domain.rules.common import COMMON_RULES

OPT_IN_SWITCH = date(2026, 8, 11)
"""Loi 2025-594 art. 13 III: no phone prospecting without prior consent from this day."""
BLOCTEL_START = date(2016, 6, 1)
RENOVATION_PHONE_BAN = date(2020, 7, 26)
"""Loi 2020-901 du 24 juillet 2020 (JO 25 Jul 2020), art. 1: energy-renovation phone ban."""
SECTOR_BANS_2025 = date(2025, 7, 2)
"""Loi 2025-594 (JO 1 Jul 2025): bans extended to electronic messages and home adaptation."""
DECREE_2022_1313 = date(2023, 3, 1)
REFUSAL_COOLDOWN_DAYS = 60
LEGAL_CAP_CALLS = 4
LEGAL_CAP_DAYS = 30
BLOCTEL = "bloctel"

D223_9 = "Code de la consommation, art. D223-9 (décret n° 2022-1313 du 13 octobre 2022)"
L223_1 = "Code de la consommation, art. L223-1 (loi n° 2025-594 du 30 juin 2025, art. 13)"


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def holiday_region(contact: ContactPoint) -> str:
    if contact.region is not None:
        return contact.region
    return contact.country or "metropole"


def current_contract(ctx: RuleContext) -> bool:
    if not ctx.facts.contracts:
        return False
    return any(contract.current(ctx.at) for contract in ctx.facts.contracts)


def consents_for(ctx: RuleContext, channel: str) -> list[ConsentFact]:
    """Consents given for this channel and purpose before ``at`` and not withdrawn by then."""
    if not ctx.facts.consents:
        return []
    purpose = ctx.request.purpose
    return [
        c
        for c in ctx.facts.consents
        if c.channel == channel
        and c.purpose == purpose
        and c.given_at <= ctx.at
        and (c.withdrawn_at is None or ctx.at < c.withdrawn_at)
    ]


def consent_state(consents: list[ConsentFact], at: datetime, max_age: timedelta | None) -> str:
    """``valid``, ``expired`` or ``none``."""
    if not consents:
        return "none"
    for consent in consents:
        unexpired = consent.expires_at is None or at < consent.expires_at
        young = max_age is None or at - consent.given_at <= max_age
        if unexpired and young:
            return "valid"
    return "expired"


# --------------------------------------------------------------------------------------------
# checks
# --------------------------------------------------------------------------------------------


def _hours(rule: Rule, ctx: RuleContext) -> Reason | None:
    zones = ctx.contact.timezones
    if not zones:
        return rule.reason(
            ReasonCode.OUTSIDE_HOURS, "The local time of this number is unknown", None
        )
    windows = calendar.FR_CALL_WINDOWS
    if all(calendar.in_windows(calendar.local_time(ctx.at, z), windows) for z in zones):
        return None
    until = calendar.next_common_window_start(ctx.at, zones, windows)
    return rule.reason(
        ReasonCode.OUTSIDE_HOURS,
        "Calls are allowed Mon-Fri 10:00-13:00 and 14:00-20:00 local time",
        until,
    )


def _holiday(rule: Rule, ctx: RuleContext) -> Reason | None:
    region = holiday_region(ctx.contact)
    everywhere = ctx.params.alsace_moselle_everywhere

    def skip(day: date) -> bool:
        return calendar.is_public_holiday(day, region, alsace_moselle_everywhere=everywhere)

    found: Reason | None = None
    for zone in ctx.contact.timezones:
        day = calendar.local_time(ctx.at, zone).date()
        name = calendar.holiday_name(day, region, alsace_moselle_everywhere=everywhere)
        if name is None:
            continue
        until = calendar.end_of_skipped_run(day, zone, skip)
        if found is None or (found.until is not None and until > found.until):
            found = rule.reason(
                ReasonCode.HOLIDAY, f"No prospecting calls on a public holiday ({name})", until
            )
    return found


_PHONE_SCOPE = frozenset(PHONE)


def _cap(rule: Rule, ctx: RuleContext) -> Reason | None:
    if not ctx.facts.attempts:  # no attempt: nothing counts, the cap is not reached
        return None
    times = attempt_times(ctx.facts.attempts, _PHONE_SCOPE)
    state = cap_state(times, ctx.at, LEGAL_CAP_CALLS, days_shift(LEGAL_CAP_DAYS))
    if not state.reached:
        return None
    return rule.reason(
        ReasonCode.LEGAL_CAP,
        f"At most {LEGAL_CAP_CALLS} calls or attempts per {LEGAL_CAP_DAYS} days by the same"
        f" company, all call centres together; {state.used} made",
        state.frees_at,
    )


def _cooldown_end(refused_at: datetime, ctx: RuleContext) -> datetime:
    """60 full calendar days after the day of the refusal, in the person's local time."""
    zone = ctx.contact.timezone or "Europe/Paris"
    local_day = calendar.local_time(refused_at, zone).date()
    end_day = local_day + timedelta(days=REFUSAL_COOLDOWN_DAYS)
    return calendar.next_day_start(end_day, zone)


def _refusal_cooldown(rule: Rule, ctx: RuleContext) -> Reason | None:
    until: datetime | None = None
    for refusal in ctx.facts.refusals:
        if refusal.at > ctx.at or legal_day(refusal.at) >= OPT_IN_SWITCH:
            continue
        end = _cooldown_end(refusal.at, ctx)
        if ctx.at < end and (until is None or end > until):
            until = end
    if until is None:
        return None
    return rule.reason(
        ReasonCode.REFUSAL_COOLDOWN,
        f"The person refused during a call: no contact for {REFUSAL_COOLDOWN_DAYS} days",
        until,
    )


def _refusal_permanent(rule: Rule, ctx: RuleContext) -> Reason | None:
    for refusal in ctx.facts.refusals:
        if refusal.at <= ctx.at and legal_day(refusal.at) >= OPT_IN_SWITCH:
            return rule.reason(
                ReasonCode.OBJECTION,
                "The person refused during a call: never call again",
                None,
            )
    return None


def _consent(rule: Rule, ctx: RuleContext, max_age: timedelta | None, what: str) -> Reason | None:
    state = consent_state(consents_for(ctx, ctx.request.channel), ctx.at, max_age)
    if state == "valid":
        return None
    if state == "expired":
        return rule.reason(ReasonCode.CONSENT_EXPIRED, f"The consent to {what} has expired", None)
    return rule.reason(ReasonCode.NO_CONSENT, f"No prior consent to {what}", None)


def _call_consent(rule: Rule, ctx: RuleContext) -> Reason | None:
    if current_contract(ctx):
        return None
    return _consent(rule, ctx, _max_age(ctx.params), "phone prospecting")


def _max_age(params: Params) -> timedelta:
    return _days(params.consent_max_age_days)


@lru_cache(maxsize=64)
def _days(days: int) -> timedelta:
    return timedelta(days=days)


def existing_customer(ctx: RuleContext) -> bool:
    """A current contract, or one that ended less than ``customer_exception_years`` ago (the
    existing-customer exception of L34-5; the EU packs share it)."""
    years = ctx.params.customer_exception_years
    for contract in ctx.facts.contracts:
        if contract.start > ctx.at:
            continue
        if contract.end is None or ctx.at < contract.end + timedelta(days=365 * years):
            return True
    return False


def _electronic_opt_in(rule: Rule, ctx: RuleContext) -> Reason | None:
    if existing_customer(ctx):
        return None
    return _consent(rule, ctx, None, f"{ctx.request.channel} prospecting")


BLOCTEL_END = datetime.combine(OPT_IN_SWITCH, time(0), tzinfo=LEGAL_ZONE)
"""The Bloctel regime ends (the list is dropped) at midnight starting 11 Aug 2026 in Paris: its
reasons lapse then, on their own (what follows is decided by the consent rule)."""


def _bloctel(rule: Rule, ctx: RuleContext) -> Reason | None:
    if current_contract(ctx):
        return None
    snapshots = [s for s in ctx.facts.snapshots if s.list_name == BLOCTEL and s.as_of <= ctx.at]
    latest = max(snapshots, key=lambda s: s.as_of, default=None)
    if latest is None or ctx.at >= latest.valid_until:
        return rule.reason(
            ReasonCode.OPPOSITION_LIST_STALE,
            "No Bloctel file valid on this date: scrub the list with the operator first",
            BLOCTEL_END,
        )
    if latest.listed:
        return rule.reason(
            ReasonCode.OPPOSITION_LIST, "The number is registered on Bloctel", BLOCTEL_END
        )
    return None


def _banned(sectors: frozenset[Sector], what: str) -> Check:
    def check(rule: Rule, ctx: RuleContext) -> Reason | None:
        if ctx.request.sector not in sectors or current_contract(ctx):
            return None
        return rule.reason(
            ReasonCode.SECTOR_BAN, f"Prospecting for {what} is banned outside a contract", None
        )

    return check


# --------------------------------------------------------------------------------------------
# the pack
# --------------------------------------------------------------------------------------------

RENOVATION = frozenset({Sector.ENERGY_RENOVATION, Sector.HOME_ADAPTATION})
RENOVATION_CHANNELS = frozenset(
    {Channel.CALL, Channel.AUTOMATED_CALL, Channel.SMS, Channel.EMAIL, Channel.MESSAGING}
)

FR_RULES: tuple[Rule, ...] = (
    Rule(
        id="FR.L223-1.bloctel",
        reference="Code de la consommation, art. L223-1 à L223-5 (Bloctel), version 2020",
        summary="Consumers registered on Bloctel may not be called; a file is valid 30 days",
        channels=LIVE_CALL,
        audiences=CONSUMERS,
        effective_from=BLOCTEL_START,
        effective_until=OPT_IN_SWITCH - timedelta(days=1),
        check=_bloctel,
        lists=frozenset({BLOCTEL}),
    ),
    Rule(
        id="FR.L223-1.consent",
        reference=L223_1,
        summary="No phone prospecting of a consumer without prior, provable consent"
        " (current contract excepted); consent older than the maximum age has expired",
        channels=LIVE_CALL,
        audiences=CONSUMERS,
        effective_from=OPT_IN_SWITCH,
        check=_call_consent,
    ),
    Rule(
        id="FR.D223-9.hours",
        reference=D223_9,
        summary="Calls only Mon-Fri 10:00-13:00 and 14:00-20:00 in the consumer's local time",
        channels=PHONE,
        audiences=CONSUMERS,
        effective_from=DECREE_2022_1313,
        check=_hours,
    ),
    Rule(
        id="FR.D223-9.holidays",
        reference=D223_9 + "; Code du travail, art. L3133-1",
        summary="No calls on public holidays (the territory's own days included)",
        channels=PHONE,
        audiences=CONSUMERS,
        effective_from=DECREE_2022_1313,
        check=_holiday,
    ),
    Rule(
        id="FR.D223-9.cap",
        reference=D223_9,
        summary="At most 4 calls or attempts per 30 days per company, all call centres together",
        channels=PHONE,
        audiences=CONSUMERS,
        effective_from=DECREE_2022_1313,
        check=_cap,
    ),
    Rule(
        id="FR.D223-9.refusal",
        reference=D223_9,
        summary="After a refusal during a call, no contact for 60 full calendar days",
        channels=PHONE,
        audiences=CONSUMERS,
        effective_from=DECREE_2022_1313,
        check=_refusal_cooldown,
    ),
    Rule(
        id="FR.L223-1.refusal",
        reference=L223_1,
        summary="A refusal during a call from 11 Aug 2026 is a permanent objection",
        channels=PHONE,
        audiences=CONSUMERS,
        effective_from=OPT_IN_SWITCH,
        check=_refusal_permanent,
    ),
    Rule(
        id="FR.L34-5.opt-in",
        reference="Code des postes et des communications électroniques, art. L34-5",
        summary="E-mail, SMS, automated calls, messaging and fax to consumers need opt-in"
        " (existing customers for similar products excepted)",
        channels=frozenset(ELECTRONIC_CHANNELS),
        audiences=CONSUMERS,
        effective_from=date(2004, 6, 22),
        check=_electronic_opt_in,
    ),
    Rule(
        id="FR.L223-1.sector-renovation-phone",
        reference="Code de la consommation, art. L223-1 (loi n° 2020-901 du 24 juillet 2020,"
        " art. 1)",
        summary="No phone prospecting for energy-saving or renewable-energy works outside a"
        " contract (superseded by the wider 2025 ban)",
        channels=PHONE,
        audiences=CONSUMERS,
        effective_from=RENOVATION_PHONE_BAN,
        effective_until=SECTOR_BANS_2025 - timedelta(days=1),
        check=_banned(frozenset({Sector.ENERGY_RENOVATION}), "energy renovation"),
    ),
    Rule(
        id="FR.L223-1.sector-renovation",
        reference=L223_1,
        summary="No prospecting for energy renovation or home adaptation outside a contract",
        channels=RENOVATION_CHANNELS,
        audiences=CONSUMERS,
        effective_from=SECTOR_BANS_2025,
        check=_banned(RENOVATION, "energy renovation or home adaptation"),
    ),
    Rule(
        id="FR.CPF.sector",
        reference="Loi n° 2022-1587 du 19 décembre 2022 (compte personnel de formation)",
        summary="No prospecting about personal training accounts (CPF) outside a contract",
        channels=EVERY_CHANNEL,
        audiences=CONSUMERS,
        effective_from=date(2022, 12, 21),
        check=_banned(frozenset({Sector.CPF_TRAINING}), "personal training accounts (CPF)"),
    ),
)


def fr_pack(params: Params | None = None) -> RulePack:
    """The French pack: the common rules and the French ones, with the given settings."""
    return RulePack("fr", COMMON_RULES + FR_RULES, params or Params())
