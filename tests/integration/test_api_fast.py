"""The hot routes' own readers: ``GET /v1/decisions`` answered by the ASGI layer in front of
FastAPI (``api/fast.py``), and the batch body read as columns (``api/batch_body.py``). Both must
answer exactly what the documented FastAPI route and ``BatchRequest`` validation answer."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError
from starlette.applications import Starlette

from permis.bootstrap import App
from permis.domain.model import Channel, Source
from permis.entrypoints.api import create_app
from permis.entrypoints.api.decisions_model import BatchRequest
from permis.entrypoints.api.errors import validation_message
from permis.entrypoints.api.fast import SingleCheck
from permis.services.gate import CheckQuery
from permis.services.keys import Role
from tests.integration.test_scrub import t

NIGHT = "2026-11-20T21:05:00+01:00"
DAY = "2026-11-24T10:30:00+01:00"


def _without_layer(api: FastAPI) -> FastAPI:
    api.user_middleware = [m for m in api.user_middleware if m.cls is not SingleCheck]
    api.middleware_stack = None
    return api


@pytest.fixture
def clients(app: App) -> Iterator[tuple[TestClient, TestClient]]:
    """(through the layer, through the documented FastAPI route)."""
    with (
        TestClient(create_app(app), raise_server_exceptions=False) as fast,
        TestClient(_without_layer(create_app(app)), raise_server_exceptions=False) as slow,
    ):
        yield fast, slow


def test_the_layer_answers_the_single_check(app: App) -> None:
    api = create_app(app)
    assert api.user_middleware[0].cls is SingleCheck  # outermost of ours
    assert "get" in api.openapi()["paths"]["/v1/decisions"]  # and the route stays documented


def _key(app: App, role: Role, processor: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {app.keys.create(role, processor=processor).key}"}


def test_the_layer_answers_as_the_documented_route(
    app: App, clients: tuple[TestClient, TestClient]
) -> None:
    app.register.add_processor(None, "tunis", ["call"])
    app.register.record_objection(principal=None, contact="0612345678", source=Source.AGENT)
    campaign, processor = _key(app, Role.CAMPAIGN), _key(app, Role.PROCESSOR, "tunis")
    good = "contact=06+12+34+56+78&channel=call&at=" + NIGHT.replace("+", "%2B")
    asked: list[tuple[str, dict[str, str]]] = [
        (good, campaign),
        (good, _key(app, Role.ADMIN)),
        (good, processor),
        (good + "&processor=lille", processor),  # 403 PROCESSOR_NOT_AUTHORIZED
        (good, {}),  # 401
        (good, {"Authorization": "Bearer nonsense"}),
        (good, {"Authorization": "Basic abc"}),
        ("contact=0612345678&channel=pigeon", campaign),  # 422 USAGE_ERROR
        ("channel=call", campaign),
        ("contact=&channel=call", campaign),
        ("contact=0612345678&channel=call&at=2026-11-20T21:05:00", campaign),  # INVALID_TIME
        ("contact=0612345678&channel=sms&channel=call&at=2026-11-24T10:00:00Z", campaign),
        ("contact=n%2Fa&channel=email&purpose=&audience=professional", campaign),
        ("contact=Zo%C3%A9%40Example.org&channel=email&sector=energy_renovation", campaign),
        ("", campaign),
    ]
    fast, slow = clients
    for query, headers in asked:
        one = fast.get(f"/v1/decisions?{query}", headers=headers)
        other = slow.get(f"/v1/decisions?{query}", headers=headers)
        assert (one.status_code, one.json()) == (other.status_code, other.json()), query
        assert one.headers["content-type"] == other.headers["content-type"]
        assert one.headers["content-length"] == other.headers["content-length"]
        if one.status_code != 200:
            assert set(one.json()) == {"error"}
            assert set(one.json()["error"]) == {"code", "message"}
    codes = [fast.get(f"/v1/decisions?{q}", headers=h).status_code for q, h in asked]
    assert codes == [200, 200, 200, 403, 401, 401, 401, 422, 422, 422, 422, 200, 200, 200, 422]


def test_other_methods_and_paths_go_on_to_fastapi(
    app: App, clients: tuple[TestClient, TestClient]
) -> None:
    fast, _ = clients
    assert fast.get("/healthz").json() == {"status": "ok"}
    refused = fast.put("/v1/decisions", headers=_key(app, Role.CAMPAIGN))
    assert refused.status_code == 405
    assert refused.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


def test_an_unexpected_failure_is_the_one_error_body(
    app: App, clients: tuple[TestClient, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(query: CheckQuery) -> None:
        raise RuntimeError("the contact point +33612345678 broke it")

    monkeypatch.setattr(app.gate, "check", broken)
    fast, _ = clients
    got = fast.get(
        "/v1/decisions",
        params={"contact": "0612345678", "channel": "call"},
        headers=_key(app, Role.CAMPAIGN),
    )
    assert got.status_code == 500
    assert got.json() == {"error": {"code": "INTERNAL_ERROR", "message": "internal error"}}


def test_the_single_check_is_answered_ahead_of_fastapi(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``PermisAPI`` sends the hot route to the layer before FastAPI's own entry (and only
    while the layer is installed); an unexpected error there still reaches the server."""
    entered: list[str] = []
    starlette_call = Starlette.__call__

    async def spy(self: Starlette, scope: Any, receive: Any, send: Any) -> None:
        entered.append(scope.get("path", scope["type"]))
        await starlette_call(self, scope, receive, send)

    monkeypatch.setattr(Starlette, "__call__", spy)
    key = _key(app, Role.CAMPAIGN)
    asked = {"contact": "0612345678", "channel": "call"}
    with TestClient(create_app(app)) as fast:
        entered.clear()
        assert fast.get("/v1/decisions", params=asked, headers=key).status_code == 200
        assert fast.get("/healthz").status_code == 200
        assert entered == ["/healthz"]
    with TestClient(_without_layer(create_app(app))) as slow:
        entered.clear()
        assert slow.get("/v1/decisions", params=asked, headers=key).status_code == 200
        assert entered == ["/v1/decisions"]

    def broken(query: CheckQuery) -> None:
        raise RuntimeError("broken")

    monkeypatch.setattr(app.gate, "check", broken)
    with TestClient(create_app(app)) as fast, pytest.raises(RuntimeError, match="broken"):
        fast.get("/v1/decisions", params=asked, headers=key)


