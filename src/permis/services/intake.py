"""The intake doors' use cases: inbound SMS, signed links, the preference page's state.

Every change ends in a :class:`permis.services.register.Register` verb (one transaction each);
this module only reads the request, chooses the verb and derives the idempotency key, so a
provider's retry, a mail scanner or a double click records nothing twice.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from permis.adapters.db import instants
from permis.adapters.db import intake as store
from permis.adapters.db import repositories as repo
from permis.adapters.db.database import Database
from permis.adapters.inbound import (
    LinkClaim,
    LinkPurpose,
    LinkStatus,
    SmsIntent,
    link_key,
    open_link,
    seal_link,
    sms_keyword,
    token_principal,
)
from permis.config import Settings
from permis.domain.contact import contact_hash, parse_contact, parse_phone
from permis.domain.model import ALL, Channel, Period, Source
from permis.errors import InvalidContact, RegisterNotInitialised, UsageError
from permis.services.register import Recorded, Register

Clock = Callable[[], datetime]
ONE_CLICK = "List-Unsubscribe=One-Click"
MAX_TOKEN = 2048


@dataclass(frozen=True, slots=True)
class Links:
    """What ``permis links`` prints for one contact point (DESIGN.md 4.4)."""

    preferences: str
    unsubscribe: str
    headers: dict[str, str]
    expires_at: datetime

    def to_dict(self) -> dict[str, object]:
        return {
            "preferences": self.preferences,
            "unsubscribe": self.unsubscribe,
            "headers": self.headers,
            "expires_at": self.expires_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class OpenedLink:
    """A checked link: its status and, when genuine, the claim and the principal's name."""

    status: LinkStatus
    claim: LinkClaim | None = None
    principal: str | None = None

    @property
    def valid(self) -> bool:
        return self.status is LinkStatus.VALID

    def channel(self) -> Channel:
        """The channel an unsubscribe link speaks for: the one its contact point is reached on."""
        assert self.claim is not None
        return Channel.EMAIL if "@" in self.claim.contact else Channel.SMS


@dataclass(frozen=True, slots=True)
class SmsOutcome:
    intent: SmsIntent
    recorded: Recorded | None
    stored: bool


@dataclass(frozen=True, slots=True)
class ChannelState:
    """One row of the preference page."""

    channel: Channel
    consents: tuple[str, ...]
    """Purposes the person agreed to on this channel (current consents)."""
    consent_since: datetime | None
    objected: bool
    budget: tuple[int, Period] | None


@dataclass(frozen=True, slots=True)
class PreferenceChange:
    """A change asked on the preference page, already validated by the page."""

    action: str
    """``withdraw`` (a consent), ``object`` (a channel or ``all``) or ``budget``."""
    channel: str
    page_version: str
    form_id: str | None = None
    maximum: int | None = None
    per: Period | None = None


