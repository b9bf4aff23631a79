"""The gate: load the facts about one contact point and ask ``decide``.

The gate fails closed: a contact point that cannot be parsed is a refusal with
``INVALID_CONTACT``, never an error that a caller could mistake for an allowance.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from permis.adapters.db import repositories as repo
from permis.adapters.db.database import Cursor, Database
from permis.domain.contact import ContactKind, ContactPoint, contact_hash, parse_contact
from permis.domain.decide import decide
from permis.domain.model import (
    DEFAULT_PURPOSE,
    Audience,
    Channel,
    CheckRequest,
    Decision,
    Facts,
    Sector,
)
from permis.domain.pressure import EMPTY_POLICY, Policy
from permis.domain.rules.base import RulePack
from permis.errors import InvalidContact

if TYPE_CHECKING:
    from permis.services.gate_batch import BatchDecisions

PRINCIPAL_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class CheckQuery:
    """A check as the doors receive it: the contact point still in its written form."""

    contact: str
    channel: Channel
    at: datetime | None = None
    principal: str | None = None
    processor: str | None = None
    purpose: str = DEFAULT_PURPOSE
    audience: Audience = Audience.CONSUMER
    sector: Sector | None = None


class Gate:
    def __init__(
        self,
        db: Database,
        rules: RulePack,
        clock: Callable[[], datetime],
        policy: Policy = EMPTY_POLICY,
    ) -> None:
        self.db = db
        self.rules = rules
        self.clock = clock
        self.policy = policy
        self._principals: dict[str, tuple[float, repo.Principal]] = {}

    def check(self, query: CheckQuery) -> Decision:
        at = query.at or self.clock()
        point = _parse(query.contact)
        with self.db.transaction() as cur:
            principal = self.principal(cur, query.principal)
            facts = Facts()
            if point is not None:
                hashed = contact_hash(point.value, principal.hash_key)
                number = point.value if point.kind is ContactKind.PHONE else None
                facts = repo.load_facts(cur, principal.id, hashed, number, query.processor)
        request = CheckRequest(
            contact=point,
            channel=query.channel,
            at=at,
            purpose=query.purpose,
            audience=query.audience,
            sector=query.sector or Sector(principal.sector),
            processor=query.processor,
        )
        return decide(request, facts, self.rules, self.policy)

    def principal(self, cur: Cursor, name: str | None) -> repo.Principal:
        """``find_principal``, remembered per process for :data:`PRINCIPAL_SECONDS` when named
        (the API always names it; a principal's key and sector do not change under it)."""
        if name is None:
            return repo.find_principal(cur, None)
        now = time.monotonic()
        hit = self._principals.get(name)
        if hit is not None and now - hit[0] < PRINCIPAL_SECONDS:
            return hit[1]
        found = repo.find_principal(cur, name)
        self._principals[name] = (now, found)
        return found

    def check_many(self, queries: Sequence[CheckQuery]) -> BatchDecisions:
        """A batch of checks, equal to ``check`` row by row, in a few statements
        (``services.gate_batch``); ``.decisions()`` gives one Decision per query."""
        from permis.services.gate_batch import check_many

        return check_many(self, queries)

    def policy_for(self, cur: Cursor, principal: repo.Principal) -> Policy:
        """The policy that :meth:`check` applies for ``principal`` (the batch path reads it
        once per batch): keep it in step with :meth:`check`."""
        return self.policy

    def decide_loaded(self, request: CheckRequest, facts: Facts, policy: Policy) -> Decision:
        """``decide`` with this gate's rules, for facts loaded in bulk (the batch path calls it
        once per distinct question): keep it in step with :meth:`check`."""
        return decide(request, facts, self.rules, policy)


def _parse(text: str) -> ContactPoint | None:
    try:
        return parse_contact(text)
    except InvalidContact:
        return None
