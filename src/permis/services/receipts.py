"""Signed receipts: proof, held by the person, of what they allowed or refused.

When a person gives consent, objects (or withdraws consent), or sets their own budget, Permis can
issue a receipt: the Kantara Initiative Consent Receipt v1.1 structure as the payload of a JWS in
compact form, signed with the principal's Ed25519 key (``alg`` ``Ed25519``, RFC 9864; the older
``EdDSA`` name is not accepted by joserfc by default). Anyone verifies it with the published
public key, without the company's database.

Each principal gets one key pair on first use. The public key is written to the ledger
(``ReceiptKeyCreated``), so the chain proves which key the principal published when; the private
key is kept in ``principal_keys`` sealed with AES-GCM under a key derived from
``PERMIS_RECEIPT_SECRET`` (HKDF-SHA256): a copy of the database alone cannot sign.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from permis.adapters.db import instants
from permis.adapters.db import pressure_store as store
from permis.adapters.db import repositories as repo
from permis.adapters.db.database import Database
from permis.domain.events import EventType, NewEvent, StoredEvent
from permis.errors import ConfigError, NotFound, PermisError, UsageError

ALGORITHM = "Ed25519"
KANTARA_VERSION = "KI-CR-v1.1.0"
RECEIPT_EVENTS = {
    EventType.CONSENT_GIVEN.value: "consent_given",
    EventType.CONSENT_WITHDRAWN.value: "consent_withdrawn",
    EventType.OBJECTION_RECORDED.value: "objection_recorded",
    EventType.BUDGET_SET.value: "budget_set",
}
_COMPACT = re.compile(r"^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\n?$")


class ReceiptInvalid(PermisError):
    """A receipt that does not verify: altered, signed by another key, or not a receipt."""

    code = "RECEIPT_INVALID"
    http_status = 422
    exit_code = 1


@dataclass(frozen=True, slots=True)
class Receipt:
    token: str  # the compact JWS
    payload: dict[str, Any]
    kid: str

    def to_dict(self) -> dict[str, Any]:
        return {"kid": self.kid, "receipt": self.payload, "jws": self.token}


# ---------------------------------------------------------------------------------------------
# keys
# ---------------------------------------------------------------------------------------------


def _sealing_key(secret: str, principal_id: int) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    if not secret:
        raise ConfigError("set PERMIS_RECEIPT_SECRET to issue signed receipts")
    hkdf = HKDF(hashes.SHA256(), 32, b"permis receipt key", f"principal {principal_id}".encode())
    return hkdf.derive(secret.encode("utf-8"))


def _seal(secret: str, principal_id: int, kid: str, private: dict[str, Any]) -> str:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = secrets.token_bytes(12)
    box = AESGCM(_sealing_key(secret, principal_id))
    sealed = box.encrypt(nonce, json.dumps(private).encode(), kid.encode())
    return "v1." + base64.urlsafe_b64encode(nonce + sealed).decode()


def _unseal(secret: str, principal_id: int, key: store.StoredKey) -> Any:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from joserfc.jwk import OKPKey

    raw = base64.urlsafe_b64decode(key.private_sealed.removeprefix("v1."))
    box = AESGCM(_sealing_key(secret, principal_id))
    try:
        private = box.decrypt(raw[:12], raw[12:], key.kid.encode())
    except InvalidTag:
        raise ConfigError("PERMIS_RECEIPT_SECRET does not open this principal's key") from None
    return OKPKey.import_key(json.loads(private))


def _ensure_key(db: Database, principal: str | None, secret: str, now: datetime) -> Any:
    """The principal's stored key (created, with its ledger event, on first use)."""
    from joserfc.jwk import OKPKey

    with db.transaction(write=True) as cur:
        owner = repo.find_principal(cur, principal)
        repo.lock_chain(cur, owner.id)
        found = store.receipt_key(cur, owner.id)
        if found is not None:
            return owner, found
        _sealing_key(secret, owner.id)  # refuse before creating anything without a secret
        key = OKPKey.generate_key("Ed25519")
        kid = key.thumbprint()
        public = key.as_dict(private=False)
        now_us = instants.to_us(now)
        event = NewEvent(EventType.RECEIPT_KEY_CREATED, now_us, {"kid": kid, "public": public})
        repo.append_event(cur, owner.id, event, now_us)
        stored = store.StoredKey(
            kid, json.dumps(public), _seal(secret, owner.id, kid, key.as_dict(private=True)), now_us
        )
        store.add_receipt_key(cur, owner.id, stored)
        return owner, stored


