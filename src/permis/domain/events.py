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
    CONTACT_ERASED = "ContactErased"


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
    head_seq: int = 0
    head_hash: str = ""


def verify_chain(
    principal_id: int,
    events: Iterable[StoredEvent],
    head_seq: int,
    head_hash: str,
) -> ChainReport:
    """Walk one principal's events in ``seq`` order; report the first broken link (see
    :class:`ChainWalker`, which does the work on raw rows)."""
    walker = ChainWalker(principal_id, head_seq, head_hash)
    for e in events:
        row = (
            e.id,
            e.seq,
            e.type,
            e.contact_hash,
            e.occurred_at,
            e.recorded_at,
            canonical(e.data),
            canonical(e.personal) if e.personal is not None else None,
            e.personal_digest,
            e.actor,
            e.idempotency_key,
            e.prev_hash,
            e.hash,
        )
        if walker.feed(row) is not None:
            break
    return walker.finish()


def _js(value: str | None) -> str:
    """``canonical(value)`` for a string or None; the common case (hex digests, type names)
    without calling json."""
    if value is None:
        return "null"
    if value.isprintable() and '"' not in value and "\\" not in value:
        return f'"{value}"'
    return json.dumps(value, ensure_ascii=False)


def link_hash_text(
    prev_hash: str,
    seq: int,
    event_type: str,
    contact_hash: str | None,
    occurred_at: int,
    recorded_at: int,
    data_text: str,
    personal_digest: str | None,
    actor: str | None,
    idempotency_key: str | None,
) -> str:
    """:func:`link_hash` over the stored text of ``data`` (already canonical), without parsing
    it: the same digest, about 4 times cheaper (a test checks they agree)."""
    body = (
        f"[{seq},{_js(event_type)},{_js(contact_hash)},{occurred_at},{recorded_at},{data_text},"
        f"{_js(personal_digest)},{_js(actor)},{_js(idempotency_key)}]"
    )
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


ChainRow = tuple[
    int,
    int,
    str,
    str | None,
    int,
    int,
    str,
    str | None,
    str | None,
    str | None,
    str | None,
    str,
    str,
]
"""An event as stored: id, seq, type, contact_hash, occurred_at, recorded_at, data (text),
personal (text or None), personal_digest, actor, idempotency_key, prev_hash, hash."""


class ChainWalker:
    """Streams one principal's events in ``seq`` order and stops at the first broken link.

    Each kind of tampering has its own message and the id of the event where the chain breaks:
    a changed payload (``event content changed``), changed personal data (``personal data
    changed``), a deleted event (``sequence gap``; ``tail missing`` for the last ones), an
    inserted event (``inserted event`` when the next one links past it, ``beyond the chain
    head`` at the end), a moved event (``previous-hash mismatch`` or ``id out of order``),
    a personal part removed without a ``ContactErased`` event (``personal data removed``).
    Memory is constant, except one entry per contact point whose personal data is missing
    (cleared by erasure or retention), checked against the erasure events at the end.
    A whole rewrite of the chain and of the head is not detectable from inside the database:
    anchor the head outside (``permis audit verify --json`` output, signed or published).
    """

    __slots__ = (
        "anchor",
        "count",
        "erased",
        "head_hash",
        "head_seq",
        "last",
        "prev",
        "prev_id",
        "prevprev",
        "principal_id",
        "removed",
        "report",
    )

    def __init__(
        self,
        principal_id: int,
        head_seq: int,
        head_hash: str,
        anchor: tuple[int, str] | None = None,
    ) -> None:
        """``anchor``: a (seq, hash) head published earlier; the chain must still hold it."""
        self.principal_id = principal_id
        self.anchor = anchor
        self.head_seq, self.head_hash = head_seq, head_hash
        self.prev, self.prevprev = GENESIS, ""
        self.prev_id, self.count = 0, 0
        self.last: tuple[int, int] | None = None  # (id, seq) of the previous event
        self.erased: set[str] = set()
        self.removed: dict[str, tuple[int, int]] = {}
        self.report: ChainReport | None = None

    def _broken(self, event_id: int | None, seq: int | None, problem: str) -> ChainReport:
        self.report = ChainReport(
            self.principal_id, self.count, False, event_id, seq, problem, *self._head()
        )
        return self.report

    def _head(self) -> tuple[int, str]:
        return self.head_seq, self.head_hash

    def feed(self, row: ChainRow) -> ChainReport | None:
        """Check one more event; the report when the chain breaks here, None otherwise."""
        eid, seq, etype, chash, occ, rec, data, personal, pdigest, actor, key, prev, digest = row
        self.count += 1
        problem = self._order_problem(eid, seq, prev)
        if problem is not None:
            return problem
        if link_hash_text(prev, seq, etype, chash, occ, rec, data, pdigest, actor, key) != digest:
            return self._broken(eid, seq, "event content changed")
        if self.anchor is not None and seq == self.anchor[0] and digest != self.anchor[1]:
            return self._broken(eid, seq, "differs from the anchored head (history rewritten)")
        if personal is not None:
            if hashlib.sha256(personal.encode("utf-8")).hexdigest() != pdigest:
                return self._broken(eid, seq, "personal data changed")
        elif pdigest is not None and chash is not None and chash not in self.removed:
            self.removed[chash] = (eid, seq)
        if etype == EventType.CONTACT_ERASED and chash is not None:
            self.erased.add(chash)
        self.prevprev, self.prev = self.prev, digest
        self.prev_id, self.last = eid, (eid, seq)
        return None

    def _order_problem(self, eid: int, seq: int, prev: str) -> ChainReport | None:
        expected = self.last[1] + 1 if self.last else 1
        if seq > self.head_seq:
            return self._broken(eid, seq, f"event beyond the chain head (seq {self.head_seq})")
        if seq != expected:
            return self._broken(eid, seq, f"sequence gap: expected {expected}, found {seq}")
        if prev != self.prev:
            if self.last is not None and prev == self.prevprev:
                last_id, last_seq = self.last
                return self._broken(last_id, last_seq, "inserted event: the next one skips it")
            return self._broken(eid, seq, "previous-hash mismatch")
        if eid <= self.prev_id:
            return self._broken(eid, seq, "event id out of order (inserted or moved)")
        return None

    def finish(self) -> ChainReport:
        """The report: the first broken link, or the end checks (tail, erasures)."""
        if self.report is not None:
            return self.report
        last_id, last_seq = self.last if self.last else (None, 0)
        if last_seq != self.head_seq or self.prev != self.head_hash:
            problem = f"tail missing: the head records seq {self.head_seq}, last is {last_seq}"
            return self._broken(last_id, last_seq, problem)
        unexplained = [v for k, v in self.removed.items() if k not in self.erased]
        if unexplained:
            eid, seq = min(unexplained, key=lambda v: v[1])
            return self._broken(eid, seq, "personal data removed without an erasure event")
        if self.anchor is not None and last_seq < self.anchor[0]:
            return self._broken(last_id, last_seq, "shorter than the anchored head")
        return ChainReport(self.principal_id, self.count, True, None, None, None, *self._head())
