"""Propagation through its doors: the HTTP API (roles, the pull feed, acknowledgements, lag,
overdue, violations) and the command line (processors, dispatch, deliveries, suppressions)."""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from permis.bootstrap import App
from permis.entrypoints.api import create_app
from permis.services.keys import Role
from tests.conftest import FakeClock
from tests.integration.conftest import Cli
from tests.integration.propagation_helpers import Receivers, deliver

MARTIN = "06 12 34 56 78"


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_app(app)) as test_client:
        yield test_client


def bearer(app: App, role: Role, processor: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {app.keys.create(role, processor=processor).key}"}


def _setup(app: App, client: TestClient) -> dict[str, dict[str, str]]:
    admin = bearer(app, Role.COMPLIANCE)
    for name in ("tunis", "abidjan"):
        got = client.post(
            "/v1/processors", json={"name": name, "channels": ["call"]}, headers=admin
        )
        assert got.status_code == 201, got.text
        assert got.json()["forms"] == ["feed"]
    return {
        "compliance": admin,
        "tunis": bearer(app, Role.PROCESSOR, "tunis"),
        "abidjan": bearer(app, Role.PROCESSOR, "abidjan"),
        "agent": bearer(app, Role.AGENT),
    }


def test_processors_over_http_refuse_bad_input_and_other_roles(
    app: App, client: TestClient
) -> None:
    keys = _setup(app, client)
    bad = {"name": "lille", "webhook": "ftp://lille.example/hook"}
    got = client.post("/v1/processors", json=bad, headers=keys["compliance"])
    assert got.status_code == 422 and got.json()["error"]["code"] == "USAGE_ERROR"
    got = client.post(
        "/v1/processors", json={"name": "x", "stream": "a.*"}, headers=keys["compliance"]
    )
    assert got.status_code == 422
    for role in ("agent", "tunis"):
        assert client.get("/v1/processors", headers=keys[role]).status_code == 403
    ok = {"name": "lille", "webhook": "https://lille.example/hook"}
    created = client.post("/v1/processors", json=ok, headers=keys["compliance"]).json()
    assert created["secret"].startswith("whsec_")
    listed = client.get("/v1/processors", headers=keys["compliance"]).json()["processors"]
    assert [p["name"] for p in listed] == ["abidjan", "lille", "tunis"]
    assert "secret" not in json.dumps(listed).replace("has_secret", "")


def test_the_pull_feed_serves_each_processor_its_own_and_the_cursor_acknowledges(
    app: App, client: TestClient, clock: FakeClock
) -> None:
    keys = _setup(app, client)
    for number in ("0612345601", "0612345602"):
        body = {"contact": number, "source": "agent"}
        assert client.post("/v1/objections", json=body, headers=keys["agent"]).status_code == 201
    deliver(app, Receivers())  # fan-out
    page = client.get("/v1/suppressions/changes", headers=keys["tunis"]).json()
    assert [c["contact"] for c in page["changes"]] == ["+33612345601", "+33612345602"]
    assert all(c["type"] == "objection.recorded" for c in page["changes"])
    again = client.get("/v1/suppressions/changes", headers=keys["tunis"]).json()
    # not acknowledged yet: the same page again
    assert [c["delivery"] for c in again["changes"]] == [c["delivery"] for c in page["changes"]]
    clock.now += timedelta(seconds=7)
    after = client.get(
        "/v1/suppressions/changes", params={"after": page["next"]}, headers=keys["tunis"]
    ).json()
    assert after == {"changes": [], "next": page["next"], "acknowledged": 2}
    lag = {
        r["processor"]: r
        for r in client.get("/v1/deliveries/lag", headers=keys["compliance"]).json()["lag"]
    }
    assert lag["tunis"]["acknowledged"] == 2 and lag["tunis"]["ack_lag_max_seconds"] == 7.0
    assert lag["abidjan"]["acknowledged"] == 0 and lag["abidjan"]["pending"] == 2
    # a processor reads only its own feed
    got = client.get(
        "/v1/suppressions/changes", params={"processor": "tunis"}, headers=keys["abidjan"]
    )
    assert got.status_code == 403 and got.json()["error"]["code"] == "PROCESSOR_NOT_AUTHORIZED"
    for bad in ("abc", "-1", "1" * 30):
        got = client.get("/v1/suppressions/changes", params={"after": bad}, headers=keys["tunis"])
        assert got.status_code == 422
    assert client.get("/v1/suppressions/changes", headers=keys["agent"]).status_code == 403


def test_ack_only_own_deliveries_and_overdue_and_violations_over_http(
    app: App, client: TestClient, clock: FakeClock
) -> None:
    keys = _setup(app, client)
    client.post(
        "/v1/objections", json={"contact": MARTIN, "source": "agent"}, headers=keys["agent"]
    )
    deliver(app, Receivers())
    [change] = client.get("/v1/suppressions/changes", headers=keys["abidjan"]).json()["changes"]
    uid = change["delivery"]
    assert client.post(f"/v1/deliveries/{uid}/ack", headers=keys["tunis"]).status_code == 404
    assert client.post("/v1/deliveries/msg_nope/ack", headers=keys["abidjan"]).status_code == 404
    clock.now += timedelta(seconds=app.settings.delivery_overdue_seconds + 1)
    overdue = client.get("/v1/deliveries/overdue", headers=keys["compliance"]).json()["overdue"]
    assert {(o["processor"], o["why"]) for o in overdue} == {
        ("abidjan", "delivered, not acknowledged"),
        ("tunis", "not delivered yet"),
    }
    acked = client.post(f"/v1/deliveries/{uid}/ack", headers=keys["abidjan"])
    assert acked.status_code == 200 and acked.json()["acked_at"] is not None
    overdue = client.get("/v1/deliveries/overdue", headers=keys["compliance"]).json()["overdue"]
    assert [o["processor"] for o in overdue] == ["tunis"]
    attempt = {"contact": MARTIN, "channel": "call", "outcome": "answered"}
    assert client.post("/v1/attempts", json=attempt, headers=keys["abidjan"]).status_code == 201
    found = client.get("/v1/violations", headers=keys["compliance"]).json()["violations"]
    assert [(v["processor"], v["delay_seconds"]) for v in found] == [
        ("abidjan", app.settings.delivery_overdue_seconds + 1.0)
    ]
    assert client.get("/v1/violations", headers=keys["abidjan"]).status_code == 403


@pytest.fixture
def ready(cli: Cli) -> Cli:
    assert cli("init", "--principal", "choucroute")[0] == 0
    return cli


def test_the_command_line_registers_dispatches_and_reports(ready: Cli, tmp_path: Path) -> None:
    code, out, err = ready("processors", "add", "lille", "--webhook", "ftp://x", "--json")
    assert code == 2 and "USAGE_ERROR" in err and out == ""
    code, out, _ = ready(
        "processors", "add", "lille", "--channels", "call", "--webhook", "http://127.0.0.1:9/h"
    )
    assert code == 0 and "whsec_" in out
    assert ready("processors", "add", "tunis", "--channels", "call", "--files", "hashes")[0] == 0
    assert ready("processors", "add", "bad", "--stream", "a b")[0] == 2
    code, out, _ = ready("processors", "list", "--json")
    forms = {p["name"]: p["forms"] for p in json.loads(out)["processors"]}
    assert forms == {"lille": ["webhook"], "tunis": ["file"]}
    assert ready("record", "objection", "--contact", MARTIN, "--source", "agent")[0] == 0
    code, out, _ = ready("dispatch", "--once", "--json")
    report = json.loads(out)
    assert code == 0 and report["deliveries_created"] == 2 and report["failed"] == 1  # port 9
    code, out, _ = ready("deliveries", "lag", "--json")
    lag = {(r["processor"], r["form"]): r for r in json.loads(out)["lag"]}
    assert lag["lille", "webhook"]["pending"] == 1 and lag["tunis", "file"]["pending"] == 1
    assert ready("deliveries", "overdue")[1].strip() == "nothing overdue"
    target = tmp_path / "tunis.csv"
    code, out, _ = ready(
        "suppressions", "export", "--processor", "tunis", "--out", str(target), "--json"
    )
    exported = json.loads(out)
    assert code == 0 and exported["rows"] == 1 and exported["deliveries_marked_delivered"] == 1
    rows = list(csv.reader(target.open()))
    key = bytes.fromhex(exported["hash_key"])
    assert rows[1][0] == hmac.new(key, b"+33612345678", hashlib.sha256).hexdigest()
    assert "+336" not in target.read_text()
    code, out, _ = ready(
        "suppressions", "export", "--processor", "tunis", "--out", str(target), "--format", "csv"
    )
    assert list(csv.reader(target.open()))[1][:2] == ["+33612345678", "all"]
    code, out, _ = ready("violations", "--json")
    assert code == 0 and json.loads(out) == {"violations": []}
