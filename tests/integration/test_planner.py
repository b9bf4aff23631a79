"""The planner on a generated register (SQLite and PostgreSQL): it never plans what ``decide``
refuses at that instant, never more than the budget, and the same seed gives the same plan."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl

from permis.bootstrap import App
from permis.domain.model import Channel, Outcome, Period, Source
from permis.services import relevance as rel
from permis.services.gate import CheckQuery
from permis.services.planner import PlanRequest, PlanSummary, plan
from permis.services.relevance_features import REGISTER_SPEC, register_attempts, training_table

START = datetime.fromisoformat("2026-10-05T10:00:00+02:00")
OUTCOMES = [Outcome.ANSWERED, Outcome.NO_ANSWER, Outcome.VOICEMAIL, Outcome.BUSY]


def numbers(count: int, rng: random.Random) -> list[str]:
    from permis.domain.contact import parse_phone
    from permis.errors import InvalidContact

    found = []
    for number in sorted({f"+336{rng.randrange(10**7, 10**8)}" for _ in range(count)}):
        try:
            parse_phone(number)
        except InvalidContact:
            continue
        found.append(number)
    return [*found, "+262692123456", "+590690123456"]


def generate(app: App, seed: int = 7) -> list[str]:
    """Consents, objections, refusals, budgets and an attempt history whose answers depend on
    the hour (mornings answer more), so the model has something to learn."""
    rng = random.Random(seed)
    reg = app.register
    contacts = numbers(60, rng)
    for i, number in enumerate(contacts):
        if i % 7 != 6:
            for channel in (Channel.CALL, Channel.SMS):
                reg.record_consent(
                    principal=None,
                    contact=number,
                    channel=channel,
                    source=Source.WEB,
                    purpose="prospecting",
                    at=START - timedelta(days=30),
                )
        if i % 11 == 3:
            reg.record_objection(
                principal=None, contact=number, source=Source.AGENT, channel="call", at=START
            )
        if i % 13 == 5:
            reg.record_refusal(principal=None, contact=number, at=START + timedelta(days=20))
        if i % 9 == 2:
            reg.record_budget(
                principal=None,
                contact=number,
                channel="all",
                maximum=1,
                per=Period.MONTH,
                at=START,
            )
        for k in range(rng.randrange(1, 5)):
            at = START + timedelta(days=rng.randrange(0, 25), hours=rng.choice([0, 1, 5, 8]))
            morning = at.hour < 13
            answered = rng.random() < (0.6 if morning else 0.15)
            reg.record_attempt(
                principal=None,
                contact=number,
                channel=Channel.CALL if k % 3 else Channel.SMS,
                at=at,
                outcome=Outcome.ANSWERED if answered else rng.choice(OUTCOMES[1:]),
            )
    return contacts


def campaign(path: Path, contacts: list[str]) -> Path:
    rows = [*contacts, "n/a", "+33 6 00"]
    pl.DataFrame({"telephone": rows, "segment": [str(i % 3) for i in range(len(rows))]}).write_csv(
        path
    )
    return path


def request(budget: int) -> PlanRequest:
    return PlanRequest(
        budget=budget,
        channels=(Channel.CALL, Channel.SMS, Channel.EMAIL),
        start=date(2026, 11, 3),
        end=date(2026, 11, 3),
    )


def model_of(app: App, seed: int) -> rel.RelevanceModel:
    table = training_table(register_attempts(app.db, None))
    return rel.fit(table, REGISTER_SPEC, seed, "register")


def check_plan(app: App, planned: pl.DataFrame, summary: PlanSummary, budget: int) -> None:
    """Every planned contact is one ``decide`` allows at that very instant; at most ``budget``."""
    assert planned.height <= budget
    assert summary.planned == planned.height
    assert summary.contacts_avoided == summary.input_rows - planned.height
    assert summary.expected_successes_kept <= summary.expected_successes_all + 1e-9
    assert planned["permis_contact"].n_unique() == planned.height  # one contact per person
    for row in planned.iter_rows(named=True):
        decision = app.gate.check(
            CheckQuery(
                contact=row["permis_contact"],
                channel=Channel(row["channel"]),
                at=datetime.fromisoformat(row["at"]),
            )
        )
        assert decision.allowed, (row, decision.codes)
    expected = planned["expected"].to_list()
    assert expected == sorted(expected, reverse=True)


def test_the_plan_holds_only_what_decide_allows_then_and_never_more_than_the_budget(
    app: App, tmp_path: Path
) -> None:
    contacts = generate(app)
    model = model_of(app, 0)
    history = register_attempts(app.db, None)
    path = campaign(tmp_path / "c.csv", contacts)
    everyone, summary = plan(app.db, app.gate.rules, path, request(1000), model, history)
    check_plan(app, everyone, summary, 1000)
    assert summary.input_rows == len(contacts) + 2
    assert summary.invalid == 2
    # the gate really filters: objections, missing consents and calling hours remove rows
    assert 0 < summary.allowed_rows < summary.input_rows - summary.invalid
    assert everyone.height == summary.allowed_rows
    hours = {datetime.fromisoformat(a).hour for a in everyone["at"].to_list()}
    assert hours.isdisjoint({9, 13, 20})  # outside the calling hours of D223-9
    assert "email" not in everyone["channel"].to_list()  # phone numbers cannot be e-mailed
    few, summary = plan(app.db, app.gate.rules, path, request(5), model, history)
    check_plan(app, few, summary, 5)
    assert few.height == 5
    assert few.equals(everyone.head(5))  # the best five of everyone, in the same order
    assert summary.saved_total() > 0


def test_the_same_seed_gives_the_same_model_and_plan(app: App, tmp_path: Path) -> None:
    contacts = generate(app)
    path = campaign(tmp_path / "c.csv", contacts)
    history = register_attempts(app.db, None)
    first, second = model_of(app, 3), model_of(app, 3)
    table = training_table(history)
    assert (first.predict(table) == second.predict(table)).all()
    assert first.to_bytes() == second.to_bytes()
    plan_a, _ = plan(app.db, app.gate.rules, path, request(10), first, history)
    plan_b, _ = plan(app.db, app.gate.rules, path, request(10), second, history)
    assert plan_a.equals(plan_b)
