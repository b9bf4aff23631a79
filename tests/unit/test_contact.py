"""Contact points: every written form of a number, the French overseas plan, e-mail, hashing."""

from __future__ import annotations

import hashlib
import hmac
import random
from typing import Any

import phonenumbers
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from permis.domain import contact
from permis.domain.contact import (
    ContactKind,
    ContactPoint,
    contact_hash,
    mask,
    parse_contact,
    parse_email,
    parse_phone,
)
from permis.errors import InvalidContact, UsageError

MOBILE = "+33612345678"

# --- written forms ------------------------------------------------------------------------------

WRITTEN_FORMS = [
    "06 12 34 56 78",
    "+33 6 12 34 56 78",
    "+33612345678",
    "0033612345678",
    "0033 6 12 34 56 78",
    "(0)6-12-34-56-78",
    "(0)6 12 34 56 78",
    "+33 (0)6 12 34 56 78",
    "+33(0)612345678",
    "0033 (0)6 12 34 56 78",
    "06.12.34.56.78",
    "06-12-34-56-78",
    "06/12/34/56/78",
    "0612345678",
    "612345678",
    "6 12 34 56 78",
    "tel:+33612345678",
    "TEL:+33-6-12-34-56-78",
    "tel: 06 12 34 56 78",
    "  06 12 34 56 78  ",
    "\t+33 6 12 34 56 78\n",
    "06\u00a012\u00a034\u00a056\u00a078",  # no-break spaces (French typography)
    "06\u202f12\u202f34\u202f56\u202f78",  # narrow no-break spaces
    "06\u201112\u201134\u201156\u201178",  # non-breaking hyphens
    "+330612345678",  # trunk 0 kept after the country code: phonenumbers drops it
]


@pytest.mark.parametrize("text", WRITTEN_FORMS)
def test_every_written_form_is_the_same_number(text: str) -> None:
    point = parse_phone(text)
    assert point == ContactPoint(
        ContactKind.PHONE, MOBILE, "FR", "metropole", ("Europe/Paris",), "mobile"
    )
    assert point.timezone == "Europe/Paris"


@pytest.mark.parametrize(
    ("text", "value", "line_type"),
    [
        ("01 46 12 34 56", "+33146123456", "fixed_line"),
        ("04 72 12 34 56", "+33472123456", "fixed_line"),
        ("05 56 12 34 56", "+33556123456", "fixed_line"),
        ("07 81 23 45 67", "+33781234567", "mobile"),
        ("09 51 23 45 67", "+33951234567", "voip"),
        ("0 800 12 34 56", "+33800123456", "toll_free"),
        ("08 92 12 34 56", "+33892123456", "premium_rate"),
    ],
)
def test_metropolitan_numbers(text: str, value: str, line_type: str) -> None:
    point = parse_phone(text)
    assert (point.value, point.country, point.region) == (value, "FR", "metropole")
    assert point.timezones == ("Europe/Paris",)
    assert point.line_type == line_type


# --- the French overseas plan (trap 1) ----------------------------------------------------------

