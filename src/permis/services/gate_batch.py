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
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from permis.adapters.db import facts_many
from permis.adapters.db import repositories as repo
from permis.adapters.db.database import Cursor
from permis.domain.contact import ContactKind, ContactPoint, contact_hash
from permis.domain.model import CheckRequest, Decision, Facts, ProcessorFact, Sector, SnapshotFact
from permis.domain.pressure import Policy
from permis.services.erasure import erased_bucket

if TYPE_CHECKING:
    import polars as pl

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


@dataclass(frozen=True, slots=True)
class _Parsed:
    """The batch's distinct written forms, parsed as ``parse_contact`` would (vectorised), as
    columns: ``values[j]`` is ``None`` when ``texts[j]`` is not a contact point."""

    texts: list[str]
    inv: list[int]
    """For each row, its written form in :attr:`texts`."""
    values: list[str | None]
    kinds: list[str | None]
    countries: list[str | None]
    regions: list[str | None]
    zones: list[str]
    """Time zones, comma-joined."""
    listed: list[tuple[bool, ...]]
    """For each text, which snapshots (``facts_many.listed_columns``' order) list it."""

    def point(self, j: int) -> ContactPoint | None:
        value, kind = self.values[j], self.kinds[j]
        if value is None or kind is None:
            return None
        zones = tuple(z for z in self.zones[j].split(",") if z)
        return ContactPoint(
            ContactKind(kind), value, self.countries[j], self.regions[j], zones, None
        )


def _parse(texts: Sequence[str]) -> tuple[list[str], list[int], pl.DataFrame]:
    """The distinct texts, each row's index among them, and their ``normalise_contacts``."""
    import polars as pl

    from permis.services.scrub import normalise_contacts

    seen: dict[str, int] = {}
    inv = [seen.setdefault(t, len(seen)) for t in texts]
    distinct = list(seen)
    return distinct, inv, normalise_contacts(pl.Series("raw", distinct, dtype=pl.Utf8))


def _parsed(cur: Cursor, where: str, texts: Sequence[str]) -> tuple[_Parsed, list[Any]]:
    """The batch's contact points and the opposition list snapshots (pairs of facts: not
    listed, listed) that may hold them."""
    import polars as pl

    from permis.services.scrub_state import phone_numbers

    distinct, inv, frame = _parse(texts)
    phone = frame["permis_kind"] == ContactKind.PHONE.value
    contact = frame["contact"]
    numbers = pl.select(pl.when(phone).then(phone_numbers(contact))).to_series()
    snapshots, flags = facts_many.listed_columns(cur, where, numbers)
    return _Parsed(
        distinct,
        inv,
        contact.to_list(),
        frame["permis_kind"].to_list(),
        frame["country"].to_list(),
        frame["region"].to_list(),
        frame["timezones"].fill_null("").to_list(),
        list(zip(*flags, strict=True)) if flags else [()] * len(distinct),
    ), snapshots


@dataclass
class _Loaded:
    """What the register says about the batch's contact points, for one principal."""

    principal: repo.Principal
    processors: dict[str, ProcessorFact]
    policy: Policy
    keys: list[int]
    """For each distinct text, its point key: texts with the same key add the same thing to a
    question (attributes, lists, facts), so they share a decision (0: not a contact point)."""
    reps: list[tuple[int, Facts]]
    """For each point key, one text having it and its own facts (``Facts()`` when none)."""


_EMPTY = Facts()


def _load(
    gate: Gate,
    cur: Cursor,
    name: str | None,
    parsed: _Parsed,
    wanted: Sequence[int],
    processors: set[str],
) -> _Loaded:
    principal = gate.principal(cur, name)
    values = parsed.values
    asked = list(dict.fromkeys(v for j in wanted if (v := values[j]) is not None))
    hashes = _known(gate, cur, principal, asked)
    facts = facts_many.load_facts_many(cur, gate.db.dialect, principal.id, set(hashes.values()))
    own: dict[str, int] = {}  # value -> id of its facts (equal facts, same id)
    ids: dict[Facts, int] = {_EMPTY: 0}
    for known, hashed in hashes.items():
        own[known] = ids.setdefault(facts.get(hashed, _EMPTY), len(ids))
    by_id = list(ids)
    keys = [0] * len(values)
    seen: dict[Any, int] = {}
    reps: list[tuple[int, Facts]] = [(-1, _EMPTY)]
    kinds, countries, regions, zones, listed = (
        parsed.kinds,
        parsed.countries,
        parsed.regions,
        parsed.zones,
        parsed.listed,
    )
    for j in wanted:
        value = values[j]
        if value is None:
            continue
        fid = own.get(value, 0)
        key = (fid, kinds[j], countries[j], regions[j], zones[j], listed[j])
        found = seen.get(key)
        if found is None:
            found = seen[key] = len(reps)
            reps.append((j, by_id[fid]))
        keys[j] = found
    return _Loaded(
        principal,
        {x: repo.processor_fact(cur, principal.id, x) for x in processors},
        gate.policy_for(cur, principal),
        keys,
        reps,
    )


