"""Checks on a campaign itself rather than on a contact: its sender and its message.

Pure: the sender and the message are arguments, the time too. Two reason codes (DESIGN.md 4.2):

- ``BAD_SENDER_ID``: since 1 Jan 2023 (ARCEP décision n° 2022-1583, loi n° 2020-901 art. 10) an
  automated calling system shows a number of the ranges reserved for it (0162, 0163, 0270,
  0271, 0377, 0378, 0424, 0425, 0568, 0569, 0948, 0949 in mainland France; 09475 to 09479
  overseas); mobile numbers (06, 07) are for person-to-person use only, so no call platform
  (automated or live) and no automated SMS shows one. An SMS campaign shows a short code
  (36xxx marketing, 38xxx transactional), an alphanumeric sender, or a number of the automated
  ranges.
- ``MISSING_OPTOUT``: every message carries a free way to object (CPCE art. L34-5): an SMS its
  ``STOP`` mention, an e-mail the RFC 8058 one-click headers (``List-Unsubscribe`` with an HTTPS
  URI and ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``). No message given is no proof:
  the check fails closed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from email.parser import HeaderParser
from typing import Any, Final

from permis.domain.contact import ContactKind, mask, parse_phone
from permis.domain.model import Channel, Reason, ReasonCode
from permis.domain.rules.base import legal_day
from permis.errors import InvalidContact

ARCEP_2022_1583: Final = date(2023, 1, 1)
AUTOMATED_PREFIXES: Final = (
    *("162", "163", "270", "271", "377", "378", "424", "425", "568", "569", "948", "949"),
    *("9475", "9476", "9477", "9478", "9479"),
)
"""National significant digits (after the 0) of the ranges for automated calling systems."""
SHORT_CODE: Final = re.compile(r"3[68]\d{3}")
ALPHANUMERIC: Final = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 ._-]{1,11}")
STOP: Final = re.compile(r"\bstop\b", re.IGNORECASE)
ONE_CLICK: Final = "list-unsubscribe=one-click"
FRENCH_CODES: Final = ("+33", "+262", "+590", "+594", "+596")

ARCEP_REFERENCE: Final = (
    "Décision ARCEP n° 2022-1583 (plan de numérotation, systèmes d'appels automatisés); "
    "loi n° 2020-901 du 24 juillet 2020, art. 10"
)
OPTOUT_REFERENCE: Final = "Code des postes et des communications électroniques, art. L34-5"
RFC_8058: Final = "RFC 8058 (one-click unsubscribe); " + OPTOUT_REFERENCE


@dataclass(frozen=True, slots=True)
class CampaignCheck:
    channel: Channel
    sender: str
    at: datetime
    reasons: tuple[Reason, ...]

    @property
    def allowed(self) -> bool:
        return not self.reasons

    def to_dict(self) -> dict[str, Any]:
        return {
            "allowed": self.allowed,
            "channel": self.channel.value,
            "sender": self.sender,
            "at": self.at.isoformat(),
            "reasons": [r.to_dict() for r in self.reasons],
        }


def check_campaign(
    channel: Channel, sender: str, message: str | None, at: datetime
) -> CampaignCheck:
    """Every campaign-level reason to refuse, not the first."""
    reasons = [r for r in (_sender(channel, sender, at), _optout(channel, message)) if r]
    shown = sender if channel is Channel.EMAIL else _shown_sender(sender)
    return CampaignCheck(channel, shown, at, tuple(reasons))


# -- sender ------------------------------------------------------------------------------------


def _national(sender: str) -> tuple[str, str] | None:
    """(E.164, national significant digits) of a French-plan number, or None."""
    try:
        point = parse_phone(sender)
    except InvalidContact:
        return None
    if point.kind is not ContactKind.PHONE or not point.value.startswith(FRENCH_CODES):
        return None
    code = next(c for c in FRENCH_CODES if point.value.startswith(c))
    nsn = point.value[len(code) :]
    if code != "+33":  # overseas numbers are dialled 0 + their 9 digits in the French plan
        nsn = _overseas_nsn(point.value)
    return point.value, nsn


def _overseas_nsn(e164: str) -> str:
    """``+262692123456`` -> ``692123456``: the 9 digits after the country code."""
    return e164[-9:]


def _is_mobile(nsn: str) -> bool:
    return nsn[:1] in {"6", "7"}


def _is_automated_range(nsn: str) -> bool:
    return any(nsn.startswith(prefix) for prefix in AUTOMATED_PREFIXES)


def _shown_sender(sender: str) -> str:
    text = sender.strip()
    if SHORT_CODE.fullmatch(text) or ALPHANUMERIC.fullmatch(text):
        return text
    found = _national(text)
    return mask(found[0]) if found else "(not a French number)"


def _sender(channel: Channel, sender: str, at: datetime) -> Reason | None:
    if legal_day(at) < ARCEP_2022_1583:
        return None
    check = _SENDER_CHECKS.get(channel)
    problem = check(sender.strip()) if check is not None else None
    if problem is None:
        return None
    return Reason(
        ReasonCode.BAD_SENDER_ID, "FR.ARCEP-2022-1583.sender", ARCEP_REFERENCE, problem, None
    )


def _automated_sender(sender: str) -> str | None:
    found = _national(sender)
    if found is None:
        return "An automated call must show a French number of the ranges reserved for it"
    if not _is_automated_range(found[1]):
        return (
            "An automated call must show a number starting 0162, 0163, 0270, 0271, 0377, 0378,"
            " 0424, 0425, 0568, 0569, 0948, 0949 (09475-09479 overseas)"
        )
    return None


def _platform_sender(sender: str) -> str | None:
    found = _national(sender)
    if found is None:
        return None  # a live call may show a foreign or a special number: only mobiles are barred
    if _is_mobile(found[1]):
        return "A calling platform may not show a mobile number (06/07): person-to-person only"
    return None


def _sms_sender(sender: str) -> str | None:
    if SHORT_CODE.fullmatch(sender) or (
        ALPHANUMERIC.fullmatch(sender) and not sender.replace(" ", "").isdigit()
    ):
        return None
    found = _national(sender)
    if found is not None and _is_automated_range(found[1]):
        return None
    return (
        "An SMS campaign must show a short code (36xxx, 38xxx), an alphanumeric sender or a number"
        " of the automated ranges; never a mobile number"
    )


_SENDER_CHECKS: dict[Channel, Callable[[str], str | None]] = {
    Channel.AUTOMATED_CALL: _automated_sender,
    Channel.CALL: _platform_sender,
    Channel.SMS: _sms_sender,
}


# -- opt-out -----------------------------------------------------------------------------------


def _optout(channel: Channel, message: str | None) -> Reason | None:
    if channel is Channel.SMS:
        problem = _sms_optout(message)
        reference, rule = OPTOUT_REFERENCE, "FR.L34-5.optout-sms"
    elif channel is Channel.EMAIL:
        problem = _email_optout(message)
        reference, rule = RFC_8058, "FR.L34-5.optout-email"
    else:
        return None
    if problem is None:
        return None
    return Reason(ReasonCode.MISSING_OPTOUT, rule, reference, problem, None)


def _sms_optout(message: str | None) -> str | None:
    if message is None:
        return "No message given: its STOP mention cannot be checked"
    if STOP.search(message) is None:
        return 'The SMS does not carry its STOP mention (e.g. "STOP au 36xxx")'
    return None


def _email_optout(message: str | None) -> str | None:
    if message is None:
        return "No message given: its unsubscribe headers cannot be checked"
    headers = HeaderParser().parsestr(message, headersonly=True)
    unsubscribe = " ".join(str(v) for v in headers.get_all("List-Unsubscribe", []))
    post = " ".join(str(v) for v in headers.get_all("List-Unsubscribe-Post", []))
    if not re.search(r"<https://[^>]+>", unsubscribe):
        return "The e-mail has no List-Unsubscribe header with an HTTPS URI (RFC 8058)"
    if post.strip().lower().replace(" ", "") != ONE_CLICK:
        return "The e-mail has no List-Unsubscribe-Post: List-Unsubscribe=One-Click header"
    return None