OVERSEAS = [
    # national form, E.164, country, timezone, line type
    ("0590 81 23 45", "+590590812345", "GP", "America/Guadeloupe", "fixed_line"),
    ("0590 27 12 34", "+590590271234", "BL", "America/St_Barthelemy", "fixed_line"),
    ("0590 87 76 54", "+590590877654", "BL", "America/St_Barthelemy", "fixed_line"),
    ("0590 07 12 34", "+590590071234", "MF", "America/Marigot", "fixed_line"),
    ("0690 12 34 56", "+590690123456", "GP", "America/Guadeloupe", "mobile"),
    ("0691 23 12 34", "+590691231234", "GP", "America/Guadeloupe", "mobile"),
    ("0594 12 34 56", "+594594123456", "GF", "America/Cayenne", "fixed_line"),
    ("0694 12 34 56", "+594694123456", "GF", "America/Cayenne", "mobile"),
    ("0596 30 12 34", "+596596301234", "MQ", "America/Martinique", "fixed_line"),
    ("0696 12 34 56", "+596696123456", "MQ", "America/Martinique", "mobile"),
    ("0697 12 34 56", "+596697123456", "MQ", "America/Martinique", "mobile"),
    ("0262 12 34 56", "+262262123456", "RE", "Indian/Reunion", "fixed_line"),
    ("0263 01 23 45", "+262263012345", "RE", "Indian/Reunion", "fixed_line"),
    ("0692 12 34 56", "+262692123456", "RE", "Indian/Reunion", "mobile"),
    ("0693 12 34 56", "+262693123456", "RE", "Indian/Reunion", "mobile"),
    ("0269 60 12 34", "+262269601234", "YT", "Indian/Mayotte", "fixed_line"),
    ("0639 01 23 45", "+262639012345", "YT", "Indian/Mayotte", "mobile"),
    # ranges not in the prefix table, routed because phonenumbers validates them overseas only
    ("0709 00 12 34", "+590709001234", "GP", "America/Guadeloupe", "mobile"),
    ("0709 10 12 34", "+596709101234", "MQ", "America/Martinique", "mobile"),
    ("0709 20 12 34", "+262709201234", "RE", "Indian/Reunion", "mobile"),
    ("0709 30 12 34", "+594709301234", "GF", "America/Cayenne", "mobile"),
    ("0709 35 12 34", "+262709351234", "YT", "Indian/Mayotte", "mobile"),
    ("0708 40 12 34", "+508708401234", "PM", "America/Miquelon", "mobile"),
    ("0947 51 23 45", "+590947512345", "GP", "America/Guadeloupe", "voip"),
    ("0976 41 23 45", "+594976412345", "GF", "America/Cayenne", "voip"),
    ("0268 81 23 45", "+262268812345", "RE", "Indian/Reunion", "fixed_line"),
    ("0268 91 23 45", "+262268912345", "YT", "Indian/Mayotte", "fixed_line"),
]


@pytest.mark.parametrize(("text", "value", "country", "zone", "line_type"), OVERSEAS)
def test_overseas_numbers_in_national_form(
    text: str, value: str, country: str, zone: str, line_type: str
) -> None:
    point = parse_phone(text)
    assert point == ContactPoint(ContactKind.PHONE, value, country, country, (zone,), line_type)


@pytest.mark.parametrize(("text", "value", "country", "zone", "line_type"), OVERSEAS)
def test_overseas_numbers_in_every_form(
    text: str, value: str, country: str, zone: str, line_type: str
) -> None:
    nsn = text.replace(" ", "")[1:]
    code = value[1 : len(value) - len(nsn)]
    for form in (value, f"00{code}{nsn}", f"+{code} {nsn}", nsn, f"(0){nsn}", f"tel:{value}"):
        assert parse_phone(form).value == value, form
    # the integrated plan holds from any French territory, not from metropolitan France only
    for region in ("GP", "RE", "YT", "GF", "MQ", "BL", "MF"):
        assert parse_phone(text, region).value == value


def test_reunion_mobiles_get_one_zone_not_phonenumbers_pair() -> None:
    from phonenumbers import timezone

    number = phonenumbers.parse("+262692123456")
    assert timezone.time_zones_for_number(number) == ("Indian/Mayotte", "Indian/Reunion")
    assert parse_phone("0692 12 34 56").timezones == ("Indian/Reunion",)


def test_saint_barthelemy_gets_its_own_zone() -> None:
    from phonenumbers import timezone

    number = phonenumbers.parse("+590590271234")
    assert timezone.time_zones_for_number(number) == ("America/Guadeloupe",)
    assert parse_phone("+590 590 27 12 34").timezones == ("America/St_Barthelemy",)


def test_saint_pierre_et_miquelon_international_form() -> None:
    point = parse_phone("+508 41 23 45")
    assert (point.value, point.country, point.region) == ("+508412345", "PM", "PM")
    assert point.timezones == ("America/Miquelon",)


