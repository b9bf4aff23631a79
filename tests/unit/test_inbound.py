"""The pure intake adapter: SMS keywords, Twilio signatures (checked against twilio's own
RequestValidator), and the signed single-contact links."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from permis.adapters.inbound import (
    LinkClaim,
    LinkPurpose,
    LinkStatus,
    SmsIntent,
    link_key,
    open_link,
    open_session,
    seal_link,
    seal_session,
    sms_keyword,
    twilio_signature,
    twilio_signature_ok,
)

TOKEN = "12345678901234567890123456789012"
URL = "https://permis.example/inbound/sms/twilio"


@pytest.mark.parametrize(
    "body",
    [
        "STOP",
        "stop",
        " Stop ",
        "STOP.",
        "stop !",
        "«STOP»",
        "ARRET",
        "ARRÊT",
        "arrêt",
        "Arrêt !",
        "STOP SMS",
        "stop  sms",
        "Stop-SMS",
        "DESINSCRIPTION",
        "DÉSINSCRIPTION",
        "désinscription.",
        "UNSUBSCRIBE",
        "Quit",
        "END",
        "cancel!!",
        "\tSTOP\n",
    ],
)
def test_opt_out_keywords(body: str) -> None:
    assert sms_keyword(body) is SmsIntent.OPT_OUT


@pytest.mark.parametrize("body", ["START", " start. ", "Unstop", "UNSTOP!"])
def test_opt_in_keywords(body: str) -> None:
    assert sms_keyword(body) is SmsIntent.OPT_IN


@pytest.mark.parametrize(
    "body",
    [
        "",
        "  ",
        "stop calling me",
        "STOPPER",
        "bonjour",
        "start now",
        "S T O P",
        "arrete",
        "endless",
    ],
)
def test_anything_else_is_a_message(body: str) -> None:
    assert sms_keyword(body) is SmsIntent.MESSAGE


# -- Twilio signatures -----------------------------------------------------------------------

printable = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)


@given(
    params=st.dictionaries(
        st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12),
        printable,
        max_size=8,
    ),
    query=st.sampled_from(["", "?principal=acme", "?a=1&b=%C3%A9"]),
)
def test_our_signature_is_twilio_s(params: dict[str, str], query: str) -> None:
    url = URL + query
    expected = RequestValidator(TOKEN).compute_signature(url, params)
    assert twilio_signature(TOKEN, url, params.items()) == expected
    assert twilio_signature_ok(TOKEN, url, params.items(), expected)


def test_twilio_validator_accepts_what_we_accept_and_refuses_a_change() -> None:
    params = {"From": "+33612345678", "To": "+33700000000", "Body": "STOP", "MessageSid": "SM1"}
    signature = RequestValidator(TOKEN).compute_signature(URL, params)
    assert twilio_signature_ok(TOKEN, URL, params.items(), signature)
    assert not twilio_signature_ok(TOKEN, URL, {**params, "Body": "START"}.items(), signature)
    assert not twilio_signature_ok(TOKEN, URL + "?principal=x", params.items(), signature)
    assert not twilio_signature_ok("another-token", URL, params.items(), signature)
    assert not twilio_signature_ok(TOKEN, URL, params.items(), "")
    assert not twilio_signature_ok("", URL, params.items(), signature)


def test_a_signature_made_with_or_without_the_default_port_verifies() -> None:
    params = {"Body": "STOP"}
    with_port = RequestValidator(TOKEN).compute_signature(
        "https://permis.example:443/inbound/sms/twilio", params
    )
    assert twilio_signature_ok(TOKEN, URL, params.items(), with_port)
    plain = RequestValidator(TOKEN).compute_signature(URL, params)
    assert twilio_signature_ok(
        TOKEN, "https://permis.example:443/inbound/sms/twilio", params.items(), plain
    )
    other_port = RequestValidator(TOKEN).compute_signature(
        "https://permis.example:8443/inbound/sms/twilio", params
    )
    assert not twilio_signature_ok(TOKEN, URL, params.items(), other_port)


# -- links -----------------------------------------------------------------------------------

KEY = link_key(b"a secret of the installation")
NOW = 1_800_000_000
CLAIM = LinkClaim(LinkPurpose.PREFERENCES, 7, "jean.dupont@example.org", "ab" * 32, NOW + 60)


def test_a_link_opens_with_its_claim() -> None:
    token = seal_link(KEY, CLAIM)
    check = open_link(KEY, token, LinkPurpose.PREFERENCES, NOW)
    assert check.status is LinkStatus.VALID
    assert check.claim == CLAIM


def test_an_expired_link_is_expired_not_tampered() -> None:
    token = seal_link(KEY, CLAIM)
    assert open_link(KEY, token, LinkPurpose.PREFERENCES, NOW + 60).status is LinkStatus.EXPIRED
    assert open_link(KEY, token, LinkPurpose.PREFERENCES, NOW + 59).status is LinkStatus.VALID


def test_the_contact_point_does_not_show_in_the_link() -> None:
    token = seal_link(KEY, CLAIM)
    raw = base64.urlsafe_b64decode(token.split(".")[1] + "==")
    assert b"jean" not in raw and b"example" not in raw and "jean" not in token


def test_every_changed_byte_is_tampering() -> None:
    token = seal_link(KEY, CLAIM)
    head, body = token.split(".")
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    for i in range(len(raw)):
        changed = raw[:i] + bytes([raw[i] ^ 0x01]) + raw[i + 1 :]
        forged = head + "." + base64.urlsafe_b64encode(changed).rstrip(b"=").decode()
        assert open_link(KEY, forged, LinkPurpose.PREFERENCES, NOW).status is LinkStatus.TAMPERED


@pytest.mark.parametrize("mutate", ["principal", "key", "purpose", "truncate", "garbage"])
def test_other_forgeries_are_tampering(mutate: str) -> None:
    token = seal_link(KEY, CLAIM)
    key, purpose = KEY, LinkPurpose.PREFERENCES
    if mutate == "principal":
        token = "8" + token[1:]
    elif mutate == "key":
        key = link_key(b"another secret")
    elif mutate == "purpose":
        purpose = LinkPurpose.UNSUBSCRIBE
    elif mutate == "truncate":
        token = token[:-10]
    else:
        token = "not a token at all/../"
    assert open_link(key, token, purpose, NOW).status is LinkStatus.TAMPERED


def test_expired_tampered_link_is_tampered() -> None:
    token = seal_link(KEY, CLAIM)
    forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    assert open_link(KEY, forged, LinkPurpose.PREFERENCES, NOW + 999).status is (
        LinkStatus.TAMPERED
    )


def test_agent_session_cookie() -> None:
    cookie = seal_session(KEY, "permis_abc_def", NOW + 10)
    assert "permis_abc" not in cookie
    assert open_session(KEY, cookie, NOW) == "permis_abc_def"
    assert open_session(KEY, cookie, NOW + 10) is None
    assert open_session(link_key(b"other"), cookie, NOW) is None
    assert open_session(KEY, seal_link(KEY, CLAIM), NOW) is None  # a link is not a session
