"""The gate for a batch: facts for every contact of the batch in a few statements, then ``decide``
once per distinct question.

``Gate.check`` costs about 100 µs a contact (parse, six queries, ``decide``). For a batch, with
no Python step per row where Polars or a C-level ``map`` can do it:

1. the distinct contact points are parsed vectorised (``scrub.normalise_contacts``, proven equal
   to ``parse_contact`` by the scrub's tests); opposition lists are looked up in memory, one
   binary search per number and snapshot (``sorted_columns.holds``);
2. the register says which of them it knows: when the principal has at most
   :data:`SMALL_REGISTER` contact points, all are read (hash, value, erased bucket) and matched
   by value, as the scrub does (an erased point, whose value is gone, by its bucket then its
   keyed hash), so that strangers cost no HMAC; otherwise every value is key-hashed and the
   register asked by hash. Each projection is then read once for the known ones
   (``adapters.db.facts_many``);
3. rows whose question is the same (same request fields, same contact point attributes, same
   lists, equal facts: compared by value, usually none) share one call to ``decide`` through
   :meth:`Gate.decide_loaded`. ``decide`` is a pure function of the request, the facts, the rule
   pack and the policy, and a row's value reaches its decision only as its ``contact`` field.

Queries without ``at`` are all decided at one instant, the clock read once for the batch.
The result is :class:`BatchDecisions`: the distinct decisions and, per row, which one and the
row's contact point. ``decisions()`` gives one :class:`Decision` per row, equal to
``Gate.check`` row by row (tested); the HTTP door serialises each distinct decision once.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from operator import attrgetter
from typing import TYPE_CHECKING, Any, cast

from permis.adapters.db import facts_many
from permis.adapters.db import repositories as repo
from permis.adapters.db.database import Cursor
from permis.domain.contact import ContactKind, ContactPoint
from permis.domain.model import CheckRequest, Decision, Facts, ProcessorFact, Sector, SnapshotFact
from permis.domain.pressure import Policy

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


_ATTRIBUTES = ["permis_kind", "country", "region", "timezones"]


@dataclass(frozen=True, slots=True)
class _Parsed:
    """The batch's distinct written forms, parsed as ``parse_contact`` would (vectorised)."""

    inv: Sequence[int]
    """For each row, its written form (index of the distinct texts)."""
    values: list[str | None]
    """Each distinct text's contact point (normalised), ``None`` when it is not one."""
    frame: pl.DataFrame
    """Per text: the contact point's attributes (:data:`_ATTRIBUTES`), then one Boolean column
    per opposition list snapshot (``facts_many.snapshot_columns``' order): whether it lists it."""


@dataclass(frozen=True, slots=True)
class _Rep:
    """A point key (see :class:`_Loaded`): one text having it, its facts and attributes."""

    text: int
    facts: Facts
    kind: str
    country: str | None
    region: str | None
    zones: str
    listed: tuple[bool, ...]


def _distinct(texts: Sequence[str]) -> tuple[pl.Series, Sequence[int]]:
    """The distinct texts, first seen first, and each row's index among them: a batch's
    contacts are usually all different, which Polars tells without a Python step per row."""
    import polars as pl

    raw = pl.Series("raw", texts, dtype=pl.Utf8)
    if raw.n_unique() == len(raw):
        return raw, range(len(raw))
    distinct = list(dict.fromkeys(texts))
    where = dict(zip(distinct, range(len(distinct)), strict=True))
    return pl.Series("raw", distinct, dtype=pl.Utf8), list(map(where.__getitem__, texts))