@pytest.mark.parametrize(
    "text",
    [
        "+33 692 12 34 56",  # an overseas mobile written with +33: refused, never re-routed
        "+33692123456",
        "0033 692 12 34 56",
        "+33 690 12 34 56",
        "+33 (0)692 12 34 56",
        "+33 0692 12 34 56",
    ],
)
def test_overseas_number_with_metropolitan_code_is_refused(text: str) -> None:
    with pytest.raises(InvalidContact):
        parse_phone(text)


@pytest.mark.parametrize("text", ["0596 11 01 23", "0263 50 12 34", "0269 99 12 34"])
def test_overseas_block_never_falls_back_to_metropole(text: str) -> None:
    # phonenumbers' FR metadata holds these as valid +33 fixed lines; the plan allots them
    # overseas, where these particular numbers are not valid: refused
    nsn = text.replace(" ", "")[1:]
    assert phonenumbers.is_valid_number(phonenumbers.parse(f"+33{nsn}"))
    with pytest.raises(InvalidContact):
        parse_phone(text)


@pytest.mark.parametrize("text", ["0976 01 23 45", "0939 61 23 45", "0976 91 23 45"])
def test_overlapping_overseas_ranges_are_refused_in_national_form(text: str) -> None:
    with pytest.raises(InvalidContact, match="ambiguous"):
        parse_phone(text)


def test_overlapping_range_is_accepted_in_international_form() -> None:
    point = parse_phone("+590 976 01 23 45")
    assert (point.value, point.country) == ("+590976012345", "GP")


def test_prefix_table_matches_the_brief() -> None:
    assert OVERSEAS_PREFIXES == contact.OVERSEAS_PREFIXES  # the brief's table, written below


# --- foreign numbers ----------------------------------------------------------------------------


def test_us_number_with_one_zone() -> None:
    point = parse_phone("+1 212-555-1234")
    assert (point.value, point.country, point.region) == ("+12125551234", "US", None)
    assert point.timezones == ("America/New_York",)
    assert point.line_type == "fixed_line_or_mobile"


@pytest.mark.parametrize(
    ("text", "zones"),
    [
        ("+1 208 456 7890", ("America/Boise", "America/Los_Angeles")),  # Idaho
        ("+34 612 34 56 78", ("Atlantic/Canary", "Europe/Madrid")),  # Spanish mobile
    ],
)
def test_every_zone_of_a_range_is_kept(text: str, zones: tuple[str, ...]) -> None:
    point = parse_phone(text)
    assert point.timezones == zones
    assert point.timezone == zones[0]
    assert point.region is None


def test_russian_mobile_keeps_all_its_zones_sorted() -> None:
    point = parse_phone("+7 916 123-45-67")
    assert point.country == "RU"
    assert len(point.timezones) > 10
    assert "Europe/Moscow" in point.timezones
    assert "Asia/Vladivostok" in point.timezones
    assert list(point.timezones) == sorted(set(point.timezones))


def test_non_geographic_number_has_no_country_and_no_zone() -> None:
    point = parse_phone("+800 1234 5678")
    assert (point.value, point.country, point.region, point.timezones) == (
        "+80012345678",
        None,
        None,
        (),
    )
    assert point.timezone is None


@pytest.mark.parametrize("text", ["(208) 456-7890", "208.456.7890", "+1 208 456 7890"])
def test_other_default_region(text: str) -> None:
    assert parse_phone(text, "US").value == "+12084567890"


def test_lower_case_default_region() -> None:
    assert parse_phone("06 12 34 56 78", "fr").value == MOBILE


def test_nine_digit_form_from_an_overseas_territory_is_still_the_french_plan() -> None:
    assert parse_phone("612345678", "RE").value == MOBILE


def test_unknown_default_region() -> None:
    with pytest.raises(UsageError):
        parse_phone("06 12 34 56 78", "XX")


# --- invalid numbers (trap 2) -------------------------------------------------------------------