# -- the batch body -------------------------------------------------------------------------------


def _expected_422(body: Any) -> str:
    """The message the route gave when FastAPI validated ``BatchRequest`` itself."""
    with pytest.raises(ValidationError) as caught:
        BatchRequest.model_validate(body)
    return validation_message(caught.value.errors())


ROW = {"contact": "0612345678", "channel": "call", "at": NIGHT}
MALFORMED: list[Any] = [
    {"requests": [ROW, "0612345678"]},
    {"requests": [ROW, {**ROW, "contact": 612345678}]},
    {"requests": [ROW, {**ROW, "contact": ""}]},
    {"requests": [ROW, {**ROW, "contact": "0" * 321}]},
    {"requests": [ROW, {"channel": "call"}]},
    {"requests": [ROW, {**ROW, "channel": "pigeon"}]},
    {"requests": [ROW, {**ROW, "channel": None}]},
    {"requests": [ROW, {**ROW, "purpose": None}]},
    {"requests": [{**ROW, "audience": None}, ROW]},
    {"requests": [ROW, {**ROW, "at": "yesterday"}]},
    {"requests": [ROW, {**ROW, "at": [2026]}]},
    {"requests": [ROW, {**ROW, "campaign": "x" * 201}]},
    {"requests": [ROW, {**ROW, "sector": "tobacco"}]},
    {"requests": [ROW, {**ROW, "processor": {"name": "tunis"}}]},
    {"requests": ROW},
    {"requests": [ROW] * 10_001},
    {"asks": [ROW]},
    [ROW],
]


