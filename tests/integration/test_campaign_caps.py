"""A policy's per-campaign cap applies from every door: ``permis check --campaign``,
``permis scrub --campaign``, ``GET``/``POST /v1/decisions`` and ``POST /v1/scrubs`` with
``campaign``. The cap counts only that campaign's attempts: another campaign, or none, passes."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from permis.bootstrap import App
from permis.config import Settings
from permis.domain.model import Channel, Source
from permis.entrypoints.api import create_app
from permis.services.keys import Role
from permis.services.policy import set_policy

from .conftest import Cli

POLICY = """version = "campaigns-1"
[[caps]]
id = "winter-once"
campaign = "winter"
channels = ["call"]
max = 1
days = 30
"""
NUMBER = "06 12 34 56 78"
OTHER = "07 81 00 00 01"
BEFORE = "2026-11-20T11:00:00+01:00"
AT = "2026-11-24T11:00:00+01:00"  # a Tuesday, inside the legal hours
CAP = ("POLICY_CAP", "POLICY.cap.winter-once")


def _codes(decision: dict[str, Any]) -> list[tuple[str, str]]:
    return [(r["code"], r["rule"]) for r in decision["reasons"]]


# -- the CLI ---------------------------------------------------------------------------------


def _cli_register(cli: Cli, tmp_path: Path) -> None:
    cli("init")
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY, encoding="utf-8")
    assert cli("policy", "set", str(policy))[0] == 0
    for number in (NUMBER, OTHER):
        cli("record", "consent", "--contact", number, "--channel", "call", "--source", "web",
            "--at", "2026-11-01T10:00:00+01:00")  # fmt: skip
    code, _, err = cli("record", "attempt", "--contact", NUMBER, "--channel", "call",
                       "--at", BEFORE, "--campaign", "winter")  # fmt: skip
    assert code == 0, err


def test_check_with_campaign_applies_the_campaign_cap(cli: Cli, tmp_path: Path) -> None:
    _cli_register(cli, tmp_path)
    base = ("check", "--contact", NUMBER, "--channel", "call", "--at", AT, "--json")
    code, out, _ = cli(*base, "--campaign", "winter")
    decision = json.loads(out)
    assert code == 1 and _codes(decision) == [CAP]
    # the cap frees up on 2026-12-20 at 11:00, a Sunday: the law then waits for Monday 10:00
    assert decision["next_allowed_at"] == "2026-12-21T10:00:00+01:00"
    assert decision["policy_version"] == "campaigns-1"
    code, out, _ = cli(*base, "--campaign", "spring")
    assert code == 0 and json.loads(out)["reasons"] == []
    code, out, _ = cli(*base)  # no campaign: the campaign's cap does not apply
    assert code == 0 and json.loads(out)["reasons"] == []


def test_scrub_with_campaign_applies_the_campaign_cap(cli: Cli, tmp_path: Path) -> None:
    _cli_register(cli, tmp_path)
    source = tmp_path / "list.csv"
    source.write_text(f"telephone\n{NUMBER}\n{OTHER}\n", encoding="utf-8")

    def run(*extra: str) -> dict[str, Any]:
        code, out, err = cli("scrub", str(source), "--channel", "call", "--at", AT, "--json",
                             "--out", str(tmp_path / "ok.csv"),
                             "--rejects", str(tmp_path / "ko.csv"), *extra)  # fmt: skip
        assert code == 0, err
        summary: dict[str, Any] = json.loads(out)
        return summary

    winter = run("--campaign", "winter")
    assert (winter["allowed"], winter["refused"]) == (1, 1)
    assert winter["by_reason"] == {"POLICY_CAP": 1}
    refused = (tmp_path / "ko.csv").read_text(encoding="utf-8").splitlines()
    assert refused[1:] == ["06 12 34 56 78;2;+33612345678;POLICY_CAP"]
    for extra in (("--campaign", "spring"), ()):
        summary = run(*extra)
        assert (summary["allowed"], summary["refused"]) == (2, 0), extra


# -- the API ---------------------------------------------------------------------------------


@pytest.fixture
def client(app: App, tmp_path: Path) -> Iterator[TestClient]:
    app.settings = Settings(database_url=app.settings.database_url, jobs_dir=str(tmp_path))
    set_policy(app.db, None, POLICY, app.clock())
    register = app.register
    for number in (NUMBER, OTHER):
        register.record_consent(
            principal=None,
            contact=number,
            channel=Channel.CALL,
            source=Source.WEB,
            purpose="prospecting",
            at=datetime.fromisoformat("2026-11-01T10:00:00+01:00"),
        )
    register.record_attempt(
        principal=None,
        contact=NUMBER,
        channel=Channel.CALL,
        at=datetime.fromisoformat(BEFORE),
        campaign="winter",
    )
    with TestClient(create_app(app)) as test_client:
        test_client.headers["Authorization"] = f"Bearer {app.keys.create(Role.CAMPAIGN).key}"
        yield test_client


def test_get_decision_with_campaign(client: TestClient) -> None:
    asked = {"contact": NUMBER, "channel": "call", "at": AT}
    refused = client.get("/v1/decisions", params={**asked, "campaign": "winter"}).json()
    assert refused["allowed"] is False and _codes(refused) == [CAP]
    assert refused["next_allowed_at"] == "2026-12-21T10:00:00+01:00"  # Sunday 20th: Monday
    for other in ({"campaign": "spring"}, {}):
        allowed = client.get("/v1/decisions", params={**asked, **other}).json()
        assert allowed["allowed"] is True, (other, allowed)


def test_batch_decisions_with_campaigns(client: TestClient) -> None:
    rows = [
        {"contact": NUMBER, "channel": "call", "at": AT, "campaign": "winter"},
        {"contact": NUMBER, "channel": "call", "at": AT, "campaign": "spring"},
        {"contact": NUMBER, "channel": "call", "at": AT},
        {"contact": OTHER, "channel": "call", "at": AT, "campaign": "winter"},
    ]
    answer = client.post("/v1/decisions", json={"requests": rows})
    assert answer.status_code == 200
    decisions = answer.json()["decisions"]
    assert [d["allowed"] for d in decisions] == [False, True, True, True]
    assert _codes(decisions[0]) == [CAP]


def test_api_scrub_with_campaign(client: TestClient) -> None:
    body = f"telephone\n{NUMBER}\n{OTHER}\n".encode()
    for campaign, refused in (("winter", 1), ("spring", 0), (None, 0)):
        form = {"channel": "call", "at": AT, **({"campaign": campaign} if campaign else {})}
        started = client.post(
            "/v1/scrubs", files={"file": ("list.csv", body, "text/csv")}, data=form
        )
        assert started.status_code == 202, started.text
        job = _wait(client, started.json()["id"])
        assert job["state"] == "done", job
        summary = job["summary"]
        assert (summary["allowed"], summary["refused"]) == (2 - refused, refused), campaign
        if refused:
            assert summary["by_reason"] == {"POLICY_CAP": 1}


def _wait(client: TestClient, job_id: str) -> dict[str, Any]:
    for _ in range(400):
        job: dict[str, Any] = client.get(f"/v1/scrubs/{job_id}").json()
        if job["state"] in {"done", "failed"}:
            return job
        time.sleep(0.05)
    raise AssertionError("the job did not finish")