INVALID_PHONES = [
    "tel: 06 12 34 56 78 (bureau)",  # phonenumbers reads the letters as keypad digits
    "06 12 34 56 78 (bureau)",
    "06 12 34 56 78 ext 12",
    "06 12 34 56 78 x12",
    "+33612345678;ext=1",
    "06 12 34 56 78 #12",
    "06 12 34 56",  # too short
    "06 12 34 56 7",
    "06 12 34 56 78 9",  # too long
    "+33 6 12 34 56 78 9",
    "0033 6 12 34 56 78 90",
    "12345",
    "",
    "   ",
    "tel:",
    "+",
    "abc",
    "06 AB 34 56 78",
    "06 12 34 56 78 bureau",
    "+33 692 12 34 56",
    "++33612345678",
    "+33+612345678",
    "0612345678@",
    "00 12 34 56 78",  # "00" is the international prefix, not a number
    "08 70 12 34 56",  # not in the plan
    "07 01 23 45 67",
    "+1 555 555 5555",
    "+999 123456789",
    "+33 (0)6 12 (0)3 45 67",
    "\uff10\uff16\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18",  # full-width digits
    "06 12 34 56 78 " + "0 " * 40,
    "0" * 200,
]


@pytest.mark.parametrize("text", INVALID_PHONES)
def test_invalid_numbers_are_refused(text: str) -> None:
    with pytest.raises(InvalidContact) as info:
        parse_phone(text)
    _assert_message_is_clean(info.value, text)


def test_the_bureau_trap_would_be_a_seventeen_digit_number() -> None:
    number = phonenumbers.parse("tel: 06 12 34 56 78 (bureau)", "FR")
    assert len(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)) == 18
    assert not phonenumbers.is_valid_number(number)


def _assert_message_is_clean(error: InvalidContact, text: str) -> None:
    message = str(error)
    assert message == error.message
    stripped = text.strip()
    if len(stripped) >= 5:
        assert stripped not in message
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) >= 4:
        assert digits not in message
        assert digits[-4:] not in message
    assert error.__cause__ is None
    assert error.__suppress_context__ or error.__context__ is None


# --- hypothesis: every written form of a valid French number ------------------------------------

METROPOLITAN_FIRST_DIGITS = "123456790"
OVERSEAS_PREFIXES = {
    "590": 590,
    "690": 590,
    "691": 590,
    "594": 594,
    "694": 594,
    "596": 596,
    "696": 596,
    "697": 596,
    "262": 262,
    "263": 262,
    "692": 262,
    "693": 262,
    "269": 262,
    "639": 262,
}


def _valid(code: int, nsn: str) -> bool:
    number = phonenumbers.PhoneNumber(country_code=code, national_number=int(nsn))
    return phonenumbers.is_valid_number(number)


@st.composite
def french_numbers(draw: st.DrawFn) -> tuple[int, str]:
    """(country code, 9 national digits) of a valid number of the French plan."""
    if draw(st.booleans()):
        prefix = draw(st.sampled_from(sorted(OVERSEAS_PREFIXES)))
        code = OVERSEAS_PREFIXES[prefix]
    else:
        prefix = draw(st.sampled_from(METROPOLITAN_FIRST_DIGITS))
        code = 33
    nsn = prefix + draw(st.text("0123456789", min_size=9 - len(prefix), max_size=9 - len(prefix)))
    assume(_valid(code, nsn))
    if code == 33:  # a metropolitan number, not one in a block allotted overseas
        assume(nsn[:3] not in OVERSEAS_PREFIXES)
        assume(not any(_valid(cc, nsn) for cc in (590, 594, 596, 262, 508)))
    return code, nsn


def _group(digits: str, sizes: list[int], sep: str) -> str:
    parts, i = [], 0
    for size in sizes:
        parts.append(digits[i : i + size])
        i += size
    if i < len(digits):
        parts.append(digits[i:])
    return sep.join(p for p in parts if p)