class Intake:
    def __init__(self, db: Database, register: Register, settings: Settings, clock: Clock):
        self.db = db
        self.register = register
        self.settings = settings
        self.clock = clock

    # -- links -----------------------------------------------------------------------------

    def _key(self, principal: repo.Principal) -> bytes:
        secret = self.settings.link_secret
        return link_key(secret.encode("utf-8") if secret else principal.hash_key)

    def links(self, principal: str | None, contact: str) -> Links:
        """The preference and unsubscribe links of one contact point, and the mail headers."""
        point = parse_contact(contact)
        with self.db.transaction() as cur:
            owner = repo.find_principal(cur, principal)
        expires = self.clock() + timedelta(days=self.settings.link_ttl_days)
        hashed = contact_hash(point.value, owner.hash_key)
        base = self.settings.public_url.rstrip("/")
        key = self._key(owner)

        def url(purpose: LinkPurpose) -> str:
            claim = LinkClaim(purpose, owner.id, point.value, hashed, int(expires.timestamp()))
            return f"{base}/{purpose.value}/{seal_link(key, claim)}"

        unsubscribe = url(LinkPurpose.UNSUBSCRIBE)
        headers = {"List-Unsubscribe": f"<{unsubscribe}>", "List-Unsubscribe-Post": ONE_CLICK}
        return Links(url(LinkPurpose.PREFERENCES), unsubscribe, headers, expires)

    def open(self, token: str, purpose: LinkPurpose) -> OpenedLink:
        """Check a link without changing anything: TAMPERED, EXPIRED or VALID."""
        principal_id = token_principal(token) if len(token) <= MAX_TOKEN else None
        if principal_id is None:
            return OpenedLink(LinkStatus.TAMPERED)
        with self.db.transaction() as cur:
            owner = store.principal_by_id(cur, principal_id)
        if owner is None:
            return OpenedLink(LinkStatus.TAMPERED)
        check = open_link(self._key(owner), token, purpose, int(self.clock().timestamp()))
        if check.claim is None:
            return OpenedLink(check.status)
        if contact_hash(check.claim.contact, owner.hash_key) != check.claim.contact_hash:
            return OpenedLink(LinkStatus.TAMPERED)
        return OpenedLink(check.status, check.claim, owner.name)

    def unsubscribe(self, token: str) -> tuple[OpenedLink, Recorded | None]:
        """RFC 8058 one-click: an objection for the link's channel, once per token."""
        link = self.open(token, LinkPurpose.UNSUBSCRIBE)
        if not link.valid or link.claim is None:
            return link, None
        recorded = self.register.record_objection(
            principal=link.principal,
            contact=link.claim.contact,
            source=Source.EMAIL if link.channel() is Channel.EMAIL else Source.SMS,
            channel=link.channel().value,
            actor="one-click",
            idempotency_key="one-click:" + hashlib.sha256(token.encode()).hexdigest()[:40],
        )
        return link, recorded

    def preferences(self, link: OpenedLink) -> list[ChannelState]:
        """What the register holds for the link's contact point, channel by channel, now."""
        assert link.claim is not None
        now = self.clock()
        with self.db.transaction() as cur:
            owner = repo.find_principal(cur, link.principal)
            facts = repo.load_facts(cur, owner.id, link.claim.contact_hash, None, None)
        rows = []
        for channel in Channel:
            current = [
                c
                for c in facts.consents
                if c.channel == channel.value
                and c.given_at <= now
                and (c.withdrawn_at is None or now < c.withdrawn_at)
                and (c.expires_at is None or now < c.expires_at)
            ]
            budgets = sorted(
                (b for b in facts.budgets if b.channel in (channel.value, ALL)),
                key=lambda b: b.set_at,
            )
            rows.append(
                ChannelState(
                    channel,
                    tuple(sorted({c.purpose for c in current})),
                    min((c.given_at for c in current), default=None),
                    any(o.channel in (channel.value, ALL) for o in facts.objections),
                    (budgets[-1].max, budgets[-1].period) if budgets else None,
                )
            )
        return rows

    def change_preference(self, link: OpenedLink, change: PreferenceChange) -> Recorded:
        """One change made on the preference page: one register event, with the version of the
        page as proof and the page's form id in the idempotency key (a double submit is one)."""
        assert link.valid and link.claim is not None
        actor = f"web:{change.page_version}"
        key = None
        if change.form_id:
            raw = f"{link.claim.contact_hash}|{change.form_id}|{change.action}|{change.channel}"
            key = "web:" + hashlib.sha256(raw.encode()).hexdigest()[:40]
        who, contact, channel = link.principal, link.claim.contact, change.channel
        if change.action == "withdraw":
            return self.register.withdraw_consent(
                principal=who,
                contact=contact,
                source=Source.WEB,
                channel=channel,
                actor=actor,
                idempotency_key=key,
            )
        if change.action == "object":
            return self.register.record_objection(
                principal=who,
                contact=contact,
                source=Source.WEB,
                channel=channel,
                actor=actor,
                idempotency_key=key,
            )
        if change.action == "budget" and change.maximum is not None and change.per is not None:
            return self.register.record_budget(
                principal=who,
                contact=contact,
                channel=channel,
                maximum=change.maximum,
                per=change.per,
                actor=actor,
                idempotency_key=key,
            )
        raise UsageError("unknown change")

    # -- inbound SMS -------------------------------------------------------------------------

    def receive_sms(
        self,
        principal: str | None,
        sender: str,
        recipient: str | None,
        body: str,
        message_id: str | None,
        provider: str = "twilio",
    ) -> SmsOutcome:
        """``STOP``… → objection for SMS; ``START``/``UNSTOP`` → lift the SMS objections sent by
        SMS; anything else is kept. A retry of the same provider message changes nothing."""
        intent = sms_keyword(body)
        try:
            point = parse_phone(sender)
        except InvalidContact:
            point = None
        key = f"{provider}:{message_id}" if message_id else None
        recorded = None
        actor = f"sms:{provider}"
        if point is not None and intent is SmsIntent.OPT_OUT:
            recorded = self.register.record_objection(
                principal=principal,
                contact=point.value,
                source=Source.SMS,
                channel=Channel.SMS.value,
                actor=actor,
                idempotency_key=key,
            )
        elif point is not None and intent is SmsIntent.OPT_IN:
            recorded = self.register.lift_objection(
                principal=principal,
                contact=point.value,
                channel=Channel.SMS,
                source=Source.SMS,
                actor=actor,
                idempotency_key=key,
            )
        now = instants.to_us(self.clock())
        with self.db.transaction(write=True) as cur:
            owner = repo.find_principal(cur, principal)
            value = point.value if point is not None else "unparsed:" + sender.strip()
            message = store.InboundMessage(
                provider,
                message_id or "local-" + secrets.token_hex(12),
                contact_hash(value, owner.hash_key),
                recipient,
                body,
                intent.value if point is not None else f"{intent.value}:invalid_sender",
                recorded.event.id if recorded else None,
                now,
            )
            stored = store.add_inbound_message(cur, owner.id, message)
        return SmsOutcome(intent, recorded, stored)

    # -- agent sessions ------------------------------------------------------------------------

    def session_key(self) -> bytes:
        """The key of agent session cookies: ``PERMIS_LINK_SECRET``, else the first principal's."""
        secret = self.settings.link_secret
        if secret:
            return link_key(b"agent:" + secret.encode("utf-8"))
        with self.db.transaction() as cur:
            owner = store.first_principal(cur)
        if owner is None:
            raise RegisterNotInitialised("The register has no principal: run `permis init`")
        return link_key(b"agent:" + owner.hash_key)
