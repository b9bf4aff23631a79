"""Contact points: a phone number in E.164 or a normalised e-mail address.

Pure: no I/O, no clock. Every written form of a number maps to one E.164 value, and anything
that is not a valid number or address raises :class:`permis.errors.InvalidContact` with a
message that never repeats the input.

France has one integrated numbering plan over several E.164 country codes: ``0690 12 34 56``
dialled in France is ``+590 690 12 34 56`` (Guadeloupe), not ``+33 690 12 34 56``.
``phonenumbers`` parses every national form with the ``FR`` metadata, which gives +33 (an
invalid number, or worse a valid metropolitan one for 0596, 0263 and 0269), so the national
digits are routed to their country code here before validation. A number written in the
international form keeps the country code it was written with: ``+33 692 …`` is refused, never
re-routed.

Time zones of French numbers come from a fixed map of the territory; ``phonenumbers`` answers
('Indian/Mayotte', 'Indian/Reunion') for the Réunion mobile ranges and America/Guadeloupe for
Saint-Barthélemy. For other countries every zone the number's range may be in is kept, so that
the caller can apply the most restrictive answer.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import phonenumbers

from permis.errors import InvalidContact, UsageError


class ContactKind(StrEnum):
    PHONE = "phone"
    EMAIL = "email"


METROPOLE: Final = "metropole"

FRENCH_PLAN_ZONES: Final[Mapping[str, str]] = {
    "FR": "Europe/Paris",
    "GP": "America/Guadeloupe",
    "BL": "America/St_Barthelemy",
    "MF": "America/Marigot",
    "MQ": "America/Martinique",
    "GF": "America/Cayenne",
    "RE": "Indian/Reunion",
    "YT": "Indian/Mayotte",
    "PM": "America/Miquelon",
}
"""Region of a number of the French plan (``region_code_for_number``) -> its one IANA zone."""

NATIONAL_REGIONS: Final = frozenset({"FR", "GP", "BL", "MF", "MQ", "GF", "RE", "YT"})
"""Default regions whose national form (0 + 9 digits) is read with the integrated French plan."""

OVERSEAS_PREFIXES: Final[Mapping[str, int]] = {
    # Guadeloupe, Saint-Martin, Saint-Barthélemy
    "590": 590,
    "690": 590,
    "691": 590,
    # Guyane
    "594": 594,
    "694": 594,
    # Martinique
    "596": 596,
    "696": 596,
    "697": 596,
    # La Réunion
    "262": 262,
    "263": 262,
    "692": 262,
    "693": 262,
    # Mayotte
    "269": 262,
    "639": 262,
}
"""First three national digits (after the 0) allotted to an overseas territory -> country code.