@st.composite
def written_forms(draw: st.DrawFn, code: int, nsn: str) -> str:
    sep = draw(st.sampled_from([" ", ".", "-", "", "  ", " - ", "/"]))
    national = "0" + nsn
    grouped_national = draw(
        st.sampled_from(
            [
                _group(national, [2, 2, 2, 2, 2], sep),
                _group(national, [4, 2, 2, 2], sep),
                _group(national, [1, 3, 2, 3], sep),
            ]
        )
    )
    grouped_nsn = _group(nsn, [1, 2, 2, 2, 2], sep)
    form = draw(
        st.sampled_from(
            [
                grouped_national,
                national,
                f"+{code}{nsn}",
                f"+{code} {grouped_nsn}",
                f"+{code}{sep}{grouped_nsn}",
                f"00{code}{nsn}",
                f"00 {code} {grouped_nsn}",
                f"(0){grouped_nsn}",
                f"(0) {grouped_nsn}",
                f"+{code} (0){grouped_nsn}",
                nsn,
                grouped_nsn,
            ]
        )
    )
    if draw(st.booleans()):
        form = draw(st.sampled_from(["tel:", "TEL:", "tel: "])) + form
    return draw(st.sampled_from(["", " ", "\t"])) + form + draw(st.sampled_from(["", " ", "\n"]))


@given(st.data())
def test_every_written_form_of_a_french_number_gives_one_e164(data: st.DataObject) -> None:
    code, nsn = data.draw(french_numbers())
    expected = f"+{code}{nsn}"
    for _ in range(3):
        text = data.draw(written_forms(code, nsn))
        point = parse_phone(text)
        assert point.value == expected, text
        assert point.region == ("metropole" if code == 33 else point.country)
        assert len(point.timezones) == 1
        assert nsn not in point.masked()


@given(st.one_of(st.text(max_size=30), st.text("0123456789 +-.()/tel:", max_size=25)))
def test_arbitrary_text_is_parsed_or_refused_cleanly(text: str) -> None:
    try:
        point = parse_phone(text)
    except InvalidContact as error:
        # a fixed message (random text may well be a word of it), never a chained cause
        assert error.message in {contact.NOT_A_NUMBER, contact.AMBIGUOUS}
        assert error.__cause__ is None
    else:
        assert phonenumbers.is_valid_number(phonenumbers.parse(point.value))


# --- e-mail -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("john@example.org", "john@example.org"),
        ("John@Example.ORG", "john@example.org"),
        ("  JOHN@EXAMPLE.ORG\n", "john@example.org"),
        ("j.o.h.n+promo@gmail.com", "j.o.h.n+promo@gmail.com"),  # no provider folding
        ("Jöhn@EXÄMPLE.org", "jöhn@exämple.org"),
        ("jöhn@xn--exmple-cua.org", "jöhn@exämple.org"),  # IDNA: one form for both
        ("marie-claire.dupont@sous.domaine.fr", "marie-claire.dupont@sous.domaine.fr"),
    ],
)
def test_email_normalisation(text: str, value: str) -> None:
    point = parse_email(text)
    assert point == ContactPoint(ContactKind.EMAIL, value, None, None, (), None)
    assert point.timezone is None


INVALID_EMAILS = [
    "John <john@example.org>",
    '"John" <john@example.org>',
    "john@example",
    "john.example.org",
    "john@@example.org",
    "@example.org",
    "john@",
    "jo hn@example.org",
    "jo..hn@example.org",
    '"john"@example.org',
    "john@[192.0.2.1]",
    "john@localhost",
    "",
    "mailto:john@example.org",
    "john@exa_mple.org",
]


@pytest.mark.parametrize("text", INVALID_EMAILS)
def test_invalid_emails_are_refused(text: str) -> None:
    with pytest.raises(InvalidContact) as info:
        parse_email(text)
    _assert_message_is_clean(info.value, text)
    assert "john" not in info.value.message


