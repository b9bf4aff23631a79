"""The gate: load the facts about one contact point and ask ``decide``.

The gate fails closed: a contact point that cannot be parsed is a refusal with
``INVALID_CONTACT``, never an error that a caller could mistake for an allowance.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache, partial
from typing import TYPE_CHECKING

from permis.adapters.db import repositories as repo
from permis.adapters.db.database import Cursor, Database
from permis.adapters.db.warm import WarmCache
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
    SnapshotFact,
)
from permis.domain.pressure import Policy
from permis.domain.rules.base import RulePack
from permis.domain.rules.registry import Rulebook, as_rulebook
from permis.errors import InvalidContact
from permis.services.policy import load_policy

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
    campaign: str | None = None


class Gate:
    def __init__(
        self,
        db: Database,
        rules: RulePack | Rulebook,
        clock: Callable[[], datetime],
        policy: Policy | None = None,  # None: the principal's policy in force, from the register
        cache_size: int = 0,  # > 0: keep what checks read in memory (SQLite; adapters.db.warm)
    ) -> None:
        self.db = db
        self.rules = as_rulebook(rules)
        self.clock = clock
        self.policy = policy
        self._principals: dict[str, tuple[float, repo.Principal]] = {}
        self.warm = WarmCache.for_database(db, cache_size)

    def check(self, query: CheckQuery) -> Decision:
        at = query.at or self.clock()
        point = _parse(query.contact)
        loaded = self._warm(query, point) if self.warm is not None else None
        if loaded is None:
            with self.db.transaction() as cur:
                loaded = self._load(cur, query, point)
        principal, policy, facts = loaded
        request = CheckRequest(
            contact=point,
            channel=query.channel,
            at=at,
            purpose=query.purpose,
            audience=query.audience,
            sector=query.sector or Sector(principal.sector),
            processor=query.processor,
            campaign=query.campaign,
        )
        return self.decide_loaded(request, facts, policy, principal.name)

    def _load(
        self, cur: Cursor, query: CheckQuery, point: ContactPoint | None
    ) -> tuple[repo.Principal, Policy, Facts]:
        """The principal, its policy and the facts about ``point``, read in ``cur``."""
        principal = self.principal(cur, query.principal)
        policy = self.policy_for(cur, principal)
        return principal, policy, _facts(cur, principal, point, query.processor)

    def _warm(
        self, query: CheckQuery, point: ContactPoint | None
    ) -> tuple[repo.Principal, Policy, Facts] | None:
        """:meth:`_load` from the warm cache when the register has not changed since it was
        read (one ``PRAGMA`` and no transaction), else read in a transaction and remembered.
        One entry per principal as named, contact point and processor (all three read in one
        transaction), and one per principal as named (its row and policy, read once per
        generation rather than at each contact point first seen)."""
        warm = self.warm
        assert warm is not None
        key = (query.principal, point.value if point is not None else None, query.processor)
        loaded: tuple[repo.Principal, Policy, Facts] | None = warm.get(warm.generation(), key)
        if loaded is not None:
            return loaded
        with self.db.transaction() as cur:
            generation = warm.generation()  # the snapshot of what is read next
            owner: tuple[repo.Principal, Policy] | None = warm.get(
                generation, ("principal", query.principal)
            )
            if owner is None:
                found = self._principal_now(cur, query.principal)
                owner = (found, self.policy_for(cur, found))
                warm.put(generation, ("principal", query.principal), owner)
            principal, policy = owner
            lists = partial(warm.snapshots, cur, generation)
            loaded = (principal, policy, _facts(cur, principal, point, query.processor, lists))
            warm.put(generation, key, loaded)
        return loaded

    def _principal_now(self, cur: Cursor, name: str | None) -> repo.Principal:
        """``find_principal`` as the register is now (the warm cache keeps it per generation)."""
        found = repo.find_principal(cur, name)
        if name is not None:
            self._principals[name] = (time.monotonic(), found)
        return found

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

    def check_columns(
        self, contacts: Sequence[str], group: Sequence[int], questions: Sequence[CheckQuery]
    ) -> BatchDecisions:
        """:meth:`check_many` where row ``i`` asks ``questions[group[i]]`` about
        ``contacts[i]`` (``services.gate_batch.check_columns``)."""
        from permis.services.gate_batch import check_columns

        return check_columns(self, contacts, group, questions)

    def policy_for(self, cur: Cursor, principal: repo.Principal) -> Policy:
        """The policy that :meth:`check` applies for ``principal`` (the batch path reads it
        once per batch)."""
        return self.policy if self.policy is not None else load_policy(cur, principal.id)

    def decide_loaded(
        self, request: CheckRequest, facts: Facts, policy: Policy, principal: str
    ) -> Decision:
        """``decide`` under the contact's rule pack (its country, or the principal's override),
        for loaded facts: :meth:`check` and the batch path (once per distinct question)."""
        pack = self.rules.pack_for(request.contact, self.rules.override_for(principal))
        return decide(request, facts, pack, policy)


def _facts(
    cur: Cursor,
    principal: repo.Principal,
    point: ContactPoint | None,
    processor: str | None,
    snapshots: Callable[[str], tuple[SnapshotFact, ...]] | None = None,
) -> Facts:
    """What the register holds about ``point`` for ``principal`` (none for an unparsed one),
    the opposition lists from ``snapshots`` when given (the warm cache's)."""
    if point is None:
        return Facts()
    hashed = contact_hash(point.value, principal.hash_key)
    number = point.value if point.kind is ContactKind.PHONE else None
    return repo.load_facts(cur, principal.id, hashed, number, processor, snapshots)


PARSED_CACHE = 65_536
"""Written forms whose parse each process remembers (a few tens of MB at most)."""


@lru_cache(maxsize=PARSED_CACHE)
def _parse(text: str) -> ContactPoint | None:
    """``parse_contact``, remembered per written form: it is a pure function of the text (the
    phonenumbers metadata is fixed for the process) and it is most of an uncached check's CPU
    (about 45 µs of 180), while dialers check the same numbers again and again."""
    try:
        return parse_contact(text)
    except InvalidContact:
        return None
