"""Shared pieces of the table-driven tests of the packs outside France.

A case is a written contact point, a channel, an instant, the facts, and the exact answer: the
reason codes in order and ``next_allowed_at`` (ISO 8601, in the contact's first zone, or None).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from permis.domain.contact import parse_contact
from permis.domain.decide import decide
from permis.domain.model import (
    Audience,
    Channel,
    CheckRequest,
    ConsentFact,
    ContractFact,
    Decision,
    Facts,
    SnapshotFact,
)
from permis.domain.rules.base import RulePack


def t(text: str) -> datetime:
    return datetime.fromisoformat(text)


@dataclass(frozen=True)
class Case:
    name: str
    contact: str
    at: str
    codes: tuple[str, ...]
    next_allowed: str | None
    channel: Channel = Channel.CALL
    facts: Facts = field(default_factory=Facts)
    audience: Audience = Audience.CONSUMER


def snapshot(name: str, as_of: str, *, listed: bool = False, days: int = 31) -> SnapshotFact:
    start = t(as_of)
    return SnapshotFact(name, start, start + timedelta(days=days), listed)


def consent(channel: str, at: str, **extra: datetime | None) -> ConsentFact:
    return ConsentFact(channel, "prospecting", t(at), **extra)  # type: ignore[arg-type]


def ended_contract(start: str, end: str) -> ContractFact:
    return ContractFact(t(start), t(end))


def run(case: Case, pack: RulePack) -> Decision:
    request = CheckRequest(
        parse_contact(case.contact), case.channel, t(case.at), audience=case.audience
    )
    return decide(request, case.facts, pack)


def check(case: Case, pack: RulePack) -> None:
    decision = run(case, pack)
    assert decision.codes == case.codes, (case.name, decision.codes, decision.reasons)
    found = decision.next_allowed_at.isoformat() if decision.next_allowed_at else None
    assert found == case.next_allowed, (case.name, found)
    assert decision.allowed == (not case.codes)