def test_parse_contact_routes_on_at_sign() -> None:
    assert parse_contact("06 12 34 56 78").kind is ContactKind.PHONE
    assert parse_contact("John@Example.org").kind is ContactKind.EMAIL
    assert parse_contact("+1 208 456 7890", "US").value == "+12084567890"
    assert parse_contact("208 456 7890", "US").value == "+12084567890"
    with pytest.raises(InvalidContact, match="e-mail"):
        parse_contact("06 12 34 56 78 @bureau")


# --- hashing and masking ------------------------------------------------------------------------


def test_contact_hash_is_the_keyed_hmac() -> None:
    key = b"principal-key"
    expected = hmac.new(key, MOBILE.encode("utf-8"), hashlib.sha256).hexdigest()
    assert contact_hash(MOBILE, key) == expected
    assert contact_hash(MOBILE, key) == contact_hash(MOBILE, key)
    assert len(expected) == 64
    assert int(expected, 16) >= 0


def test_contact_hash_is_stable_across_releases() -> None:
    assert (
        contact_hash("+33612345678", b"k")
        == hmac.new(b"k", b"+33612345678", hashlib.sha256).hexdigest()
    )
    assert contact_hash("", b"") == (
        "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad"
    )


def test_contact_hash_depends_on_the_key() -> None:
    assert contact_hash(MOBILE, b"principal-a") != contact_hash(MOBILE, b"principal-b")


def test_contact_hash_of_written_forms_is_one_hash() -> None:
    key = b"k"
    hashes = {contact_hash(parse_contact(text).value, key) for text in WRITTEN_FORMS}
    assert hashes == {contact_hash(MOBILE, key)}
    emails = ["John@Example.ORG", " john@example.org ", "JOHN@EXAMPLE.org"]
    assert len({contact_hash(parse_contact(text).value, key) for text in emails}) == 1


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("+33612345678", "+336******78"),
        ("+590690123456", "+590*******56"),
        ("+508412345", "+508****45"),
        ("john@example.org", "j***@example.org"),
        ("j@example.org", "j***@example.org"),
        ("+12345", "+*****"),
        ("", ""),
    ],
)
def test_mask(value: str, masked: str) -> None:
    assert mask(value) == masked


def test_masked_point_hides_the_number() -> None:
    point = parse_phone("06 12 34 56 78")
    assert point.masked() == "+336******78"
    assert "12345678" not in point.masked()
    assert "612345678" not in point.masked()
    email = parse_email("Jean.Dupont@example.org")
    assert email.masked() == "j***@example.org"
    assert "dupont" not in email.masked()


@given(st.text("0123456789", min_size=6, max_size=15))
def test_mask_never_shows_the_whole_number(digits: str) -> None:
    masked = mask("+" + digits)
    assert digits not in masked
    assert len(masked) == len(digits) + 1


def _country_code_unfiltered(nsn: str) -> int:
    """``_country_code`` as it was before the general-pattern prefilter: every overseas code
    asked to ``phonenumbers``."""
    if nsn.startswith("8"):
        return 33
    code = contact.OVERSEAS_PREFIXES.get(nsn[:3])
    if code is not None:
        return code
    found = [
        cc
        for cc in contact.OVERSEAS_CODES
        if phonenumbers.is_valid_number(phonenumbers.PhoneNumber(cc, int(nsn)))
    ]
    if len(found) > 1:
        raise InvalidContact(contact.AMBIGUOUS)
    return found[0] if found else 33


def _outcome(function: Any, nsn: str) -> int | str:
    try:
        return int(function(nsn))
    except InvalidContact as error:
        return error.message


def test_the_overseas_prefilter_changes_no_country_code() -> None:
    """Every 4-digit prefix of the national plan, with random and edge tails: the prefilter
    only skips codes under which the number could not be valid."""
    rng = random.Random(4)
    for head in range(1000, 10000):
        for tail in (0, 99999, *(rng.randrange(100000) for _ in range(6))):
            nsn = f"{head}{tail:05d}"
            expected = _outcome(_country_code_unfiltered, nsn)
            assert _outcome(contact._country_code, nsn) == expected, nsn