@pytest.mark.parametrize("body", MALFORMED)
def test_a_malformed_batch_is_refused_as_before(
    app: App, clients: tuple[TestClient, TestClient], body: Any
) -> None:
    fast, _ = clients
    got = fast.post("/v1/decisions", json=body, headers=_key(app, Role.CAMPAIGN))
    assert got.status_code == 422
    assert got.json() == {"error": {"code": "USAGE_ERROR", "message": _expected_422(body)}}


def test_batch_refusals_name_the_row_and_field(
    app: App, clients: tuple[TestClient, TestClient]
) -> None:
    fast, _ = clients
    key = _key(app, Role.CAMPAIGN)
    body = {"requests": [ROW, {**ROW, "purpose": None}]}
    got = fast.post("/v1/decisions", json=body, headers=key).json()["error"]["message"]
    assert got == "requests.1.purpose: Input should be a valid string"
    body = {"requests": [ROW, {**ROW, "contact": 612345678}]}
    got = fast.post("/v1/decisions", json=body, headers=key).json()["error"]["message"]
    assert got == "requests.1.contact: Input should be a valid string"
    naive = {"requests": [ROW, {**ROW, "at": "2026-11-20T21:05:00"}]}
    refused = fast.post("/v1/decisions", json=naive, headers=key)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "INVALID_TIME"
    not_json = fast.post(
        "/v1/decisions", content=b"{", headers={**key, "content-type": "application/json"}
    )
    assert not_json.status_code == 422
    assert not_json.json()["error"]["code"] == "USAGE_ERROR"


def test_every_group_of_a_batch_is_the_gate_row_by_row(app: App, client_fast: TestClient) -> None:
    app.register.add_processor(None, "tunis", ["call", "sms"])
    app.register.record_objection(
        principal=None, contact="06 12 34 56 78", source=Source.AGENT, channel="sms"
    )
    rng = random.Random(11)
    contacts = ["06 12 34 56 78", "+33612345678", "0690 12 34 56", "Zoé@Example.org", "n/a"]
    contacts += [f"07 81 {rng.randrange(10**5, 10**6)}" for _ in range(60)]
    variants: list[dict[str, Any]] = [
        {"channel": "call", "at": NIGHT},
        {"channel": "sms", "at": DAY, "processor": "tunis"},
        {"channel": "call", "at": DAY, "purpose": "prospecting", "audience": "professional"},
        {"channel": "email", "at": DAY, "sector": "energy_renovation", "campaign": "winter"},
        {"channel": "call", "at": DAY, "processor": None, "sector": None, "ignored": [1]},
        {"channel": "call", "at": 1795000000},  # a Unix time: pydantic reads it (the slow path)
    ]
    requests = [{"contact": c, **rng.choice(variants)} for c in contacts]
    got = client_fast.post(
        "/v1/decisions", json={"requests": requests}, headers=_key(app, Role.CAMPAIGN)
    )
    assert got.status_code == 200
    expected = []
    for r in requests:
        asked = BatchRequest.model_validate({"requests": [r]}).requests[0]
        query = CheckQuery(
            r["contact"],
            Channel(r["channel"]),
            asked.at,
            "acme",
            asked.processor,
            asked.purpose,
            asked.audience,
            asked.sector,
            asked.campaign,
        )
        expected.append(app.gate.check(query).to_dict())
    assert got.json()["decisions"] == expected


@pytest.fixture
def client_fast(app: App) -> Iterator[TestClient]:
    with TestClient(create_app(app)) as test_client:
        yield test_client


def test_a_batch_of_unix_times_only_takes_the_slow_path_and_answers(
    app: App, client_fast: TestClient
) -> None:
    body = {"requests": [{"contact": "0612345678", "channel": "call", "at": 1795000000}]}
    got = client_fast.post("/v1/decisions", json=body, headers=_key(app, Role.CAMPAIGN))
    assert got.status_code == 200
    direct = app.gate.check(
        CheckQuery("0612345678", Channel.CALL, t("2026-11-18T11:06:40Z"), "acme")
    )
    assert got.json()["decisions"][0] == direct.to_dict()