def _parsed(cur: Cursor, where: str, texts: Sequence[str]) -> tuple[_Parsed, list[Any]]:
    """The batch's contact points and the opposition list snapshots (pairs of facts: not
    listed, listed) that may hold them."""
    import polars as pl

    from permis.services.scrub import normalise_contacts
    from permis.services.sorted_columns import holds, phone_numbers

    distinct, inv = _distinct(texts)
    frame = normalise_contacts(distinct)
    contact = frame["contact"]
    phone = frame["permis_kind"] == ContactKind.PHONE.value
    numbers = pl.select(pl.when(phone).then(phone_numbers(contact))).to_series()
    snapshots, held = facts_many.snapshot_columns(cur, where)
    flags = [holds(entries, numbers) for entries in held]
    frame = frame.select(
        pl.col(_ATTRIBUTES[:3]),
        pl.col("timezones").fill_null(""),
        *(flag.alias(f"listed{i}") for i, flag in enumerate(flags)),
    )
    return _Parsed(inv, contact.to_list(), frame), snapshots


@dataclass
class _Loaded:
    """What the register says about the batch's contact points, for one principal."""

    principal: repo.Principal
    processors: dict[str, ProcessorFact]
    policy: Policy
    keys: list[int]
    """For each distinct text, its point key: texts with the same key add the same thing to a
    question (attributes, lists, facts compared by value), so they share a decision (0: not a
    contact point)."""
    reps: list[_Rep | None]
    """Each point key's :class:`_Rep` (``None`` for 0)."""


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
    distinct = dict.fromkeys(map(values.__getitem__, wanted))
    distinct.pop(None, None)
    asked = cast(list[str], list(distinct))
    hashes = _known(gate, cur, principal, asked)
    facts = facts_many.load_facts_many(cur, gate.db.dialect, principal.id, set(hashes.values()))
    own: dict[str, int] = {}  # value -> id of its facts (equal facts, same id)
    ids: dict[Facts, int] = {_EMPTY: 0}
    for known, hashed in hashes.items():
        own[known] = ids.setdefault(facts.get(hashed, _EMPTY), len(ids))
    keys, firsts = _keys(parsed, own)
    by_id = list(ids)
    reps = {
        k: _Rep(r[-1], by_id[r[0]], r[1], r[2], r[3], r[4], tuple(r[5:-1]))
        for k, r in firsts.items()
    }
    return _Loaded(
        principal,
        {x: repo.processor_fact(cur, principal.id, x) for x in processors},
        gate.policy_for(cur, principal),
        keys,
        [reps.get(k) for k in range(max(reps, default=0) + 1)],
    )


def _keys(parsed: _Parsed, own: dict[str, int]) -> tuple[list[int], dict[int, tuple[Any, ...]]]:
    """Each text's point key (0: not a contact point) and, for each other key, the columns of
    the first text having it: facts id, attributes, lists, text index. Vectorised: the key is
    the dense rank of those columns (equal columns, equal rank; not a hash)."""
    import polars as pl

    contact = pl.Series("contact", parsed.values, dtype=pl.Utf8)
    fid = contact.replace_strict(own, default=0, return_dtype=pl.Int64) if own else 0
    frame = parsed.frame.select(pl.lit(fid).alias("fid"), pl.all())
    rank = pl.struct(frame.columns).rank("dense")
    valid = contact.is_not_null()
    keys = frame.select(pl.when(valid).then(rank).otherwise(0)).to_series().to_list()
    first = dict(zip(reversed(keys), range(len(keys) - 1, -1, -1), strict=True))
    first.pop(0, None)
    rows = frame.with_row_index("text")[list(first.values())].select(*frame.columns, "text")
    return keys, dict(zip(first, rows.rows(), strict=True))


SMALL_REGISTER = 20_000
"""A principal with at most this many contact points (and at most :data:`SMALL_FACTOR` times as
many as the batch has values) has them all read for a batch (hash, value, erased bucket: about
1.5 µs a point) and matched with the batch by value, so that the rows the register does not know
cost no HMAC. Otherwise every distinct value is key-hashed and the register asked which hashes
it knows (about 8 µs a value)."""
SMALL_FACTOR = 4
LARGE_SECONDS = 300.0
"""How long a principal found above a limit goes straight to hashing for batches that would
read no more than that limit."""
_large: dict[tuple[str, int], tuple[float, int]] = {}