def public_key(
    db: Database, principal: str | None, secret: str, now: datetime, create: bool = True
) -> dict[str, Any]:
    """The principal's public JWK (with ``kid`` and ``alg``), to publish; created on first use
    unless ``create`` is false."""
    if create:
        _, stored = _ensure_key(db, principal, secret, now)
    else:
        with db.transaction() as cur:
            found = store.receipt_key(cur, repo.find_principal(cur, principal).id)
        if found is None:
            raise NotFound("this principal has no receipt key yet: no receipt was issued")
        stored = found
    return {**json.loads(stored.public_jwk), "kid": stored.kid, "alg": ALGORITHM, "use": "sig"}


# ---------------------------------------------------------------------------------------------
# issue
# ---------------------------------------------------------------------------------------------


def issue_receipt(
    db: Database,
    principal: str | None,
    event_id: int,
    secret: str,
    now: datetime,
    public_url: str = "http://127.0.0.1:8000",
) -> Receipt:
    """A signed receipt for a consent, objection or budget event (the service the preference
    page and the API call too)."""
    from joserfc import jws

    owner, stored = _ensure_key(db, principal, secret, now)
    with db.transaction() as cur:
        event = store.event_by_id(cur, owner.id, event_id)
    if event is None:
        raise NotFound(f"no event {event_id} for this principal")
    if event.type not in RECEIPT_EVENTS:
        raise UsageError(
            f"event {event_id} is a {event.type}: receipts are for "
            + ", ".join(sorted(RECEIPT_EVENTS))
        )
    if not event.personal or "contact" not in event.personal:
        raise UsageError(f"event {event_id}: the person's data was erased, no receipt")
    payload = kantara_payload(owner.name, event, stored.kid, public_url)
    body = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    header = {"alg": ALGORITHM, "kid": stored.kid, "typ": "kantara-cr+jws"}
    key = _unseal(secret, owner.id, stored)
    token = jws.serialize_compact(header, body.encode("utf-8"), key, algorithms=[ALGORITHM])
    return Receipt(token, payload, stored.kid)


def kantara_payload(
    controller: str, event: StoredEvent, kid: str, public_url: str
) -> dict[str, Any]:
    """The Kantara Consent Receipt v1.1 fields, plus a ``permis`` block tying it to the ledger."""
    data, action = event.data, RECEIPT_EVENTS[event.type]
    channel = str(data.get("channel", "all"))
    purpose = str(data.get("purpose", "prospecting"))
    termination = {
        "consent_given": f"until withdrawn; expires {data.get('expires_at') or 'never'}",
        "consent_withdrawn": "withdrawn",
        "objection_recorded": "objection: no further contact on this channel and purpose",
        "budget_set": f"at most {data.get('max')} contact(s) per {data.get('per')}",
    }[action]
    assert event.personal is not None
    return {
        "version": KANTARA_VERSION,
        "jurisdiction": "FR",
        "consentTimestamp": event.occurred_at // 1_000_000,
        "collectionMethod": str(data.get("source", "api")),
        "consentReceiptID": str(uuid.uuid5(uuid.NAMESPACE_URL, f"permis:{event.hash}")),
        "publicKey": kid,
        "language": "fr",
        "piiPrincipalId": str(event.personal["contact"]),
        "piiControllers": [
            {
                "piiController": controller,
                "contact": controller,
                "address": "",
                "email": "",
                "phone": "",
                "piiControllerUrl": public_url,
            }
        ],
        "policyUrl": f"{public_url.rstrip('/')}/privacy",
        "services": [
            {
                "service": f"prospecting by {channel}",
                "purposes": [
                    {
                        "purpose": purpose,
                        "purposeCategory": [purpose],
                        "consentType": "EXPLICIT",
                        "piiCategory": ["contact point"],
                        "primaryPurpose": True,
                        "termination": termination,
                        "thirdPartyDisclosure": True,
                        "thirdPartyName": "the processors acting for the controller",
                    }
                ],
            }
        ],
        "sensitive": False,
        "spiCat": [],
        "permis": {
            "action": action,
            "channel": channel,
            "details": data,
            "event": {
                "id": event.id,
                "seq": event.seq,
                "type": event.type,
                "hash": event.hash,
                "occurred_at": instants.from_us(event.occurred_at).isoformat(),
            },
        },
    }