SMALL_REGISTER = 20_000
"""A principal with at most this many contact points has them all read for a batch (hash,
value, erased bucket: a few ms) and the batch matched with them by value, so that the rows the
register does not know cost no HMAC. Above, every distinct value is key-hashed and the register
asked which hashes it knows (about 8 µs a value)."""
LARGE_SECONDS = 300.0
"""How long a principal found above :data:`SMALL_REGISTER` goes straight to hashing."""
_large: dict[tuple[str, int], float] = {}


def _known(gate: Gate, cur: Cursor, principal: repo.Principal, values: list[str]) -> dict[str, str]:
    """The hash of each value the register knows (has a contact point for), by value."""
    where = (gate.db.url, principal.id)
    points = None
    if time.monotonic() - _large.get(where, -LARGE_SECONDS) >= LARGE_SECONDS:
        points = facts_many.contact_points_upto(cur, principal.id, SMALL_REGISTER)
        if points is None:
            _large[where] = time.monotonic()
    by_value: dict[str, str] = {}
    erased: dict[int, set[str]] = {}
    for hashed, value, bucket in points or ():
        if value is not None:
            by_value[str(value)] = str(hashed)
        elif bucket is not None:
            erased.setdefault(int(bucket), set()).add(str(hashed))
        else:  # erased before buckets existed: only its hash can find it
            points = None
            break
    if points is None:
        hashes = _hashes(principal.hash_key, values)
        known = facts_many.known_hashes(cur, gate.db.dialect, principal.id, list(hashes.values()))
        return {v: h for v, h in hashes.items() if h in known}
    out = {v: h for v in values if (h := by_value.get(v)) is not None}
    if erased:
        for value in values:
            held = erased.get(erased_bucket(value)) if value not in out else None
            if held and (hashed := contact_hash(value, principal.hash_key)) in held:
                out[value] = hashed
    return out


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
    groups: dict[tuple[Any, ...], int] = {}
    questions: list[CheckQuery] = []
    group = []
    for q in queries:
        key = (
            q.channel,
            q.at,
            q.principal,
            q.processor,
            q.purpose,
            q.audience,
            q.sector,
            q.campaign,
        )
        found = groups.get(key)
        if found is None:
            found = groups[key] = len(questions)
            questions.append(q)
        group.append(found)
    return check_columns(gate, [q.contact for q in queries], group, questions)


def check_columns(
    gate: Gate, contacts: Sequence[str], group: Sequence[int], questions: Sequence[CheckQuery]
) -> BatchDecisions:
    """:func:`check_many` on columns: row ``i`` asks ``questions[group[i]]`` (whose own
    ``contact`` is ignored) about ``contacts[i]``. The HTTP door reads a batch this way, without
    a query object per row: a batch usually asks one or a few questions of many contacts."""
    now = gate.clock()
    loaded: dict[str | None, _Loaded] = {}
    with gate.db.transaction() as cur:
        parsed, snapshots = _parsed(cur, gate.db.url, contacts)
        owners = list(dict.fromkeys(q.principal for q in questions))
        for name in owners:
            if len(owners) == 1:
                wanted: Sequence[int] = range(len(parsed.texts))
            else:
                asked = {g for g, q in enumerate(questions) if q.principal == name}
                wanted = sorted({j for g, j in zip(group, parsed.inv, strict=True) if g in asked})
            mine = {q.processor for q in questions if q.principal == name and q.processor}
            loaded[name] = _load(gate, cur, name, parsed, wanted, mine)
    states = [loaded[q.principal] for q in questions]
    ats = [q.at or now for q in questions]
    distinct: list[Decision] = []

    def decision(g: int, key: int) -> int:
        state = states[g]
        j, own = state.reps[key]
        distinct.append(_decide(gate, questions[g], ats[g], parsed, j, own, snapshots, state))
        return len(distinct) - 1

    if len(questions) == 1:
        keys = states[0].keys
        by_key = [-1] * len(states[0].reps)
        for j in range(len(parsed.texts)):  # the rows' first texts come in this order
            if by_key[keys[j]] < 0:
                by_key[keys[j]] = decision(0, keys[j])
        index = [by_key[keys[j]] for j in parsed.inv]
    else:
        seen: dict[tuple[int, int], int] = {}
        index = []
        for g, j in zip(group, parsed.inv, strict=True):
            key = states[g].keys[j]
            found = seen.get((g, key))
            if found is None:
                found = seen[(g, key)] = decision(g, key)
            index.append(found)
    values = parsed.values
    return BatchDecisions(distinct, index, [values[j] for j in parsed.inv])


def _decide(
    gate: Gate,
    query: CheckQuery,
    at: datetime,
    parsed: _Parsed,
    j: int,
    own: Facts,
    snapshots: list[Any],
    state: _Loaded,
) -> Decision:
    point = parsed.point(j) if j >= 0 else None
    facts = _EMPTY
    if point is not None:
        processor = state.processors.get(query.processor) if query.processor else None
        listed: tuple[SnapshotFact, ...] = ()
        if point.kind is ContactKind.PHONE:
            listed = tuple(pair[b] for pair, b in zip(snapshots, parsed.listed[j], strict=True))
        facts = replace(own, snapshots=listed, processor=processor)
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
