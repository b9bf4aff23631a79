"""The API's foundation: keys and roles, the error body, decisions through the ASGI app."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from permis.bootstrap import App
from permis.entrypoints.api import create_app
from permis.services.keys import Role

NIGHT = "2026-11-20T21:05:00+01:00"


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_app(app)) as test_client:
        yield test_client


def bearer(app: App, role: Role, processor: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {app.keys.create(role, processor=processor).key}"}


def test_a_decision_over_http_is_the_gate_s_decision(app: App, client: TestClient) -> None:
    from datetime import datetime

    from permis.domain.model import Channel
    from permis.services.gate import CheckQuery

    got = client.get(
        "/v1/decisions",
        params={"contact": "06 12 34 56 78", "channel": "call", "at": NIGHT},
        headers=bearer(app, Role.CAMPAIGN),
    )
    assert got.status_code == 200
    direct = app.gate.check(
        CheckQuery("0612345678", Channel.CALL, datetime.fromisoformat(NIGHT), "acme")
    )
    assert got.json() == direct.to_dict()
    assert [r["code"] for r in got.json()["reasons"]] == ["NO_CONSENT", "OUTSIDE_HOURS"]


def test_batch_answers_in_order(app: App, client: TestClient) -> None:
    body = {
        "requests": [
            {"contact": "0612345678", "channel": "call", "at": NIGHT},
            {"contact": "not a number", "channel": "sms", "at": NIGHT},
        ]
    }
    got = client.post("/v1/decisions", json=body, headers=bearer(app, Role.CAMPAIGN))
    assert got.status_code == 200
    decisions = got.json()["decisions"]
    assert [d["channel"] for d in decisions] == ["call", "sms"]
    assert decisions[1]["reasons"][0]["code"] == "INVALID_CONTACT"


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "UNAUTHORIZED"),
        ({"Authorization": "Bearer nonsense"}, "UNAUTHORIZED"),
        ({"Authorization": "Bearer permis_abc_def"}, "UNAUTHORIZED"),
        ({"Authorization": "Basic xyz"}, "UNAUTHORIZED"),
    ],
)
def test_no_key_no_answer(client: TestClient, headers: dict[str, str], code: str) -> None:
    got = client.get(
        "/v1/decisions", params={"contact": "0612345678", "channel": "call"}, headers=headers
    )
    assert got.status_code == 401
    assert got.json() == {"error": {"code": code, "message": got.json()["error"]["message"]}}


def test_a_revoked_key_is_refused(app: App) -> None:
    new = app.keys.create(Role.CAMPAIGN)
    app.keys.revoke(new.info.key_id)
    with TestClient(create_app(app)) as client:
        got = client.get(
            "/v1/decisions",
            params={"contact": "0612345678", "channel": "call"},
            headers={"Authorization": f"Bearer {new.key}"},
        )
    assert got.status_code == 401


def test_a_processor_acts_only_as_itself(app: App, client: TestClient) -> None:
    app.register.add_processor(None, "tunis", ["call"])
    headers = bearer(app, Role.PROCESSOR, "tunis")
    params = {"contact": "0612345678", "channel": "call", "at": NIGHT}
    own = client.get("/v1/decisions", params=params, headers=headers)
    assert own.status_code == 200
    other = client.get("/v1/decisions", params={**params, "processor": "lille"}, headers=headers)
    assert other.status_code == 403
    assert other.json()["error"]["code"] == "PROCESSOR_NOT_AUTHORIZED"


def test_errors_never_echo_the_contact_point(app: App, client: TestClient) -> None:
    got = client.get(
        "/v1/decisions",
        params={"contact": "0612345678", "channel": "call", "at": "2026-11-20T21:05:00"},
        headers=bearer(app, Role.CAMPAIGN),
    )
    assert got.status_code == 422
    assert got.json()["error"]["code"] == "INVALID_TIME"
    assert "0612345678" not in got.text


def test_keys_are_stored_hashed(app: App) -> None:
    new = app.keys.create(Role.AGENT)
    secret = new.key.split("_")[2]
    with app.db.transaction() as cur:
        rows = cur.execute("SELECT secret_hash FROM api_keys")
    assert rows and all(secret not in str(r) for r in rows)


def test_processor_keys_need_a_known_processor(app: App) -> None:
    from permis.errors import NotFound, UsageError

    with pytest.raises(UsageError):
        app.keys.create(Role.PROCESSOR)
    with pytest.raises(NotFound):
        app.keys.create(Role.PROCESSOR, processor="nobody")
    with pytest.raises(UsageError):
        app.keys.create(Role.AGENT, processor="nobody")


def test_rate_limit_per_key(database_url: str, clock: object) -> None:
    from permis.bootstrap import build
    from permis.config import Settings

    application = build(Settings(database_url=database_url, rate_limit_per_second=1), clock)  # type: ignore[arg-type]
    application.register.ensure_principal("acme")
    headers = bearer(application, Role.CAMPAIGN)
    try:
        with TestClient(create_app(application)) as client:
            params = {"contact": "0612345678", "channel": "call", "at": NIGHT}
            codes = [
                client.get("/v1/decisions", params=params, headers=headers).status_code
                for _ in range(3)
            ]
    finally:
        application.close()
    assert codes[0] == 200 and 429 in codes


def test_keys_cli_prints_the_key_once(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert cli("init")[0] == 0
    code, out, _ = cli("keys", "create", "--role", "campaign", "--json")
    assert code == 0
    import json

    data = json.loads(out)
    assert data["key"].startswith("permis_") and data["role"] == "campaign"
    code, out, _ = cli("keys", "list", "--json")
    assert data["key"].split("_")[2] not in out
    assert cli("keys", "create", "--role", "nobody")[0] == 2


def test_record_verbs_answer_201_then_200_on_a_repeat(app: App, client: TestClient) -> None:
    headers = {**bearer(app, Role.COMPLIANCE), "Idempotency-Key": "k-1"}
    body = {"contact": "06 12 34 56 78", "source": "agent", "channel": "call"}
    first = client.post("/v1/objections", json=body, headers=headers)
    again = client.post("/v1/objections", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["event"]["id"] == again.json()["event"]["id"]
    history = client.get("/v1/contacts/0612345678/history", headers=headers)
    assert [e["type"] for e in history.json()["events"]] == ["ObjectionRecorded"]


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("/v1/consents", {"contact": "0612345678", "channel": "sms", "source": "web"}),
        ("/v1/objections", {"contact": "0612345678", "source": "agent"}),
        ("/v1/refusals", {"contact": "0612345678"}),
        ("/v1/contracts", {"contact": "0612345678", "start": "2026-01-01T00:00:00+01:00"}),
        ("/v1/attempts", {"contact": "0612345678", "channel": "call", "outcome": "answered"}),
        ("/v1/budgets", {"contact": "0612345678", "channel": "all", "max": 1, "per": "year"}),
    ],
)
def test_every_record_verb_over_http(
    app: App, client: TestClient, route: str, body: dict[str, object]
) -> None:
    got = client.post(route, json=body, headers=bearer(app, Role.ADMIN))
    assert got.status_code == 201, got.text
    assert got.json()["created"] is True


def test_a_processor_reports_attempts_as_itself_and_never_reads_history(
    app: App, client: TestClient
) -> None:
    app.register.add_processor(None, "tunis", ["call"])
    headers = bearer(app, Role.PROCESSOR, "tunis")
    body = {"contact": "0612345678", "channel": "call", "outcome": "no_answer"}
    got = client.post("/v1/attempts", json=body, headers=headers)
    assert got.status_code == 201
    assert got.json()["event"]["data"]["processor"] == "tunis"
    other = client.post("/v1/attempts", json={**body, "processor": "lille"}, headers=headers)
    assert other.json()["error"]["code"] == "PROCESSOR_NOT_AUTHORIZED"
    read = client.get("/v1/contacts/0612345678/history", headers=headers)
    assert read.status_code == 403 and read.json()["error"]["code"] == "FORBIDDEN"
    consent = client.post(
        "/v1/consents",
        json={"contact": "0612345678", "channel": "call", "source": "web"},
        headers=headers,
    )
    assert consent.status_code == 403