def _known(gate: Gate, cur: Cursor, principal: repo.Principal, values: list[str]) -> dict[str, str]:
    """The hash of each value the register knows (has a contact point for), by value."""
    if not values:
        return {}
    where = (gate.db.url, principal.id)
    limit = min(SMALL_REGISTER, SMALL_FACTOR * len(values))
    since, above = _large.get(where, (-LARGE_SECONDS, -1))
    points = None
    if limit > above or time.monotonic() - since >= LARGE_SECONDS:
        points = facts_many.contact_points_upto(cur, principal.id, limit)
        if points is None:
            _large[where] = (time.monotonic(), limit)
    by_value: dict[str, str] = {}
    erased: dict[int, dict[str, str]] = {}  # bucket -> {hash: hash}
    for hashed, value, bucket in points or ():
        if value is not None:
            by_value[str(value)] = str(hashed)
        elif bucket is not None:
            erased.setdefault(int(bucket), {})[str(hashed)] = str(hashed)
        else:  # erased before buckets existed: only its hash can find it
            points = None
            break
    if points is None:
        hashes = _hashes(principal.hash_key, values)
        known = facts_many.known_hashes(cur, gate.db.dialect, principal.id, list(hashes.values()))
        return {v: h for v, h in hashes.items() if h in known}
    out = {v: by_value[v] for v in by_value.keys() & values}
    if erased:
        import polars as pl

        from permis.services.scrub_state import find_erased

        contacts = pl.Series("contact", values, dtype=pl.Utf8)
        unmatched = ~contacts.is_in(list(out))
        for row, hashed in find_erased(contacts, unmatched, erased, principal.hash_key):
            out[values[row]] = hashed
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


def _question_of() -> Callable[[CheckQuery], tuple[Any, ...]]:
    """What a query asks besides its contact: every field of ``CheckQuery`` but ``contact``
    (derived from the dataclass, so a field added later is part of it), read at C level."""
    from permis.services.gate import CheckQuery

    names = [f.name for f in fields(CheckQuery) if f.name != "contact"]
    return cast(Callable[[CheckQuery], tuple[Any, ...]], attrgetter(*names))


def check_many(gate: Gate, queries: Sequence[CheckQuery]) -> BatchDecisions:
    """Decisions for ``queries``, in order, as ``gate.check`` gives them one by one."""
    groups: dict[tuple[Any, ...], int] = {}
    questions: list[CheckQuery] = []
    group = []
    question = _question_of()
    for q in queries:
        key = question(q)
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
                wanted: Sequence[int] = range(len(parsed.values))
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
        rep = state.reps[key]
        distinct.append(_decide(gate, questions[g], ats[g], parsed, rep, snapshots, state))
        return len(distinct) - 1

    if len(questions) == 1:
        keys = states[0].keys
        used = set(keys)  # every key but perhaps 0 (no text that is not a contact point)
        by_key = [decision(0, k) if k in used else -1 for k in range(len(states[0].reps))]
        index = list(map(by_key.__getitem__, map(keys.__getitem__, parsed.inv)))
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
    return BatchDecisions(distinct, index, list(map(values.__getitem__, parsed.inv)))


def _decide(
    gate: Gate,
    query: CheckQuery,
    at: datetime,
    parsed: _Parsed,
    rep: _Rep | None,
    snapshots: list[Any],
    state: _Loaded,
) -> Decision:
    point = None
    facts = _EMPTY
    if rep is not None:
        zones = tuple(z for z in rep.zones.split(",") if z)
        value = parsed.values[rep.text]
        assert value is not None
        kind = ContactKind(rep.kind)
        point = ContactPoint(kind, value, rep.country, rep.region, zones, None)
        processor = state.processors.get(query.processor) if query.processor else None
        listed: tuple[SnapshotFact, ...] = ()
        if kind is ContactKind.PHONE:
            listed = tuple(pair[b] for pair, b in zip(snapshots, rep.listed, strict=True))
        facts = replace(rep.facts, snapshots=listed, processor=processor)
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
