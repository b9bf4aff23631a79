"""The doors a person opts out by: SMS keywords, provider signatures, signed links.

Pure functions, standard library only (no I/O, no clock: times are arguments):

* :func:`sms_keyword` reads an inbound SMS and says whether it is an opt-out (``STOP``…), a
  lift of an SMS opt-out (``START``/``UNSTOP``), or an ordinary message;
* :func:`twilio_signature` / :func:`twilio_signature_ok` implement Twilio's webhook signature
  (HMAC-SHA1 of the URL followed by the sorted POST parameters, base64);
* :func:`seal_link` / :func:`open_link` make and read the single-contact tokens of the
  preference and one-click unsubscribe links: encrypted and authenticated with keys derived by
  HMAC-SHA256, carrying the principal, the contact point, its keyed hash and an expiry.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit, urlunsplit

# ---------------------------------------------------------------------------------------------
# SMS keywords
# ---------------------------------------------------------------------------------------------


class SmsIntent(StrEnum):
    OPT_OUT = "opt_out"
    """Record an objection for SMS."""
    OPT_IN = "opt_in"
    """Lift the SMS objections that came by SMS (never a consent)."""
    MESSAGE = "message"
    """Anything else: kept as a message, answered with nothing."""


OPT_OUT_KEYWORDS = frozenset(
    {"stop", "arret", "stop sms", "desinscription", "unsubscribe", "quit", "end", "cancel"}
)
OPT_IN_KEYWORDS = frozenset({"start", "unstop"})
_NOT_WORD = re.compile(r"[^0-9a-z]+")


def normalise_keyword(body: str) -> str:
    """Lower case, accents removed, punctuation and spaces folded: ``" Arrêt ! "`` → ``arret``."""
    decomposed = unicodedata.normalize("NFKD", body.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NOT_WORD.sub(" ", plain).strip()


def sms_keyword(body: str) -> SmsIntent:
    """What an inbound SMS asks for: the whole message must be one keyword (any case, accents,
    surrounding spaces and punctuation); ``"stop calling me"`` is a message, kept for a human."""
    word = normalise_keyword(body)
    if word in OPT_OUT_KEYWORDS:
        return SmsIntent.OPT_OUT
    if word in OPT_IN_KEYWORDS:
        return SmsIntent.OPT_IN
    return SmsIntent.MESSAGE


# ---------------------------------------------------------------------------------------------
# Twilio webhook signatures
# ---------------------------------------------------------------------------------------------


def twilio_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """Base64 HMAC-SHA1 of ``url`` + each distinct parameter name and value, sorted by name then
    value (Twilio's "Webhooks security": the full URL as configured, query string included)."""
    message = url + "".join(name + value for name, value in sorted(set(params)))
    digest = hmac.new(auth_token.encode("utf-8"), message.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _port_variants(url: str) -> list[str]:
    """The URL as given, with its default port added, and without it: Twilio signs whichever
    form was configured, and a proxy may add or drop ``:443``."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    host = parts.hostname or ""
    variants = [url]
    if default is not None and parts.port in (None, default):
        for netloc in (host, f"{host}:{default}"):
            userinfo = parts.netloc.rpartition("@")[0]
            full = f"{userinfo}@{netloc}" if userinfo else netloc
            variants.append(urlunsplit(parts._replace(netloc=full)))
    return list(dict.fromkeys(variants))


def twilio_signature_ok(
    auth_token: str, url: str, params: Iterable[tuple[str, str]], signature: str
) -> bool:
    """Whether ``signature`` (the ``X-Twilio-Signature`` header) signs this request."""
    if not auth_token or not signature:
        return False
    pairs = list(params)
    return any(
        hmac.compare_digest(twilio_signature(auth_token, candidate, pairs), signature)
        for candidate in _port_variants(url)
    )


# ---------------------------------------------------------------------------------------------
# Signed, expiring, single-contact links
# ---------------------------------------------------------------------------------------------


class LinkPurpose(StrEnum):
    UNSUBSCRIBE = "u"
    PREFERENCES = "p"


class LinkStatus(StrEnum):
    VALID = "valid"
    TAMPERED = "tampered"
    """Not a token this installation made, altered, or for another page."""
    EXPIRED = "expired"
    """Genuine but past its expiry."""


@dataclass(frozen=True, slots=True)
class LinkClaim:
    """What a link lets its holder do: act on one contact point of one principal."""

    purpose: LinkPurpose
    principal_id: int
    contact: str
    """The normalised contact point (E.164 or e-mail): the register acts on it."""
    contact_hash: str
    expires: int
    """Seconds since the epoch (UTC)."""


@dataclass(frozen=True, slots=True)
class LinkCheck:
    status: LinkStatus
    claim: LinkClaim | None = None
    principal_id: int | None = None


VERSION = b"\x01"
NONCE_BYTES = 16
TAG_BYTES = 16


def link_key(base: bytes) -> bytes:
    """The link key derived from a secret (``PERMIS_LINK_SECRET`` or the principal's key)."""
    return hmac.new(base, b"permis link v1", hashlib.sha256).digest()


def _sub(key: bytes, label: bytes) -> bytes:
    return hmac.new(key, label, hashlib.sha256).digest()


def _keystream(key: bytes, nonce: bytes, size: int) -> bytes:
    """HMAC-SHA256 in counter mode: a pseudo-random stream, one block per 32 bytes."""
    blocks = (size + 31) // 32
    enc = _sub(key, b"enc")
    return b"".join(
        hmac.new(enc, nonce + i.to_bytes(4, "big"), hashlib.sha256).digest() for i in range(blocks)
    )[:size]


def _tag(key: bytes, principal_id: int, body: bytes) -> bytes:
    mac = _sub(key, b"mac")
    return hmac.new(mac, str(principal_id).encode() + b"." + body, hashlib.sha256).digest()[
        :TAG_BYTES
    ]


def _xor(data: bytes, stream: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, stream, strict=True))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def seal_link(key: bytes, claim: LinkClaim, nonce: bytes | None = None) -> str:
    """``<principal id>.<base64url(version | nonce | ciphertext | tag)>``: the contact point is
    encrypted (a link in a server log or a forwarded mail does not show the address), and any
    change to the token breaks the tag (encrypt-then-MAC)."""
    payload = json.dumps(
        {"k": claim.purpose.value, "c": claim.contact, "h": claim.contact_hash, "e": claim.expires},
        separators=(",", ":"),
    ).encode("utf-8")
    nonce = nonce or secrets.token_bytes(NONCE_BYTES)
    cipher = bytes(
        a ^ b for a, b in zip(payload, _keystream(key, nonce, len(payload)), strict=True)
    )
    body = VERSION + nonce + cipher
    return f"{claim.principal_id}.{_b64(body + _tag(key, claim.principal_id, body))}"


def token_principal(token: str) -> int | None:
    """The principal a token names (not yet verified), or None when it is not a token."""
    head, dot, _ = token.partition(".")
    if not dot or not head.isdigit() or len(head) > 12:
        return None
    return int(head)


def open_link(key: bytes, token: str, purpose: LinkPurpose, now: int) -> LinkCheck:
    """Verify, then decrypt, then check the expiry: TAMPERED, EXPIRED or VALID with the claim."""
    principal_id = token_principal(token)
    if principal_id is None:
        return LinkCheck(LinkStatus.TAMPERED)
    try:
        raw = _unb64(token.partition(".")[2])
    except (binascii.Error, ValueError):
        return LinkCheck(LinkStatus.TAMPERED, principal_id=principal_id)
    body, tag = raw[:-TAG_BYTES], raw[-TAG_BYTES:]
    if len(body) <= 1 + NONCE_BYTES or body[:1] != VERSION:
        return LinkCheck(LinkStatus.TAMPERED, principal_id=principal_id)
    if not hmac.compare_digest(tag, _tag(key, principal_id, body)):
        return LinkCheck(LinkStatus.TAMPERED, principal_id=principal_id)
    nonce, cipher = body[1 : 1 + NONCE_BYTES], body[1 + NONCE_BYTES :]
    plain = _xor(cipher, _keystream(key, nonce, len(cipher)))
    try:
        data = json.loads(plain)
        claim = LinkClaim(
            LinkPurpose(data["k"]), principal_id, str(data["c"]), str(data["h"]), int(data["e"])
        )
    except (ValueError, KeyError, TypeError):
        return LinkCheck(LinkStatus.TAMPERED, principal_id=principal_id)
    if claim.purpose is not purpose:
        return LinkCheck(LinkStatus.TAMPERED, principal_id=principal_id)
    if now >= claim.expires:
        return LinkCheck(LinkStatus.EXPIRED, claim, principal_id)
    return LinkCheck(LinkStatus.VALID, claim, principal_id)


def seal_session(key: bytes, api_key: str, expires: int) -> str:
    """An agent's session cookie: the API key, encrypted and authenticated like a link."""
    claim = LinkClaim(LinkPurpose.PREFERENCES, 0, api_key, "session", expires)
    return seal_link(_sub(key, b"session"), claim)


def open_session(key: bytes, cookie: str, now: int) -> str | None:
    """The API key in a valid, unexpired session cookie; None for anything else."""
    check = open_link(_sub(key, b"session"), cookie, LinkPurpose.PREFERENCES, now)
    if check.status is not LinkStatus.VALID or check.claim is None or check.principal_id != 0:
        return None
    return check.claim.contact
