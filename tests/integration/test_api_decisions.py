"""Decisions over HTTP: the batch answers exactly what the gate answers, row by row."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from permis.bootstrap import App
from permis.domain.model import Channel, Source
from permis.entrypoints.api import create_app
from permis.services.gate import CheckQuery
from permis.services.keys import Role
from tests.integration.test_gate_batch import TIMES
from tests.integration.test_scrub import t


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_app(app)) as test_client:
        yield test_client


def test_the_batch_over_http_is_the_gate_row_by_row(app: App, client: TestClient) -> None:
    app.register.record_objection(
        principal=None, contact="06 12 34 56 78", source=Source.AGENT, channel="all"
    )
    rng = random.Random(3)
    contacts = ["06 12 34 56 78", "+33612345678", "0690 12 34 56", "Zoé@Example.org", "n/a"]
    contacts += [f"07 81 {rng.randrange(10**5, 10**6)}" for _ in range(200)]
    requests = [
        {"contact": c, "channel": rng.choice(["call", "sms", "email"]), "at": rng.choice(TIMES)}
        for c in contacts
    ]
    requests[0]["channel"] = "call"
    key = app.keys.create(Role.CAMPAIGN).key
    got = client.post(
        "/v1/decisions", json={"requests": requests}, headers={"Authorization": f"Bearer {key}"}
    )
    assert got.status_code == 200
    answers = got.json()["decisions"]
    expected = [
        app.gate.check(CheckQuery(r["contact"], Channel(r["channel"]), t(r["at"]), "acme"))
        for r in requests
    ]
    assert answers == [d.to_dict() for d in expected]
    assert answers[0]["reasons"][0]["code"] == "OBJECTION"
    assert answers[4]["contact"] is None


def test_a_batch_over_the_limit_is_refused(app: App, client: TestClient) -> None:
    key = app.keys.create(Role.CAMPAIGN).key
    body = {"requests": [{"contact": "0612345678", "channel": "call"}] * 10_001}
    got = client.post("/v1/decisions", json=body, headers={"Authorization": f"Bearer {key}"})
    assert got.status_code == 422
    assert got.json()["error"]["code"] == "USAGE_ERROR"


def test_the_decision_schema_is_documented(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    answer = spec["paths"]["/v1/decisions"]["get"]["responses"]["200"]
    assert answer["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/DecisionOut"
    }
    assert "next_allowed_at" in spec["components"]["schemas"]["DecisionOut"]["properties"]


@pytest.mark.parametrize("contacts", [[], ["n/a"], ["06 12 34 56 78"], ["Zoé@Example.org", "n/a"]])
def test_small_batches_are_the_gate_row_by_row(
    app: App, client: TestClient, contacts: list[str]
) -> None:
    key = app.keys.create(Role.CAMPAIGN).key
    requests = [{"contact": c, "channel": "email", "at": TIMES[2]} for c in contacts]
    got = client.post(
        "/v1/decisions", json={"requests": requests}, headers={"Authorization": f"Bearer {key}"}
    )
    assert got.status_code == 200
    expected = [app.gate.check(CheckQuery(c, Channel.EMAIL, t(TIMES[2]), "acme")) for c in contacts]
    assert got.json() == {"decisions": [d.to_dict() for d in expected]}
