"""Campaign checks: the sender a campaign shows (ARCEP ranges) and its opt-out (STOP, RFC 8058)."""

from __future__ import annotations

from datetime import datetime

import pytest

from permis.domain.campaign import check_campaign
from permis.domain.model import Channel

AT = datetime.fromisoformat("2026-11-30T10:00:00+01:00")
SMS = "Promo -20% ce week-end. STOP au 36123"
ONE_CLICK = (
    "From: Choucroute <news@choucroute.example>\r\n"
    "List-Unsubscribe: <https://permis.example/u/tok>, <mailto:u@choucroute.example>\r\n"
    "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
    "Subject: Offre\r\n\r\nBonjour\r\n"
)
BAD = ("BAD_SENDER_ID",)
NO_OPTOUT = ("MISSING_OPTOUT",)

CASES = [
    # automated calls: the ARCEP ranges only
    ("automated-0162", Channel.AUTOMATED_CALL, "01 62 12 34 56", None, ()),
    ("automated-0949", Channel.AUTOMATED_CALL, "+33 9 49 12 34 56", None, ()),
    ("automated-0568", Channel.AUTOMATED_CALL, "0568123456", None, ()),
    ("automated-guadeloupe-09475", Channel.AUTOMATED_CALL, "0947 51 23 45", None, ()),
    ("automated-martinique-09477", Channel.AUTOMATED_CALL, "09 47 71 23 45", None, ()),
    ("automated-mobile", Channel.AUTOMATED_CALL, "06 12 34 56 78", None, BAD),
    ("automated-geographic", Channel.AUTOMATED_CALL, "01 45 67 89 01", None, BAD),
    ("automated-0937-platform-range", Channel.AUTOMATED_CALL, "09 37 12 34 56", None, BAD),
    ("automated-foreign", Channel.AUTOMATED_CALL, "+1 415 555 0123", None, BAD),
    ("automated-garbage", Channel.AUTOMATED_CALL, "call us", None, BAD),
    # live calls from a platform: anything but a mobile
    ("platform-mobile", Channel.CALL, "07 81 00 00 01", None, BAD),
    ("platform-geographic", Channel.CALL, "01 45 67 89 01", None, ()),
    ("platform-0937", Channel.CALL, "09 37 12 34 56", None, ()),
    ("platform-reunion-mobile", Channel.CALL, "0692 12 34 56", None, BAD),
    # SMS: a short code, an alphanumeric sender or an automated range, and STOP
    ("sms-short-code", Channel.SMS, "36123", SMS, ()),
    ("sms-transactional-code", Channel.SMS, "38123", SMS, ()),
    ("sms-alphanumeric", Channel.SMS, "Choucroute", SMS, ()),
    ("sms-automated-range", Channel.SMS, "03 77 12 34 56", SMS, ()),
    ("sms-mobile", Channel.SMS, "06 12 34 56 78", SMS, BAD),
    ("sms-other-short-code", Channel.SMS, "12345", SMS, BAD),
    ("sms-no-stop", Channel.SMS, "36123", "Promo -20% ce week-end", NO_OPTOUT),
    ("sms-stopped-is-not-stop", Channel.SMS, "36123", "Non-stopped deals", NO_OPTOUT),
    ("sms-stop-lower-case", Channel.SMS, "36123", "promo. stop au 36123", ()),
    ("sms-no-message", Channel.SMS, "36123", None, NO_OPTOUT),
    ("sms-mobile-no-stop", Channel.SMS, "0612345678", "Promo", (*BAD, *NO_OPTOUT)),
    # e-mail: RFC 8058
    ("email-one-click", Channel.EMAIL, "news@choucroute.example", ONE_CLICK, ()),
    (
        "email-mailto-only",
        Channel.EMAIL,
        "news@choucroute.example",
        ONE_CLICK.replace("<https://permis.example/u/tok>, ", ""),
        NO_OPTOUT,
    ),
    (
        "email-no-post-header",
        Channel.EMAIL,
        "news@choucroute.example",
        ONE_CLICK.replace("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n", ""),
        NO_OPTOUT,
    ),
    (
        "email-wrong-post-value",
        Channel.EMAIL,
        "news@choucroute.example",
        ONE_CLICK.replace("=One-Click", "=Yes"),
        NO_OPTOUT,
    ),
    ("email-no-headers", Channel.EMAIL, "news@choucroute.example", "Bonjour\r\n", NO_OPTOUT),
    ("email-no-message", Channel.EMAIL, "news@choucroute.example", None, NO_OPTOUT),
    # no rule for post
    ("post", Channel.POST, "anything", None, ()),
]


@pytest.mark.parametrize(
    ("name", "channel", "sender", "message", "codes"), CASES, ids=[c[0] for c in CASES]
)
def test_campaign(
    name: str, channel: Channel, sender: str, message: str | None, codes: tuple[str, ...]
) -> None:
    result = check_campaign(channel, sender, message, AT)
    assert tuple(r.code.value for r in result.reasons) == codes
    assert result.allowed == (not codes)
    for reason in result.reasons:
        assert reason.until is None and reason.reference


def test_the_sender_ranges_apply_from_2023() -> None:
    before = check_campaign(
        Channel.AUTOMATED_CALL, "0612345678", None, datetime.fromisoformat("2022-12-31T10:00+01:00")
    )
    after = check_campaign(
        Channel.AUTOMATED_CALL, "0612345678", None, datetime.fromisoformat("2023-01-01T10:00+01:00")
    )
    assert before.allowed and not after.allowed


def test_no_full_number_in_the_answer() -> None:
    result = check_campaign(Channel.SMS, "06 12 34 56 78", "STOP", AT)
    data = result.to_dict()
    assert "+33612345678" not in str(data) and data["sender"] == "+336******78"
    assert data["reasons"][0]["code"] == "BAD_SENDER_ID"
