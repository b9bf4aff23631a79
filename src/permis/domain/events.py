"""Ledger events (past tense) and the hash chain that makes the ledger tamper-evident.

Each event stores the hash of the previous event of the same principal. Personal data (the
contact point's value, the proof text) lives in a separate, erasable ``personal`` part; the chain
covers only its salted digest, so erasing a person (GDPR art. 17) leaves a chain that still
verifies, while the keyed hash of the contact point keeps their objections in force.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

GENESIS = "0" * 64


class EventType(StrEnum):
    PRINCIPAL_CREATED = "PrincipalCreated"
    PROCESSOR_ADDED = "ProcessorAdded"
    CONSENT_GIVEN = "ConsentGiven"
    CONSENT_WITHDRAWN = "ConsentWithdrawn"
    OBJECTION_RECORDED = "ObjectionRecorded"
    OBJECTION_LIFTED = "ObjectionLifted"
    REFUSAL_RECORDED = "RefusalRecorded"
    CONTRACT_RECORDED = "ContractRecorded"
    ATTEMPT_RECORDED = "AttemptRecorded"
    BUDGET_SET = "BudgetSet"
    LIST_IMPORTED = "ListImported"
    API_KEY_CREATED = "ApiKeyCreated"
    API_KEY_REVOKED = "ApiKeyRevoked"
    POLICY_SET = "PolicySet"
    RECEIPT_KEY_CREATED = "ReceiptKeyCreated"


OPT_OUT_EVENTS = frozenset({EventType.OBJECTION_RECORDED, EventType.CONSENT_WITHDRAWN})
"""Events that must reach every processor (they get an outbox row in the same transaction)."""


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event about to be appended. Times are integer microseconds since the epoch (UTC)."""

    type: EventType
    occurred_at: int
    data: dict[str, Any]
    contact_hash: str | None = None
    personal: dict[str, Any] | None = None
    actor: str | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class StoredEvent:
    id: int
    principal_id: int
    seq: int
    type: str
    contact_hash: str | None
    occurred_at: int
    recorded_at: int
    data: dict[str, Any]
    personal: dict[str, Any] | None
    personal_digest: str | None
    actor: str | None
    idempotency_key: str | None
    prev_hash: str
    hash: str


def canonical(value: Any) -> str:
    """The one serialisation the chain hashes: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest_personal(personal: dict[str, Any] | None) -> str | None:
    """Salted digest of the personal part (the caller puts a random ``salt`` in it)."""
    if personal is None:
        return None
    return hashlib.sha256(canonical(personal).encode("utf-8")).hexdigest()


def link_hash(
    prev_hash: str,
    seq: int,
    event_type: str,
    contact_hash: str | None,
    occurred_at: int,
    recorded_at: int,
    data: dict[str, Any],
    personal_digest: str | None,
    actor: str | None,
    idempotency_key: str | None,
) -> str:
    body = canonical(
        [
            seq,
            event_type,
            contact_hash,
            occurred_at,
            recorded_at,
            data,
            personal_digest,
            actor,
            idempotency_key,
        ]
    )
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def stored_hash(event: StoredEvent) -> str:
    return link_hash(
        event.prev_hash,
        event.seq,
        event.type,
        event.contact_hash,
        event.occurred_at,
        event.recorded_at,
        event.data,
        event.personal_digest,
        event.actor,
        event.idempotency_key,
    )


@dataclass(frozen=True, slots=True)
class ChainReport:
    principal_id: int
    events: int
    ok: bool
    broken_event_id: int | None = None
    broken_seq: int | None = None
    problem: str | None = None


def verify_chain(
    principal_id: int,
    events: Iterable[StoredEvent],
    head_seq: int,
    head_hash: str,
) -> ChainReport:
    """Walk one principal's events in ``seq`` order; report the first broken link.

    Detects a changed event (its hash no longer matches), a removed one (a gap in ``seq`` or a
    ``prev_hash`` that does not match), a reordered one, and a truncated tail (the head kept on
    the principal no longer matches the last event).
    """
    prev, expected_seq, count = GENESIS, 1, 0
    for event in events:
        count += 1
        problem = _link_problem(event, prev, expected_seq)
        if problem is not None:
            return ChainReport(principal_id, count, False, event.id, event.seq, problem)
        if event.personal is not None and digest_personal(event.personal) != event.personal_digest:
            return ChainReport(
                principal_id, count, False, event.id, event.seq, "personal data changed"
            )
        prev, expected_seq = event.hash, event.seq + 1
    if expected_seq - 1 != head_seq or prev != head_hash:
        return ChainReport(principal_id, count, False, None, expected_seq, "tail missing")
    return ChainReport(principal_id, count, True)


def _link_problem(event: StoredEvent, prev: str, expected_seq: int) -> str | None:
    if event.seq != expected_seq:
        return f"sequence gap: expected {expected_seq}, found {event.seq}"
    if event.prev_hash != prev:
        return "previous-hash mismatch"
    if stored_hash(event) != event.hash:
        return "event content changed"
    return None
