"""The gate for a batch: facts for every contact of the batch in a few statements, then ``decide``
once per distinct question.

``Gate.check`` costs about 100 µs a contact (parse, six queries, ``decide``). For a batch:

1. the contact points are parsed vectorised (``scrub.normalise_contacts``, proven equal to
   ``parse_contact`` by the scrub's tests);
2. the register is asked once which of their hashes it knows, then each projection is read once
   for those (``adapters.db.facts_many``); opposition lists are looked up in memory;
3. rows whose question is the same (same request fields, same contact point attributes, same
   lists, no facts of their own) share one call to ``decide`` through :meth:`Gate.decide_loaded`,
   as the scrub does per fact signature; rows with facts of their own get their own call.

The result is :class:`BatchDecisions`: the distinct decisions and, per row, which one and the
row's contact point. ``decisions()`` gives one :class:`Decision` per row, equal to
``Gate.check`` row by row (tested); the HTTP door serialises each distinct decision once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from permis.adapters.db import facts_many
from permis.adapters.db import repositories as repo
from permis.adapters.db.database import Cursor
from permis.adapters.db.numbers import to_int
from permis.domain.contact import ContactKind, ContactPoint, contact_hash
from permis.domain.model import CheckRequest, Decision, Facts, ProcessorFact, Sector

if TYPE_CHECKING:
    from permis.services.gate import CheckQuery, Gate


@dataclass(frozen=True, slots=True)
class BatchDecisions:
    distinct: list[Decision]
    """Each different decision once (its ``contact`` is one of the rows')."""
    index: list[int]
    """For each row, its decision in :attr:`distinct`."""
    contacts: list[str | None]
    """For each row, its contact point (normalised), ``None`` when it could not be parsed."""

    def decisions(self) -> list[Decision]:
        """One decision per row, in order."""
        out = []
        for i, contact in zip(self.index, self.contacts, strict=True):
            decision = self.distinct[i]
            out.append(
                decision if decision.contact == contact else replace(decision, contact=contact)
            )
        return out


def _points(texts: Sequence[str]) -> list[ContactPoint | None]:
    """Each text parsed as ``parse_contact`` would, vectorised, one ContactPoint per distinct."""
    import polars as pl

    from permis.services.scrub import normalise_contacts

    distinct = list(dict.fromkeys(texts))
    frame = normalise_contacts(pl.Series("raw", distinct, dtype=pl.Utf8))
    parsed: dict[str, ContactPoint | None] = {}
    columns = ("contact", "permis_kind", "country", "region", "timezones")
    for text, (value, kind, country, region, zones) in zip(
        distinct, frame.select(columns).iter_rows(), strict=True
    ):
        parsed[text] = (
            None
            if value is None
            else ContactPoint(
                ContactKind(kind),
                value,
                country,
                region,
                tuple(z for z in zones.split(",") if z),
                None,
            )
        )
    return [parsed[t] for t in texts]


@dataclass
class _Loaded:
    """What the register says about the batch's contact points, for one principal."""

    principal: repo.Principal
    hashes: dict[str, str]  # value -> hash
    facts: dict[str, Facts]  # hash -> facts (only hashes with facts)
    snapshots: dict[str, tuple[Any, ...]]  # phone value -> snapshot facts
    processors: dict[str, ProcessorFact]


def _load(
    gate: Gate, cur: Cursor, name: str | None, points: list[ContactPoint], processors: set[str]
) -> _Loaded:
    principal = repo.find_principal(cur, name)
    values = list(dict.fromkeys(p.value for p in points))
    hashes = {v: contact_hash(v, principal.hash_key) for v in values}
    dialect = gate.db.dialect
    known = facts_many.known_hashes(cur, dialect, principal.id, list(hashes.values()))
    facts = facts_many.load_facts_many(cur, dialect, principal.id, known)
    phones = [p.value for p in points if p.kind is ContactKind.PHONE]
    phones = list(dict.fromkeys(phones))
    listed = facts_many.listed_snapshots(cur, gate.db.url, [to_int(v) for v in phones])
    return _Loaded(
        principal,
        hashes,
        facts,
        dict(zip(phones, listed, strict=True)),
        {x: repo.processor_fact(cur, principal.id, x) for x in processors},
    )


def check_many(gate: Gate, queries: Sequence[CheckQuery]) -> BatchDecisions:
    """Decisions for ``queries``, in order, as ``gate.check`` gives them one by one."""
    now = gate.clock()
    points = _points([q.contact for q in queries])
    loaded: dict[str | None, _Loaded] = {}
    with gate.db.transaction() as cur:
        for name in dict.fromkeys(q.principal for q in queries):
            mine = [p for q, p in zip(queries, points, strict=True) if q.principal == name]
            wanted = {q.processor for q in queries if q.principal == name and q.processor}
            loaded[name] = _load(gate, cur, name, [p for p in mine if p is not None], wanted)
    distinct: list[Decision] = []
    seen: dict[tuple[Any, ...], int] = {}
    index: list[int] = []
    for query, point in zip(queries, points, strict=True):
        state = loaded[query.principal]
        at = query.at or now
        key, facts = _question(query, at, point, state)
        found = seen.get(key)
        if found is None:
            request = CheckRequest(
                contact=point,
                channel=query.channel,
                at=at,
                purpose=query.purpose,
                audience=query.audience,
                sector=query.sector or Sector(state.principal.sector),
                processor=query.processor,
            )
            found = seen[key] = len(distinct)
            distinct.append(gate.decide_loaded(request, facts))
        index.append(found)
    contacts = [p.value if p is not None else None for p in points]
    return BatchDecisions(distinct, index, contacts)


def _question(
    query: CheckQuery, at: datetime, point: ContactPoint | None, state: _Loaded
) -> tuple[tuple[Any, ...], Facts]:
    """What the decision depends on (a hashable key) and the facts of the row."""
    asked = (query.channel, at, query.purpose, query.audience, query.sector, query.processor)
    if point is None:
        return (query.principal, *asked, None), Facts()
    hashed = state.hashes[point.value]
    own = state.facts.get(hashed)
    snapshots = state.snapshots.get(point.value, ())
    processor = state.processors.get(query.processor) if query.processor else None
    facts = replace(own or Facts(), snapshots=snapshots, processor=processor)
    where = (point.kind, point.country, point.region, point.timezones)
    who = hashed if own is not None else None
    return (query.principal, *asked, where, who, snapshots), facts