# ---------------------------------------------------------------------------------------------
# one contact point's receipts (the preference page)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReceiptEntry:
    """An event of one contact point a receipt can be issued for."""

    event_id: int
    action: str
    channel: str
    occurred_at: datetime
    details: dict[str, Any]


def contact_receipts(db: Database, principal: str | None, contact_hash: str) -> list[ReceiptEntry]:
    """The contact point's consents given and withdrawn, objections and budgets, newest first
    (events whose personal data was erased give no receipt and are left out)."""
    with db.transaction() as cur:
        owner = repo.find_principal(cur, principal)
        events = repo.contact_events(cur, owner.id, contact_hash)
    return [
        ReceiptEntry(
            e.id,
            RECEIPT_EVENTS[e.type],
            str(e.data.get("channel", "all")),
            instants.from_us(e.occurred_at),
            e.data,
        )
        for e in reversed(events)
        if e.type in RECEIPT_EVENTS and e.personal and "contact" in e.personal
    ]


def contact_receipt(
    db: Database,
    principal: str | None,
    contact_hash: str,
    event_id: int,
    secret: str,
    now: datetime,
    public_url: str,
) -> Receipt:
    """The receipt of ``event_id`` only if that event is about the contact point of
    ``contact_hash`` (a preference link never opens another person's receipt): NotFound
    otherwise, whatever the reason, so the answer tells nothing about other people."""
    with db.transaction() as cur:
        owner = repo.find_principal(cur, principal)
        event = store.event_by_id(cur, owner.id, event_id)
    if (
        event is None
        or event.contact_hash != contact_hash
        or event.type not in RECEIPT_EVENTS
        or not event.personal
        or "contact" not in event.personal
    ):
        raise NotFound("no such receipt for this contact point")
    return issue_receipt(db, owner.name, event_id, secret, now, public_url)


# ---------------------------------------------------------------------------------------------
# verify (needs no database)
# ---------------------------------------------------------------------------------------------


def _canonical(segment: str) -> bool:
    """Base64url without padding, re-encoding to the same text: the last character of a
    segment has spare bits, and a receipt whose text changed must not verify."""
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except ValueError:
        return False
    return base64.urlsafe_b64encode(raw).decode().rstrip("=") == segment


def verify_receipt(text: str, public_jwk: dict[str, Any]) -> dict[str, Any]:
    """The receipt's payload if ``text`` is exactly a receipt signed by ``public_jwk``."""
    from joserfc import jws
    from joserfc.errors import JoseError
    from joserfc.jwk import OKPKey

    match = _COMPACT.match(text)
    if match is None or not all(_canonical(s) for s in match.groups()):
        raise ReceiptInvalid("not a receipt: expected one compact JWS")
    try:
        key = OKPKey.import_key({k: v for k, v in public_jwk.items() if k in {"kty", "crv", "x"}})
        found = jws.deserialize_compact(match.group(0).strip(), key, algorithms=[ALGORITHM])
        payload = json.loads(found.payload)
    except (JoseError, ValueError, TypeError) as exc:
        raise ReceiptInvalid(f"the receipt does not verify with this key ({exc})") from None
    if not isinstance(payload, dict) or payload.get("version") != KANTARA_VERSION:
        raise ReceiptInvalid("signed, but not a Kantara consent receipt")
    return payload
