"""The batch check (``Gate.check_many``) gives, row by row, exactly ``Gate.check``'s decision."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from permis.bootstrap import App
from permis.domain.model import Audience, Channel, Sector, Source
from permis.domain.pressure import Policy, PolicyCap
from permis.services import gate_batch
from permis.services.erasure import erase
from permis.services.gate import CheckQuery, Gate
from permis.services.lists import import_list
from tests.integration.test_scrub import build_register, pool, t, written_forms

TIMES = [
    "2026-08-05T11:00:00+02:00",  # before the switch, a Bloctel snapshot in force
    "2026-11-20T21:05:00+01:00",  # night
    "2026-11-24T10:30:00+01:00",
    "2027-04-27T14:30:00+02:00",  # after the switch; Mayotte holiday
    "2026-12-25T11:00:00+01:00",  # Christmas
]


def _queries(raws: list[str], rng: random.Random, n: int) -> list[CheckQuery]:
    queries = []
    for _ in range(n):
        queries.append(
            CheckQuery(
                contact=rng.choice(raws),
                channel=rng.choice([Channel.CALL, Channel.CALL, Channel.SMS, Channel.EMAIL]),
                at=t(rng.choice(TIMES)) if rng.random() < 0.95 else None,
                processor=rng.choice([None, None, "lille", "tunis", "nobody"]),
                audience=rng.choice([Audience.CONSUMER, Audience.CONSUMER, list(Audience)[-1]]),
                sector=rng.choice([None, None, Sector.ENERGY_RENOVATION]),
            )
        )
    return queries


def test_check_many_equals_check_row_by_row(app: App, tmp_path: Path) -> None:
    rng = random.Random(11)
    numbers, invalid = pool(rng)
    build_register(app, numbers, rng)
    emails = ["Zoe@Example.org", "zoe@example.org ", "nobody@example.org", "bad@@x"]
    app.register.record_objection(
        principal=None, contact="zoe@example.org", source=Source.EMAIL, channel="email"
    )
    raws = [written_forms(n, rng) for n in numbers for _ in range(2)] + invalid + emails
    for as_of in ("2026-07-20", "2027-01-10"):
        listed = tmp_path / f"bloctel-{as_of}.txt"
        listed.write_text("\n".join(rng.sample(numbers, 500)))
        import_list(
            app.db, "bloctel", listed, t(as_of + "T00:00:00+02:00"), t(as_of + "T01:00:00+02:00")
        )
    queries = _queries(raws, rng, 4000)
    for policy in (
        Policy(),
        Policy("p1", (PolicyCap("POLICY.sms-week", frozenset({"sms"}), 0, 7),)),
    ):
        gate = Gate(app.db, app.gate.rules, app.clock, policy)
        batch = gate.check_many(queries)
        expected = [gate.check(q) for q in queries]
        assert batch.decisions() == expected
    codes = {c for d in expected for c in d.codes}
    assert {"OBJECTION", "OPPOSITION_LIST", "INVALID_CONTACT", "LEGAL_CAP", "NO_CONSENT"} <= codes
    assert {"REFUSAL_COOLDOWN", "PROCESSOR_NOT_AUTHORIZED", "PERSONAL_BUDGET"} <= codes


def test_an_empty_batch_and_a_single_stranger(app: App) -> None:
    assert app.gate.check_many([]).decisions() == []
    query = CheckQuery("06 12 34 56 78", Channel.CALL, t(TIMES[1]))
    assert app.gate.check_many([query]).decisions() == [app.gate.check(query)]


def test_strangers_asked_the_same_question_share_one_decide(app: App) -> None:
    queries = [
        CheckQuery(f"06 12 34 {i // 100:02d} {i % 100:02d}", Channel.CALL, t(TIMES[2]))
        for i in range(2000)
    ]
    batch = app.gate.check_many(queries)
    assert len(batch.distinct) == 1
    decisions = batch.decisions()
    assert [d.contact for d in decisions[:2]] == ["+33612340000", "+33612340001"]
    assert decisions == [app.gate.check(q) for q in queries]


@pytest.mark.parametrize("small", [gate_batch.SMALL_REGISTER, 0])
def test_erased_points_and_two_principals_by_value_and_by_hash(
    app: App, monkeypatch: pytest.MonkeyPatch, small: int
) -> None:
    """Rows are matched with the register by value when it is small (erased points, whose value
    is gone, by bucket then hash), by hash otherwise: the same decisions either way."""
    monkeypatch.setattr(gate_batch, "SMALL_REGISTER", small)
    monkeypatch.setattr(gate_batch, "_large", {})
    app.register.ensure_principal("beta")
    numbers = [f"06 12 34 56 {i:02d}" for i in range(8)]
    reg = app.register
    for owner in ("acme", "beta"):
        reg.record_objection(principal=owner, contact=numbers[0], source=Source.AGENT)
        reg.record_objection(principal=owner, contact="zoe@example.org", source=Source.EMAIL)
    reg.record_objection(principal="beta", contact=numbers[1], source=Source.AGENT)
    for number in numbers[2:5]:
        reg.record_consent(
            principal="acme",
            contact=number,
            channel=Channel.CALL,
            source=Source.WEB,
            purpose="prospecting",
            at=t("2026-09-01T10:00:00+02:00"),
        )
    for contact in (numbers[0], numbers[2], "zoe@example.org"):
        erase(app.db, app.clock, principal="acme", contact=contact, reason="art. 17")
    contacts = [*numbers, "Zoe@Example.org", "0612345600", "nobody@example.org", "n/a"]
    queries = [
        CheckQuery(c, channel, t(TIMES[2]), owner)
        for c in contacts
        for owner in ("acme", "beta")
        for channel in (Channel.CALL, Channel.EMAIL)
    ]
    decisions = app.gate.check_many(queries).decisions()
    assert decisions == [app.gate.check(q) for q in queries]
    assert decisions[0].codes == decisions[2].codes  # erased, the objection stays in force
    assert "OBJECTION" in decisions[0].codes
    with app.db.transaction(write=True) as cur:  # erased before buckets were kept
        cur.execute("UPDATE contact_points SET erased_bucket = NULL WHERE value IS NULL")
    assert app.gate.check_many(queries).decisions() == decisions
    alone = [q for q in queries if q.principal == "beta"]
    assert app.gate.check_many(alone).decisions() == [app.gate.check(q) for q in alone]


def test_contacts_with_equal_facts_share_one_decide(app: App) -> None:
    numbers = [f"06 12 34 57 {i:02d}" for i in range(20)]
    for number in numbers:
        app.register.record_consent(
            principal=None,
            contact=number,
            channel=Channel.CALL,
            source=Source.WEB,
            purpose="prospecting",
            at=t("2026-09-01T10:00:00+02:00"),
        )
    queries = [CheckQuery(n, Channel.CALL, t(TIMES[2])) for n in [*numbers, "06 12 34 58 00"]]
    batch = app.gate.check_many(queries)
    assert len(batch.distinct) == 2  # the consenting contacts, the stranger
    assert batch.decisions() == [app.gate.check(q) for q in queries]
    assert batch.decisions()[0].allowed != batch.decisions()[-1].allowed
