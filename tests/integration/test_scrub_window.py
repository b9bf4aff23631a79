"""The scrub reads a month of attempts for everyone and a year only for people with a budget:
old attempts still count where a rule counts them, and nowhere else."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from permis.bootstrap import App
from permis.domain.model import Channel, Outcome, Period, Source
from permis.domain.pressure import Policy, PolicyCap
from permis.services.gate import CheckQuery
from permis.services.scrub import ScrubRequest, run_scrub

AT = datetime.fromisoformat("2026-11-24T10:30:00+01:00")
BUDGET, OLD, RECENT, POLICY = "0612345601", "0612345602", "0612345603", "0612345604"


def attempt(app: App, number: str, when: str, channel: Channel = Channel.CALL) -> None:
    app.register.record_attempt(
        principal=None,
        contact=number,
        channel=channel,
        at=datetime.fromisoformat(when),
        outcome=Outcome.NO_ANSWER,
    )


def test_old_attempts_count_only_under_a_budget_or_a_long_policy_cap(
    app: App, tmp_path: Path
) -> None:
    for number in (BUDGET, OLD, RECENT, POLICY):
        app.register.record_consent(
            principal=None,
            contact=number,
            channel=Channel.SMS,
            source=Source.WEB,
            purpose="prospecting",
            at=datetime.fromisoformat("2026-01-05T10:00:00+01:00"),
        )
    app.register.record_budget(
        principal=None,
        contact=BUDGET,
        channel="all",
        maximum=1,
        per=Period.YEAR,
        at=datetime.fromisoformat("2026-01-10T10:00:00+01:00"),
    )
    attempt(app, BUDGET, "2026-03-02T11:00:00+01:00", Channel.SMS)  # 267 days before AT
    attempt(app, OLD, "2026-03-02T11:00:00+01:00", Channel.SMS)
    attempt(app, POLICY, "2026-09-01T11:00:00+02:00", Channel.SMS)  # 84 days before AT
    for day in ("10", "12", "14", "17", "19"):
        attempt(app, RECENT, f"2026-11-{day}T11:00:00+01:00", Channel.SMS)
    policy = Policy("p1", (PolicyCap("POLICY.sms.quarter", frozenset({"sms"}), 1, 90),))
    source = tmp_path / "f.csv"
    source.write_text("tel\n" + "\n".join((BUDGET, OLD, RECENT, POLICY)) + "\n")
    request = ScrubRequest(Channel.SMS, AT)
    out, rejects = tmp_path / "ok.csv", tmp_path / "ko.csv"
    run_scrub(app.db, app.gate.rules, source, request, out, rejects, policy)
    refused = pl.read_csv(rejects, separator=";", infer_schema=False)
    got = dict(zip(refused["tel"].to_list(), refused["permis_reasons"].to_list(), strict=True))
    assert got == {BUDGET: "PERSONAL_BUDGET", RECENT: "POLICY_CAP", POLICY: "POLICY_CAP"}
    app.gate.policy = policy
    for number in (BUDGET, OLD, RECENT, POLICY):
        decision = app.gate.check(CheckQuery(number, Channel.SMS, AT))
        assert "|".join(decision.codes) == got.get(number, "")


def test_bulk_reads_never_open_a_second_sqlite_beside_an_open_connection(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a ``sqlite3`` connection open, reads go through it (ADBC's own SQLite is not opened
    beside it); once it is closed, ADBC reads the same frame."""
    import adbc_driver_sqlite.dbapi as adbc
    import polars as pl

    app.register.record_attempt(
        principal=None, contact=RECENT, channel=Channel.CALL, at=AT, outcome=Outcome.BUSY
    )
    sql = "SELECT channel, at FROM attempts"
    schema = {"channel": pl.Utf8, "at": pl.Int64}
    opened: list[str] = []
    real_connect = adbc.connect

    def connect(*args: object, **kwargs: object) -> object:
        opened.append("adbc")
        return real_connect(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(adbc, "connect", connect)
    with app.db.transaction() as cur:
        cur.execute("SELECT 1")
    held = app.db.read_frame(sql, schema)
    assert opened == []
    app.db.release()
    free = app.db.read_frame(sql, schema)
    assert held.equals(free) and held.height == 1
    assert opened == (["adbc"] if app.db.dialect == "sqlite" else [])


def test_a_policy_cap_per_year_reads_a_year_of_attempts(app: App, tmp_path: Path) -> None:
    from permis.domain.model import Period as P

    for number in (OLD, RECENT):
        app.register.record_consent(
            principal=None,
            contact=number,
            channel=Channel.SMS,
            source=Source.WEB,
            purpose="prospecting",
            at=datetime.fromisoformat("2026-01-05T10:00:00+01:00"),
        )
    attempt(app, OLD, "2026-05-02T11:00:00+02:00", Channel.SMS)  # 206 days before AT
    policy = Policy("p2", (PolicyCap("POLICY.sms.year", frozenset({"sms"}), 1, 0, P.YEAR),))
    source = tmp_path / "f.csv"
    source.write_text("tel\n" + "\n".join((OLD, RECENT)) + "\n")
    out, rejects = tmp_path / "ok.csv", tmp_path / "ko.csv"
    run_scrub(app.db, app.gate.rules, source, ScrubRequest(Channel.SMS, AT), out, rejects, policy)
    refused = pl.read_csv(rejects, separator=";", infer_schema=False)
    assert refused["tel"].to_list() == [OLD]
    assert refused["permis_reasons"].to_list() == ["POLICY_CAP"]
    app.gate.policy = policy
    assert app.gate.check(CheckQuery(OLD, Channel.SMS, AT)).codes == ("POLICY_CAP",)
    assert app.gate.check(CheckQuery(RECENT, Channel.SMS, AT)).allowed
