"""Which pack decides a contact, overrides, frozen packs, and dated rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from zoneinfo import ZoneInfo

import pytest

from permis.domain.contact import parse_contact
from permis.domain.decide import decide
from permis.domain.model import Channel, CheckRequest, Facts, Reason, ReasonCode
from permis.domain.rules.base import CONSUMERS, PHONE, Rule, RuleContext, RulePack
from permis.domain.rules.registry import (
    Rulebook,
    as_rulebook,
    build_rulebook,
    parse_overrides,
    parse_pack_on,
)
from permis.domain.rules.us import us_pack
from permis.errors import ConfigError, UsageError
from tests.unit.packs_table import snapshot, t


@pytest.mark.parametrize(
    ("contact", "pack"),
    [
        ("06 12 34 56 78", "fr"),
        ("0690 12 34 56", "fr"),  # Guadeloupe
        ("+262 692 12 34 56", "fr"),  # La Réunion
        ("+1 415 555 0123", "us"),
        ("+1 787 555 0123", "us"),  # Puerto Rico
        ("+1 416 555 0123", "ca"),  # +1 but Toronto
        ("+1 709 555 0123", "ca"),
        ("+44 20 7946 0000", "uk"),
        ("+49 30 123456", "de"),
        ("+34 612 345 678", "es"),
        ("+32 470 12 34 56", "be"),
        ("+39 06 1234 5678", "eu"),
        ("+31 20 123 4567", "eu"),
        ("+41 44 123 45 67", "fr"),  # Switzerland: no pack, the default
        ("jean@example.de", "fr"),  # an e-mail address has no country
    ],
)
def test_the_pack_follows_the_number(contact: str, pack: str) -> None:
    assert build_rulebook().pack_for(parse_contact(contact)).name == pack


def test_an_unparsed_contact_gets_the_default_pack() -> None:
    assert build_rulebook().pack_for(None).name == "fr"


def test_a_principal_override_wins_over_the_country() -> None:
    book = build_rulebook(overrides="acme=US, choucroute = fr")
    us_number = parse_contact("+14155550123")
    assert book.override_for("choucroute") == "fr"
    assert book.pack_for(us_number, book.override_for("choucroute")).name == "fr"
    assert book.pack_for(parse_contact("0612345678"), book.override_for("acme")).name == "us"
    assert book.pack_for(us_number, book.override_for("other")).name == "us"
    assert book.override_for(None) is None


@pytest.mark.parametrize("text", ["acme", "acme=", "=us", "acme=us,bad"])
def test_malformed_overrides_are_refused(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_overrides(text)


def test_an_override_to_an_unknown_pack_is_refused() -> None:
    with pytest.raises(ConfigError, match="mars"):
        build_rulebook(overrides="acme=mars")


def test_a_lone_pack_decides_every_contact() -> None:
    book = as_rulebook(us_pack())
    assert book.pack_for(parse_contact("0612345678")).name == "us"
    assert as_rulebook(book) is book


def test_the_union_reads_every_list_once() -> None:
    union = build_rulebook().union()
    assert {"bloctel", "us-dnc", "uk-tps", "uk-ctps", "ca-dncl", "es-robinson", "be-dncm"} <= (
        union.lists
    )
    ids = [rule.id for rule in union.rules]
    assert len(ids) == len(set(ids))


def test_pack_at_date_freezes_the_rules() -> None:
    book = build_rulebook()
    frozen = parse_pack_on("fr@2026-08-01", book)
    after = t("2026-11-30T11:00:00+01:00")
    assert frozen.version(after) == "fr-2025-07-02"
    ids = {rule.id for rule in frozen.in_force(after)}
    assert "FR.L223-1.bloctel" in ids and "FR.L223-1.consent" not in ids
    assert parse_pack_on("us", book).frozen_on is None
    with pytest.raises(UsageError):
        parse_pack_on("fr@yesterday", book)
    with pytest.raises(UsageError):
        parse_pack_on("mars@2026-01-01", book)


def test_rulebook_version_names_the_packs_used() -> None:
    book = build_rulebook()
    at = t("2026-11-30T11:00:00+01:00")
    assert book.version(at) == "fr-2026-08-11"
    assert book.version(at, {"us", "fr"}) == "fr-2026-08-11,us-2018-05-25"


# -- a decision for a past date uses that date's rules, after a newer rule was added -----------


def _weekday_only(rule: Rule, ctx: RuleContext) -> Reason | None:
    local = ctx.at.astimezone(ZoneInfo("America/Los_Angeles"))
    if local.weekday() < 5:
        return None
    return rule.reason(ReasonCode.OUTSIDE_HOURS, "No calls at weekends (new rule)", None)


def test_a_past_decision_keeps_its_rules_after_a_newer_rule_is_added() -> None:
    old = us_pack()
    newer = Rule(
        id="US.TEST.weekends",
        reference="A rule added later, in force from 1 Feb 2027",
        summary="No calls at weekends",
        channels=PHONE,
        audiences=CONSUMERS,
        effective_from=date(2027, 2, 1),
        check=_weekday_only,
    )
    new = replace(old, rules=(*old.rules, newer))
    contact = parse_contact("+14155550123")
    facts = Facts(snapshots=(snapshot("us-dnc", "2026-12-01T00:00:00-08:00"),))
    saturday = t("2026-12-05T10:00:00-08:00")
    request = CheckRequest(contact, Channel.CALL, saturday)
    before, after = decide(request, facts, old), decide(request, facts, new)
    assert before.allowed and after.allowed
    assert before.rules_version == after.rules_version == "us-2018-05-25"
    later = replace(request, at=t("2027-02-06T10:00:00-08:00"))
    facts_later = Facts(snapshots=(snapshot("us-dnc", "2027-02-01T00:00:00-08:00"),))
    refused = decide(later, facts_later, new)
    assert refused.codes == ("OUTSIDE_HOURS",) and refused.rules_version == "us-2027-02-01"
    assert decide(later, facts_later, old).allowed
    frozen = decide(later, facts_later, new.on(date(2026, 12, 5)))
    assert frozen.allowed and frozen.rules_version == "us-2018-05-25"


def test_rulebook_refuses_a_default_it_does_not_hold() -> None:
    with pytest.raises(ConfigError):
        Rulebook((us_pack(),), default="fr")


def test_packs_of_the_book_are_named_once() -> None:
    names = build_rulebook().names
    assert len(names) == len(set(names)) == 8
    assert isinstance(build_rulebook().pack("uk"), RulePack)


@pytest.mark.parametrize(
    "text", ["+14155550123", "+16045550123", "+447400123456", "0612345678", "+32470123456"]
)
def test_the_choice_reads_only_what_the_scrub_signature_holds(text: str) -> None:
    """The scrub rebuilds a contact point from its signature (no value, no line type)."""
    from permis.domain.contact import ContactPoint

    full = parse_contact(text)
    rebuilt = ContactPoint(full.kind, "", full.country, full.region, full.timezones, None)
    book = build_rulebook()
    assert book.pack_for(rebuilt).name == book.pack_for(full).name
