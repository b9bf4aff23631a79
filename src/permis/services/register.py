"""Use cases that append to the register: one transaction each, event + projections + outbox.

Each ``record_*`` method parses and validates everything *before* opening the transaction, so a
bad input writes nothing. With an idempotency key, a repeat returns the first event unchanged.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from permis.adapters.db import instants
from permis.adapters.db import repositories as repo
from permis.adapters.db.database import Cursor, Database
from permis.domain.contact import ContactPoint, contact_hash, parse_contact
from permis.domain.events import OPT_OUT_EVENTS, EventType, NewEvent, StoredEvent
from permis.domain.model import ALL, Channel, Outcome, Period, Sector, Source
from permis.errors import UsageError

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class Recorded:
    """The outcome of a ``record`` command: the event, and whether this call created it."""

    event: StoredEvent
    created: bool

    def to_dict(self) -> dict[str, Any]:
        event = self.event
        return {
            "created": self.created,
            "event": {
                "id": event.id,
                "seq": event.seq,
                "type": event.type,
                "contact_hash": event.contact_hash,
                "occurred_at": instants.from_us(event.occurred_at).isoformat(),
                "recorded_at": instants.from_us(event.recorded_at).isoformat(),
                "data": event.data,
                "actor": event.actor,
                "idempotency_key": event.idempotency_key,
                "hash": event.hash,
            },
        }


@dataclass(frozen=True, slots=True)
class _Subject:
    """A parsed contact point and the principal it is recorded for."""

    principal: repo.Principal
    contact: ContactPoint
    hash: str


class Register:
    def __init__(self, db: Database, clock: Clock, grace_seconds: int = 60) -> None:
        self.db = db
        self.clock = clock
        self.grace_seconds = grace_seconds  # violations: see services/violations.py

    # -- principals and processors ----------------------------------------------------------

    def ensure_principal(self, name: str, sector: Sector = Sector.GENERAL) -> repo.Principal:
        with self.db.transaction(write=True) as cur:
            existing = [p for p in repo.list_principals(cur) if p.name == name]
            if existing:
                return existing[0]
            now = instants.to_us(self.clock())
            principal = repo.create_principal(cur, name, sector.value, now)
            event = NewEvent(
                EventType.PRINCIPAL_CREATED, now, {"name": name, "sector": sector.value}
            )
            repo.append_event(cur, principal.id, event, now)
            return principal

    def add_processor(self, principal: str | None, name: str, channels: list[str]) -> Recorded:
        scope = ",".join(sorted(set(channels))) if channels else ALL
        with self.db.transaction(write=True) as cur:
            owner = repo.find_principal(cur, principal)
            now = instants.to_us(self.clock())
            repo.add_processor(cur, owner.id, name, scope, now)
            event = NewEvent(EventType.PROCESSOR_ADDED, now, {"name": name, "channels": scope})
            return Recorded(repo.append_event(cur, owner.id, event, now), True)

    def processors(self, principal: str | None) -> list[tuple[str, str, bool]]:
        with self.db.transaction() as cur:
            return repo.list_processors(cur, repo.find_principal(cur, principal).id)

    # -- the record verbs --------------------------------------------------------------------

    def record_consent(
        self,
        *,
        principal: str | None,
        contact: str,
        channel: Channel,
        source: Source,
        purpose: str,
        at: datetime | None = None,
        proof: str | None = None,
        proof_version: str | None = None,
        expires: datetime | None = None,
        actor: str | None = None,
        idempotency_key: str | None = None,
    ) -> Recorded:
        when = at or self.clock()
        if expires is not None and expires <= when:
            raise UsageError("--expires must be after the time of the consent")
        data = {
            "channel": channel.value,
            "purpose": purpose,
            "source": source.value,
            "expires_at": expires.isoformat() if expires else None,
            "proof": {
                "version": proof_version,
                "sha256": hashlib.sha256(proof.encode()).hexdigest() if proof else None,
                "collected_at": when.isoformat(),
                "recorded_by": actor,
                "source": source.value,
            },
        }
        values = {
            "channel": channel.value,
            "purpose": purpose,
            "given_at": instants.to_us(when),
            "expires_at": instants.opt_us(expires),
            "source": source.value,
        }
        extra = {"proof": proof} if proof is not None else {}
        return self._record(
            principal,
            contact,
            EventType.CONSENT_GIVEN,
            when,
            data,
            actor,
            idempotency_key,
            extra,
            lambda cur, s, e: repo.project(cur, "consents", s.principal.id, s.hash, e.id, values),
        )

    def record_objection(
        self,
        *,
        principal: str | None,
        contact: str,
        source: Source,
        channel: str = ALL,
        purpose: str = ALL,
        at: datetime | None = None,
        actor: str | None = None,
        idempotency_key: str | None = None,
    ) -> Recorded:
        when = at or self.clock()
        data = {"channel": channel, "purpose": purpose, "source": source.value}

        def apply(cur: Cursor, s: _Subject, e: StoredEvent) -> None:
            repo.project(
                cur,
                "objections",
                s.principal.id,
                s.hash,
                e.id,
                {
                    "channel": channel,
                    "purpose": purpose,
                    "at": instants.to_us(when),
                    "source": source.value,
                },
            )

        return self._record(
            principal,
            contact,
            EventType.OBJECTION_RECORDED,
            when,
            data,
            actor,
            idempotency_key,
            {},
            apply,
        )

    def record_refusal(
        self,
        *,
        principal: str | None,
        contact: str,
        at: datetime | None = None,
        processor: str | None = None,
        actor: str | None = None,
        idempotency_key: str | None = None,
    ) -> Recorded:
        when = at or self.clock()
        values = {"at": instants.to_us(when), "processor": processor}
        return self._record(
            principal,
            contact,
            EventType.REFUSAL_RECORDED,
            when,
            {"processor": processor},
            actor,
            idempotency_key,
            {},
            lambda cur, s, e: repo.project(cur, "refusals", s.principal.id, s.hash, e.id, values),
        )

    def record_contract(
        self,
        *,
        principal: str | None,
        contact: str,
        start: datetime,
        end: datetime | None = None,
        subject: str | None = None,
        actor: str | None = None,
        idempotency_key: str | None = None,
    ) -> Recorded:
        if end is not None and end <= start:
            raise UsageError("--end must be after --start")
        data = {
            "start": start.isoformat(),
            "end": end.isoformat() if end else None,
            "object": subject,
        }
        values = {"start_at": instants.to_us(start), "end_at": instants.opt_us(end)}
        return self._record(
            principal,
            contact,
            EventType.CONTRACT_RECORDED,
            start,
            data,
            actor,
            idempotency_key,
            {},
            lambda cur, s, e: repo.project(cur, "contracts", s.principal.id, s.hash, e.id, values),
        )

    def record_attempt(
        self,
        *,
        principal: str | None,
        contact: str,
        channel: Channel,
        at: datetime | None = None,
        processor: str | None = None,
        outcome: Outcome | None = None,
        actor: str | None = None,
        idempotency_key: str | None = None,
        campaign: str | None = None,
    ) -> Recorded:
        when = at or self.clock()
        data = {
            "channel": channel.value,
            "processor": processor,
            "outcome": outcome.value if outcome else None,
        }
        if campaign is not None:
            data["campaign"] = campaign

        def apply(cur: Cursor, s: _Subject, e: StoredEvent) -> None:
            at_us = instants.to_us(when)
            from permis.services.violations import flag_attempt

            grace, now = self.grace_seconds * 1_000_000, e.recorded_at
            flag_attempt(
                cur, s.principal.id, s.hash, e.id, channel.value, processor, at_us, grace, now
            )
            repo.project(
                cur,
                "attempts",
                s.principal.id,
                s.hash,
                e.id,
                {
                    "channel": channel.value,
                    "at": at_us,
                    "processor": processor,
                    "outcome": data["outcome"],
                    "campaign": campaign,
                },
            )
            if outcome is Outcome.REFUSED:  # a refusal reported by the dialer is a refusal
                repo.project(
                    cur,
                    "refusals",
                    s.principal.id,
                    s.hash,
                    e.id,
                    {"at": at_us, "processor": processor},
                )
                repo.add_outbox(cur, s.principal.id, e)

        return self._record(
            principal,
            contact,
            EventType.ATTEMPT_RECORDED,
            when,
            data,
            actor,
            idempotency_key,
            {},
            apply,
        )

    def record_budget(
        self,
        *,
        principal: str | None,
        contact: str,
        channel: str,
        maximum: int,
        per: Period,
        at: datetime | None = None,
        actor: str | None = None,
        idempotency_key: str | None = None,
    ) -> Recorded:
        if maximum < 0:
            raise UsageError("--max must be zero or more")
        when = at or self.clock()
        values = {
            "channel": channel,
            "max_count": maximum,
            "period": per.value,
            "set_at": instants.to_us(when),
        }
        return self._record(
            principal,
            contact,
            EventType.BUDGET_SET,
            when,
            {"channel": channel, "max": maximum, "per": per.value},
            actor,
            idempotency_key,
            {},
            lambda cur, s, e: repo.project(cur, "budgets", s.principal.id, s.hash, e.id, values),
        )

    def withdraw_consent(
        self,
        *,
        principal: str | None,
        contact: str,
        source: Source,
        channel: str = ALL,
        purpose: str = ALL,
        at: datetime | None = None,
        actor: str | None = None,
        idempotency_key: str | None = None,
    ) -> Recorded:
        """``ConsentWithdrawn``: the matching consents stop counting from ``at`` (GDPR 7(3))."""
        when = at or self.clock()
        data = {"channel": channel, "purpose": purpose, "source": source.value}
        at_us = instants.to_us(when)

        def apply(cur: Cursor, s: _Subject, e: StoredEvent) -> None:
            repo.withdraw_consents(cur, s.principal.id, s.hash, channel, purpose, at_us)

        return self._record(
            principal,
            contact,
            EventType.CONSENT_WITHDRAWN,
            when,
            data,
            actor,
            idempotency_key,
            {},
            apply,
        )

    def lift_objection(
        self,
        *,
        principal: str | None,
        contact: str,
        channel: Channel,
        source: Source,
        at: datetime | None = None,
        actor: str | None = None,
        idempotency_key: str | None = None,
    ) -> Recorded:
        """``ObjectionLifted``: the person takes back the objections of exactly ``channel`` that
        came by ``source`` (SMS ``START`` lifts SMS objections sent by SMS, nothing else). An
        objection to every channel, or one given to an agent, stays. Never a consent."""
        when = at or self.clock()
        data = {"channel": channel.value, "source": source.value}
        at_us = instants.to_us(when)

        def apply(cur: Cursor, s: _Subject, e: StoredEvent) -> None:
            repo.lift_objections(cur, s.principal.id, s.hash, channel.value, source.value, at_us)

        return self._record(
            principal,
            contact,
            EventType.OBJECTION_LIFTED,
            when,
            data,
            actor,
            idempotency_key,
            {},
            apply,
        )

    # -- the one write path --------------------------------------------------------------------

    def _record(
        self,
        principal: str | None,
        contact: str,
        event_type: EventType,
        when: datetime,
        data: dict[str, Any],
        actor: str | None,
        idempotency_key: str | None,
        personal: dict[str, Any],
        apply: Callable[[Cursor, _Subject, StoredEvent], None],
    ) -> Recorded:
        point = parse_contact(contact)  # raises InvalidContact before anything is written
        with self.db.transaction(write=True) as cur:
            owner = repo.find_principal(cur, principal)
            if idempotency_key is not None:
                repo.lock_chain(cur, owner.id)
                first = repo.find_idempotent(cur, owner.id, idempotency_key)
                if first is not None:
                    return Recorded(first, False)
            subject = _Subject(owner, point, contact_hash(point.value, owner.hash_key))
            now = instants.to_us(self.clock())
            event = NewEvent(
                event_type,
                instants.to_us(when),
                data,
                subject.hash,
                {"salt": secrets.token_hex(16), "contact": point.value, **personal},
                actor,
                idempotency_key,
            )
            stored = repo.append_event(cur, owner.id, event, now)
            repo.upsert_contact_point(cur, owner.id, subject.hash, _contact_fields(point), now)
            apply(cur, subject, stored)
            if event_type in OPT_OUT_EVENTS or event_type is EventType.REFUSAL_RECORDED:
                repo.add_outbox(cur, owner.id, stored)
            return Recorded(stored, True)

    def history(self, principal: str | None, contact: str) -> list[StoredEvent]:
        point = parse_contact(contact)
        with self.db.transaction() as cur:
            owner = repo.find_principal(cur, principal)
            return repo.contact_events(cur, owner.id, contact_hash(point.value, owner.hash_key))


def _contact_fields(point: ContactPoint) -> dict[str, Any]:
    return {
        "kind": point.kind.value,
        "value": point.value,
        "country": point.country,
        "region": point.region,
        "tz": ",".join(point.timezones),
    }
