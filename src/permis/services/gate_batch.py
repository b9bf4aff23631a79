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

Queries without ``at`` are all decided at one instant, the clock read once for the batch.
The result is :class:`BatchDecisions`: the distinct decisions and, per row, which one and the
row's contact point. ``decisions()`` gives one :class:`Decision` per row, equal to
``Gate.check`` row by row (tested); the HTTP door serialises each distinct decision once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from permis.adapters.db import facts_many
from permis.adapters.db import repositories as repo
from permis.adapters.db.database import Cursor
from permis.adapters.db.numbers import to_int
from permis.domain.contact import ContactKind, ContactPoint
from permis.domain.model import CheckRequest, Decision, Facts, ProcessorFact, Sector, SnapshotFact
from permis.domain.pressure import Policy

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


Row = tuple[str, str, str | None, str | None, str]
"""A parsed contact point as columns: value, kind, country, region, time zones (comma-joined)."""


def _rows(texts: Sequence[str]) -> list[Row | None]:
    """Each text parsed as ``parse_contact`` would, vectorised (``None``: not a contact point)."""
    import polars as pl

    from permis.services.scrub import normalise_contacts

    distinct = list(dict.fromkeys(texts))
    frame = normalise_contacts(pl.Series("raw", distinct, dtype=pl.Utf8))
    columns = [frame[c].to_list() for c in ("contact", "permis_kind", "country", "region")]
    zones = frame["timezones"].fill_null("").to_list()
    parsed: dict[str, Row | None] = {
        text: None if value is None else (value, kind, country, region, zone)
        for text, value, kind, country, region, zone in zip(distinct, *columns, zones, strict=True)
    }
    return [parsed[t] for t in texts]


def _point(row: Row) -> ContactPoint:
    value, kind, country, region, zones = row
    return ContactPoint(
        ContactKind(kind), value, country, region, tuple(z for z in zones.split(",") if z), None
    )


@dataclass
class _Loaded:
    """What the register says about the batch's contact points, for one principal."""

    principal: repo.Principal
    hashes: dict[str, str]  # value -> hash
    facts: dict[str, Facts]  # hash -> facts (only hashes the register knows)
    snapshots: dict[str, tuple[SnapshotFact, ...]]  # phone value -> snapshot facts (shared)
    processors: dict[str, ProcessorFact]
    policy: Policy
    points: dict[str | None, Any] = field(default_factory=dict)
    """What each contact point adds to a question (``_point_key``), computed once per value."""


def _load(
    gate: Gate, cur: Cursor, name: str | None, rows: list[Row], processors: set[str]
) -> _Loaded:
    principal = gate.principal(cur, name)
    values = list(dict.fromkeys(r[0] for r in rows))
    hashes = _hashes(principal.hash_key, values)
    dialect = gate.db.dialect
    known = facts_many.known_hashes(cur, dialect, principal.id, list(hashes.values()))
    facts = facts_many.load_facts_many(cur, dialect, principal.id, known)
    phones = list(dict.fromkeys(r[0] for r in rows if r[1] == ContactKind.PHONE.value))
    listed = facts_many.listed_snapshots(cur, gate.db.url, [to_int(v) for v in phones])
    return _Loaded(
        principal,
        hashes,
        facts,
        dict(zip(phones, listed, strict=True)),
        {x: repo.processor_fact(cur, principal.id, x) for x in processors},
        gate.policy_for(cur, principal),
    )


def _hashes(key: bytes, values: list[str]) -> dict[str, str]:
    """``contact_hash`` of each value: the same HMAC-SHA256, with the key's two padded blocks
    hashed once for the batch instead of once per value (three times faster; a test compares
    every row with ``Gate.check``)."""
    block = key.ljust(64, b"\0") if len(key) <= 64 else hashlib.sha256(key).digest().ljust(64)
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))
    out = {}
    for value in values:
        i = inner.copy()
        i.update(value.encode("utf-8"))
        o = outer.copy()
        o.update(i.digest())
        out[value] = o.hexdigest()
    return out


def check_many(gate: Gate, queries: Sequence[CheckQuery]) -> BatchDecisions:
    """Decisions for ``queries``, in order, as ``gate.check`` gives them one by one."""
    groups: dict[CheckQuery, int] = {}
    group = [groups.setdefault(replace(q, contact=""), len(groups)) for q in queries]
    return check_columns(gate, [q.contact for q in queries], group, list(groups))


def check_columns(
    gate: Gate, contacts: Sequence[str], group: Sequence[int], questions: Sequence[CheckQuery]
) -> BatchDecisions:
    """:func:`check_many` on columns: row ``i`` asks ``questions[group[i]]`` (whose own
    ``contact`` is ignored) about ``contacts[i]``. The HTTP door reads a batch this way, without
    a query object per row: a batch usually asks one or a few questions of many contacts."""
    now = gate.clock()
    rows = _rows(contacts)
    loaded: dict[str | None, _Loaded] = {}
    with gate.db.transaction() as cur:
        for name in dict.fromkeys(q.principal for q in questions):
            if len(loaded) == 0 and all(q.principal == name for q in questions):
                mine = rows
            else:
                asked = {g for g, q in enumerate(questions) if q.principal == name}
                mine = [r for g, r in zip(group, rows, strict=True) if g in asked]
            wanted = {q.processor for q in questions if q.principal == name and q.processor}
            loaded[name] = _load(gate, cur, name, [r for r in mine if r is not None], wanted)
    states = [loaded[q.principal] for q in questions]
    ats = [q.at or now for q in questions]
    distinct: list[Decision] = []
    seen: dict[tuple[int, Any], int] = {}
    index: list[int] = []
    for g, row in zip(group, rows, strict=True):
        state = states[g]
        value = row[0] if row is not None else None
        point = state.points.get(value, _NO_KEY)
        if point is _NO_KEY:
            point = state.points[value] = _point_key(row, state)
        found = seen.get((g, point))
        if found is None:
            found = seen[(g, point)] = len(distinct)
            distinct.append(_decide(gate, questions[g], ats[g], row, state))
        index.append(found)
    return BatchDecisions(distinct, index, [r[0] if r is not None else None for r in rows])


_NO_KEY = object()


def _point_key(row: Row | None, state: _Loaded) -> Any:
    """What a contact point adds to the question: nothing when unparseable; else its
    attributes, the lists holding it, and its own identity when it has facts. Two rows share
    a decision when they ask the same question (same group) with the same point key. The snapshot
    tuples are shared objects (one per combination of lists), so their identity stands for
    them; a point with facts is its own key."""
    if row is None:
        return None
    hashed = state.hashes[row[0]]
    if hashed in state.facts:
        return hashed
    return (row[1:], id(state.snapshots.get(row[0], ())))


def _decide(
    gate: Gate, query: CheckQuery, at: datetime, row: Row | None, state: _Loaded
) -> Decision:
    point = _point(row) if row is not None else None
    facts = Facts()
    if row is not None:
        own = state.facts.get(state.hashes[row[0]]) or Facts()
        processor = state.processors.get(query.processor) if query.processor else None
        facts = replace(own, snapshots=state.snapshots.get(row[0], ()), processor=processor)
    request = CheckRequest(
        contact=point,
        channel=query.channel,
        at=at,
        purpose=query.purpose,
        audience=query.audience,
        sector=query.sector or Sector(state.principal.sector),
        processor=query.processor,
        campaign=query.campaign,
    )
    return gate.decide_loaded(request, facts, state.policy, state.principal.name)
