"""Facts reduced to their representative times give the same reason codes as the real facts."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from permis.adapters.db import instants
from permis.domain.contact import parse_phone
from permis.domain.decide import decide
from permis.domain.model import (
    AttemptFact,
    BudgetFact,
    Channel,
    CheckRequest,
    ConsentFact,
    ContractFact,
    Facts,
    ObjectionFact,
    Period,
    RefusalFact,
)
from permis.domain.pressure import Policy, PolicyCap, add_months, period_shift
from permis.domain.rules.fr import fr_pack
from permis.services import scrub_facts as sf
from permis.services.scrub_state import _COLUMNS, FACT, _facts, _keys, _signatures


def test_represent_keeps_boundaries_and_moves_the_rest_inside_their_interval() -> None:
    times = pl.Series("t", [1, 5, 6, 9, 10, 11, 20, None, 100], dtype=pl.Int64)
    got = sf.represent(times, [10, 5, 20]).to_list()
    assert got[1] == 5 and got[4] == 10 and got[6] == 20
    assert got[2] == got[3] and 5 < got[2] < 10
    assert got[5] is not None and 10 < got[5] < 20
    assert got[0] is not None and got[0] < 5
    assert got[8] is not None and got[8] > 20
    assert got[7] is None


@pytest.mark.parametrize("period", list(Period))
def test_threshold_is_the_first_instant_an_attempt_still_counts(period: Period) -> None:
    for at in (
        datetime(2027, 3, 31, 10, 0, tzinfo=UTC),
        datetime(2028, 2, 29, 23, 59, tzinfo=UTC),
        datetime(2026, 11, 24, 9, 30, tzinfo=UTC),
    ):
        shift = period_shift(period)
        first = sf.threshold(at, shift)
        assert at < shift(instants.from_us(first))
        assert not at < shift(instants.from_us(first - 1))


def test_threshold_of_a_clipped_month() -> None:
    at = datetime(2027, 3, 30, 10, 0, tzinfo=UTC)  # add_months(Feb 28..., 1) is Mar 28
    first = instants.from_us(sf.threshold(at, lambda t: add_months(t, 1)))
    assert first == datetime(2027, 3, 1, 0, 0, tzinfo=UTC)


def _frames(people: list[Facts]) -> dict[str, pl.DataFrame]:
    rows: dict[str, list[tuple[object, ...]]] = {table: [] for table in _COLUMNS}
    us = instants.to_us
    for i, facts in enumerate(people):
        h = f"h{i}"
        rows["consents"] += [
            (
                h,
                c.channel,
                c.purpose,
                us(c.given_at),
                c.expires_at and us(c.expires_at),
                c.withdrawn_at and us(c.withdrawn_at),
                c.source,
            )
            for c in facts.consents
        ]
        rows["objections"] += [
            (h, o.channel, o.purpose, us(o.at), o.source) for o in facts.objections
        ]
        rows["refusals"] += [(h, us(r.at), r.processor) for r in facts.refusals]
        rows["contracts"] += [(h, us(k.start), k.end and us(k.end)) for k in facts.contracts]
        rows["attempts"] += [(h, a.channel, us(a.at), a.campaign) for a in facts.attempts]
        rows["budgets"] += [
            (h, b.channel, b.max, b.period.value, us(b.set_at)) for b in facts.budgets
        ]
    return {
        table: pl.DataFrame(
            rows[table], schema={"contact_hash": pl.Utf8, **_COLUMNS[table]}, orient="row"
        )
        for table in _COLUMNS
    }


def _random_facts(rng: random.Random, at: datetime) -> Facts:
    def when(days: int = 500) -> datetime:
        return at - timedelta(seconds=rng.randrange(-86_400 * 20, 86_400 * days))

    channels = ["call", "sms", "email"]
    return Facts(
        consents=tuple(
            ConsentFact(
                rng.choice(channels),
                "prospecting",
                when(1400),
                rng.choice([None, at + timedelta(seconds=rng.randrange(-8_640_000, 8_640_000))]),
                rng.choice([None, None, when(200)]),
            )
            for _ in range(rng.randrange(3))
        ),
        objections=tuple(
            ObjectionFact(when(), rng.choice(["all", "call", "sms"]))
            for _ in range(rng.choice([0, 0, 0, 1]))
        ),
        refusals=tuple(RefusalFact(when(200)) for _ in range(rng.choice([0, 0, 0, 1]))),
        contracts=tuple(
            ContractFact(when(3000), rng.choice([None, when(1500)]))
            for _ in range(rng.choice([0, 0, 0, 1]))
        ),
        attempts=tuple(
            AttemptFact(when(400), rng.choice(["call", "sms"])) for _ in range(rng.randrange(9))
        ),
        budgets=tuple(
            BudgetFact(
                rng.choice(["all", "call", "sms"]),
                rng.randrange(3),
                rng.choice(list(Period)),
                when(300),
            )
            for _ in range(rng.choice([0, 0, 0, 1]))
        ),
    )


@pytest.mark.parametrize("seed", range(6))
def test_representative_facts_decide_like_the_real_ones(seed: int) -> None:
    rng = random.Random(seed)
    at = datetime(2026, 11, 24, 10, 30, tzinfo=UTC) + timedelta(days=rng.randrange(400))
    people = [_random_facts(rng, at) for _ in range(400)]
    policy = Policy("p", (PolicyCap("POLICY.week", frozenset({"all"}), 2, 7),))
    rules = fr_pack()
    keys = _keys(_frames(people), at, policy, timedelta(days=rules.params.consent_max_age_days))
    ids, texts = _signatures(keys)
    signatures = {h: texts[sig] for h, sig in ids.iter_rows()}
    point = parse_phone("06 12 34 56 78")
    distinct = set()
    for channel in (Channel.CALL, Channel.SMS):
        request = CheckRequest(point, channel, at)
        for i, facts in enumerate(people):
            signature = signatures.get(f"h{i}", "")
            distinct.add(signature)
            represented = _facts(signature.split(FACT)) if signature else Facts()
            real = decide(request, facts, rules, policy).codes
            assert decide(request, represented, rules, policy).codes == real, (i, facts)
    assert len(distinct) > 50


@pytest.mark.parametrize(
    ("keys", "repeat"),
    [(10, False), (10, True), (100, False), (300, False)],
    ids=["one-word-mask", "repeated-key", "two-word-mask", "sorted-lists"],
)
def test_signatures_are_the_sorted_keys_of_each_contact_point(keys: int, repeat: bool) -> None:
    rng = random.Random(keys)
    words = [f"k{rng.randrange(10**6):06d}" for _ in range(keys)]
    rows = []
    for i in range(2000):
        rows += [(f"h{i}", w) for w in rng.sample(words, rng.randrange(1, 6))]
    if repeat:
        rows.append(("h7", next(w for h, w in rows if h == "h7")))
    ids, texts = _signatures(pl.DataFrame(rows, schema=["contact_hash", "key"], orient="row"))
    expected: dict[str, list[str]] = {}
    for h, w in rows:
        expected.setdefault(h, []).append(w)
    got = dict(ids.iter_rows())
    assert texts[0] == "" and set(got) == set(expected)
    for h, found in expected.items():
        assert texts[got[h]] == FACT.join(sorted(found))
    assert len(set(got.values())) == len({FACT.join(sorted(v)) for v in expected.values()})


def test_signatures_of_no_facts() -> None:
    ids, texts = _signatures(pl.DataFrame(schema={"contact_hash": pl.Utf8, "key": pl.Utf8}))
    assert ids.height == 0 and texts == [""]


def test_lookup_finds_present_keys_and_leaves_the_others_null() -> None:
    from permis.services.sorted_columns import lookup

    keys = pl.Series([3, 5, 9], dtype=pl.Int64)
    values = pl.Series("sig", [30, 50, 90], dtype=pl.UInt32)
    probe = pl.Series([9, None, 4, 3, 10, 0], dtype=pl.Int64)
    assert lookup(keys, values, probe).to_list() == [90, None, None, 30, None, None]
    assert lookup(keys.clear(), values.clear(), probe).to_list() == [None] * 6


def test_a_probe_searches_sorted_numbers_and_answers_in_row_order() -> None:
    from permis.services.sorted_columns import Probe, lookup

    keys = pl.Series([3, 5, 9], dtype=pl.Int64)
    values = pl.Series("sig", [30, 50, 90], dtype=pl.UInt32)
    numbers = pl.Series([9, None, 4, 3, 10, 0, 3], dtype=pl.Int64)
    probe = Probe.of(numbers)
    assert probe.ordered.to_list() == [0, 3, 3, 4, 9, 10, None]
    found = probe.back(lookup(keys, values, probe.ordered))
    assert found.to_list() == [90, None, None, 30, None, None, 30]
    assert found.name == "sig" and found.dtype == pl.UInt32
    empty = Probe.of(numbers.clear())
    assert empty.back(lookup(keys, values, empty.ordered)).to_list() == []
