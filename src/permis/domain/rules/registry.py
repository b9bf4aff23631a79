"""Which rule pack decides a contact: the pure selector.

The pack is chosen by the contact point's country (``ContactPoint.country``, from the number's
country code and, for +1, its area code: +1 416 is Canada, +1 787 Puerto Rico), unless the
principal has an override (``PERMIS_RULE_PACK_OVERRIDES=acme=us,choucroute=fr``): then that pack
decides every contact of that principal. A contact without a country (an e-mail address, a number
that could not be parsed) and a country no pack covers get the default pack, the French one: the
strictest Permis knows (prior consent to calls since 11 Aug 2026).

``pack_for`` reads nothing but the contact's kind and country, both part of the signature the
bulk scrub groups rows by: the scrub and the single check pick the same pack for the same row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Final

from permis.domain.contact import ContactPoint
from permis.domain.rules.base import Params, Rule, RulePack
from permis.errors import ConfigError, UsageError

DEFAULT_PACK: Final = "fr"

FRENCH_PLAN: Final = ("FR", "GP", "BL", "MF", "MQ", "GF", "RE", "YT", "PM")
US_TERRITORIES: Final = ("US", "PR", "GU", "VI", "AS", "MP")
"""Territories of the North American plan under US federal law (TCPA, TSR)."""
EU_EEA: Final = [
    "AT",
    "BG",
    "HR",
    "CY",
    "CZ",
    "DK",
    "EE",
    "FI",
    "GR",
    "HU",
    "IE",
    "IT",
    "LV",
    "LT",
    "LU",
    "MT",
    "NL",
    "PL",
    "PT",
    "RO",
    "SK",
    "SI",
    "SE",
    "AX",
    "IS",
    "LI",
    "NO",
]
"""Member states without a pack of their own, and the EEA states, take the EU baseline."""

COUNTRY_PACKS: Final[Mapping[str, str]] = MappingProxyType(
    {
        **dict.fromkeys(FRENCH_PLAN, "fr"),
        **dict.fromkeys(US_TERRITORIES, "us"),
        **dict.fromkeys(EU_EEA, "eu"),
        "DE": "de",
        "ES": "es",
        "BE": "be",
        "GB": "uk",
        "CA": "ca",
    }
)
"""ISO 3166-1 region of the number -> pack name."""


@dataclass(frozen=True, slots=True)
class Rulebook:
    """Every rule pack, the country map, the default pack and the principals' overrides."""

    packs: tuple[RulePack, ...]
    default: str = DEFAULT_PACK
    countries: Mapping[str, str] = field(default_factory=lambda: COUNTRY_PACKS)
    overrides: Mapping[str, str] = field(default_factory=dict)
    """Principal name -> pack name."""
    _by_name: dict[str, RulePack] = field(
        init=False, default_factory=dict, repr=False, compare=False, hash=False
    )
    """Pack name -> pack (the first of a name, as :meth:`pack` finds it)."""

    def __post_init__(self) -> None:
        names = {pack.name for pack in self.packs}
        wanted = {self.default, *self.overrides.values()}
        if not wanted <= names:
            missing = ", ".join(sorted(wanted - names))
            raise ConfigError(
                f"unknown rule pack(s): {missing} (known: {', '.join(sorted(names))})"
            )
        for pack in self.packs:
            self._by_name.setdefault(pack.name, pack)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(pack.name for pack in self.packs)

    def pack(self, name: str) -> RulePack:
        found = self._by_name.get(name)
        if found is not None:
            return found
        raise UsageError(f"unknown rule pack {name!r}: one of {', '.join(self.names)}")

    def override_for(self, principal: str | None) -> str | None:
        return self.overrides.get(principal) if principal is not None else None

    def pack_for(self, contact: ContactPoint | None, override: str | None = None) -> RulePack:
        """The pack that decides ``contact``; ``override`` (a pack name) wins."""
        if override is not None:
            return self.pack(override)
        country = contact.country if contact is not None else None
        name = self.countries.get(country, self.default) if country else self.default
        found = self._by_name.get(name)
        return found if found is not None else self.pack(self.default)

    def union(self) -> RulePack:
        """Every rule of every pack once (by id): what a bulk scrub must load lists for."""
        if len(self.packs) == 1:
            return self.packs[0]
        seen: dict[str, Rule] = {}
        for pack in self.packs:
            for rule in pack.rules:
                seen.setdefault(rule.id, rule)
        default = self.pack(self.default)
        return RulePack("all", tuple(seen.values()), default.params, default.frozen_on)

    def version(self, at: datetime, used: set[str] | None = None) -> str:
        """The versions of the packs ``used`` (default: the default pack), sorted, joined."""
        names = sorted(used) if used else [self.default]
        return ",".join(self.pack(name).version(at) for name in names)


def as_rulebook(rules: RulePack | Rulebook) -> Rulebook:
    """A lone pack is a rulebook where it decides every contact (the behaviour before packs)."""
    if isinstance(rules, Rulebook):
        return rules
    return Rulebook((rules,), rules.name, MappingProxyType({}))


def all_packs(params: Params | None = None) -> tuple[RulePack, ...]:
    from permis.domain.rules.ca import ca_pack
    from permis.domain.rules.eu import be_pack, de_pack, es_pack, eu_pack
    from permis.domain.rules.fr import fr_pack
    from permis.domain.rules.uk import uk_pack
    from permis.domain.rules.us import us_pack

    builders = (fr_pack, eu_pack, de_pack, es_pack, be_pack, us_pack, uk_pack, ca_pack)
    return tuple(build(params) for build in builders)


def build_rulebook(params: Params | None = None, overrides: str = "") -> Rulebook:
    """Every pack with ``params``; ``overrides`` as written in the setting."""
    return Rulebook(all_packs(params), overrides=parse_overrides(overrides))


def parse_overrides(text: str) -> dict[str, str]:
    """``acme=us, choucroute=fr`` -> ``{"acme": "us", "choucroute": "fr"}``."""
    found: dict[str, str] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        principal, sep, pack = item.partition("=")
        if not sep or not principal.strip() or not pack.strip():
            raise ConfigError(
                "PERMIS_RULE_PACK_OVERRIDES must read principal=pack[,principal=pack...]"
            )
        found[principal.strip()] = pack.strip().lower()
    return found


def parse_pack_on(text: str, book: Rulebook) -> RulePack:
    """``us@2004-06-01``: pack ``us`` with its rules frozen as in force that day (what-if)."""
    from datetime import date

    name, sep, day = text.partition("@")
    pack = book.pack(name.strip().lower())
    if not sep:
        return pack
    try:
        return pack.on(date.fromisoformat(day.strip()))
    except ValueError:
        raise UsageError(f"--rules: not PACK@YYYY-MM-DD: {text!r}") from None