A number in these blocks is that territory's or nothing: when it is not valid there, it is
refused (``phonenumbers`` holds 0596, 0263 and 0269 numbers valid as metropolitan +33 ones).
"""

OVERSEAS_CODES: Final = (590, 594, 596, 262, 508)
"""Other ranges (0709…, 0708 4…, 0268 8…, 0598 7…, 09 39 …, 09 47 …, 09 76 …) go to the one
of these country codes under which ``phonenumbers`` finds the number valid; refused when several
do (its metadata overlaps in 09 39 6… and 09 76 …), +33 when none does."""


def _general_patterns(code: int) -> tuple[re.Pattern[str], ...]:
    """The general patterns of ``code``'s regions: a number that matches none of them is not
    valid under ``code`` (``is_valid_number`` checks the general pattern before any other)."""
    found = []
    for region in phonenumbers.region_codes_for_country_code(code):
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        if metadata is not None and metadata.general_desc is not None:
            found.append(re.compile(metadata.general_desc.national_number_pattern or "(?!)"))
    return tuple(found)


_OVERSEAS_GENERAL: Final = {code: _general_patterns(code) for code in OVERSEAS_CODES}
"""A cheap necessary condition before ``is_valid_number`` in :func:`_country_code`: most
national numbers (metropolitan mobiles) match no overseas range and were parsed five times over."""

_SEPARATORS: Final = frozenset(".-/()\u2010\u2011\u2012\u2013\u2014\u2015\u2212")
_DIGITS: Final = frozenset("0123456789")
_MAX_INPUT: Final = 64
_NUMBER_TYPES: Final[Mapping[int, str]] = {
    getattr(phonenumbers.PhoneNumberType, name): name.lower()
    for name in dir(phonenumbers.PhoneNumberType)
    if name.isupper()
}

NOT_A_NUMBER: Final = "not a valid phone number"
AMBIGUOUS: Final = (
    "ambiguous French overseas number: write it in international form (+590, +594, +596, +262)"
)
NOT_AN_ADDRESS: Final = "not a valid e-mail address"


@dataclass(frozen=True, slots=True)
class ContactPoint:
    """A validated phone number or e-mail address, with where and when it rings."""

    kind: ContactKind
    value: str
    """E.164 (``+33612345678``) or the normalised, lower-cased e-mail address."""
    country: str | None
    """ISO 3166-1 alpha-2 region of the number (``FR``, ``RE``, ``US``…); None for e-mail."""
    region: str | None
    """French plan: ``metropole`` or the territory code (``GP``…``PM``); None otherwise."""
    timezones: tuple[str, ...]
    """Every IANA zone the number may ring in; ``()`` for e-mail or when none is known."""
    line_type: str | None
    """``mobile``, ``fixed_line``, ``voip``… (``phonenumbers.number_type``); None for e-mail."""

    @property
    def timezone(self) -> str | None:
        """The primary zone: the first of :attr:`timezones`, or None."""
        return self.timezones[0] if self.timezones else None

    def masked(self) -> str:
        """The value with most of it hidden, for logs and messages."""
        return mask(self.value)


def parse_contact(text: str, default_region: str = "FR") -> ContactPoint:
    """An e-mail address when ``text`` has an ``@``, else a phone number."""
    if "@" in text:
        return parse_email(text)
    return parse_phone(text, default_region)


def parse_phone(text: str, default_region: str = "FR") -> ContactPoint:
    """Parse and validate a phone number written in any common form."""
    region = default_region.upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise UsageError(f"unknown default region {default_region!r}")
    plus, digits = _compact(text)
    if region in NATIONAL_REGIONS:
        number = _french_plan_number(plus, digits)
    else:
        try:
            number = phonenumbers.parse(("+" if plus else "") + digits, region)
        except phonenumbers.NumberParseException:
            raise InvalidContact(NOT_A_NUMBER) from None
    if number.extension or not phonenumbers.is_valid_number(number):
        raise InvalidContact(NOT_A_NUMBER)
    return _phone_point(number)


def parse_email(text: str) -> ContactPoint:
    """Validate an address (syntax only, no DNS) and normalise it for matching."""
    from email_validator import EmailNotValidError, validate_email  # lazy: 20 ms to import

    try:
        result = validate_email(text.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise InvalidContact(NOT_AN_ADDRESS) from None
    return ContactPoint(ContactKind.EMAIL, result.normalized.lower(), None, None, (), None)


def contact_hash(value: str, key: bytes) -> str:
    """Hex HMAC-SHA256 of a normalised value (``ContactPoint.value``), keyed per principal."""
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def mask(value: str) -> str:
    """Hide most of an E.164 number or e-mail address: ``+336******78``, ``j***@example.org``."""
    if "@" in value:
        local, _, domain = value.rpartition("@")
        return f"{local[:1]}***@{domain}"
    if len(value) < 8:
        return value[:1] + "*" * (len(value) - 1)
    return value[:4] + "*" * (len(value) - 6) + value[-2:]


def _compact(text: str) -> tuple[bool, str]:
    """(written with a leading +, the digits), with separators, ``tel:`` and trunk ``(0)`` gone.

    Anything else (letters, ``#``, ``;ext=``, a second +) is refused: ``phonenumbers`` would turn
    ``(bureau)`` into keypad digits and an extension into a dialable-looking number.
    """
    raw = text.strip()
    if raw[:4].lower() == "tel:":
        raw = raw[4:].lstrip()
    if not raw or len(raw) > _MAX_INPUT:
        raise InvalidContact(NOT_A_NUMBER)
    plus = raw.startswith("+")
    chars = "".join(ch for ch in raw[1:] if not ch.isspace()) if plus else "".join(raw.split())
    if chars.count("(0)") > 1:
        raise InvalidContact(NOT_A_NUMBER)
    if "(0)" in chars and not chars.startswith("(0)"):
        chars = chars.replace("(0)", "", 1)  # a trunk prefix written after a country code
    if not chars or any(ch not in _DIGITS and ch not in _SEPARATORS for ch in chars):
        raise InvalidContact(NOT_A_NUMBER)
    digits = "".join(ch for ch in chars if ch in _DIGITS)
    if not digits:
        raise InvalidContact(NOT_A_NUMBER)
    return plus, digits


def _french_plan_number(plus: bool, digits: str) -> phonenumbers.PhoneNumber:
    """The number, read with the integrated French plan for national forms."""
    if plus or digits.startswith("00"):
        try:
            return phonenumbers.parse("+" + (digits if plus else digits[2:]), None)
        except phonenumbers.NumberParseException:
            raise InvalidContact(NOT_A_NUMBER) from None
    if len(digits) == 10 and digits.startswith("0"):
        nsn = digits[1:]
    elif len(digits) == 9 and not digits.startswith("0"):
        nsn = digits  # the 9 national digits without the trunk 0
    else:
        raise InvalidContact(NOT_A_NUMBER)
    return phonenumbers.PhoneNumber(country_code=_country_code(nsn), national_number=int(nsn))


def _country_code(nsn: str) -> int:
    """The country code of 9 national digits of the French plan."""
    if nsn.startswith("8"):
        return 33  # special-rate and free numbers are metropolitan numbers reachable everywhere
    code = OVERSEAS_PREFIXES.get(nsn[:3])
    if code is not None:
        return code
    national = int(nsn)
    found = [
        cc
        for cc in OVERSEAS_CODES
        if any(pattern.fullmatch(nsn) for pattern in _OVERSEAS_GENERAL[cc])
        and phonenumbers.is_valid_number(
            phonenumbers.PhoneNumber(country_code=cc, national_number=national)
        )
    ]
    if len(found) > 1:
        raise InvalidContact(AMBIGUOUS)
    return found[0] if found else 33


def _phone_point(number: phonenumbers.PhoneNumber) -> ContactPoint:
    code = phonenumbers.region_code_for_number(number)
    country = code if code and len(code) == 2 and code.isalpha() else None
    zone = FRENCH_PLAN_ZONES.get(country or "")
    if zone is not None:
        region: str | None = METROPOLE if country == "FR" else country
        timezones: tuple[str, ...] = (zone,)
    else:
        region = None
        timezones = _zones(number)
    return ContactPoint(
        ContactKind.PHONE,
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        country,
        region,
        timezones,
        _NUMBER_TYPES.get(phonenumbers.number_type(number), "unknown"),
    )


def _zones(number: phonenumbers.PhoneNumber) -> tuple[str, ...]:
    """Every zone ``phonenumbers`` knows for the number's range, sorted; the timezone data is
    imported on first use (slower to load than the rest of the library)."""
    from phonenumbers import timezone as pn_timezone

    zones = pn_timezone.time_zones_for_number(number)
    return tuple(sorted({z for z in zones if z != pn_timezone.UNKNOWN_TIMEZONE}))
