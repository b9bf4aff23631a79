"""Role × route: every route of the app, tried with every role, against ``ROUTE_ROLES``.

The routes come from ``app.routes``: a route added without an entry in the table fails here.
A role the table admits gets a success (each keyed route has a sample request below, or at least
no 401/403 when it has none); any other role gets ``403 FORBIDDEN``; no key gets ``401``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from permis.bootstrap import App
from permis.config import Settings
from permis.domain.model import Source
from permis.entrypoints.api import create_app
from permis.entrypoints.api.roles import PUBLIC, ROUTE_ROLES
from permis.services.keys import Role

CONTACT = "06 12 34 56 78"
AT = "2026-11-24T10:30:00+01:00"

SAMPLES: dict[str, dict[str, Any]] = {
    "GET /v1/decisions": {"params": {"contact": CONTACT, "channel": "call", "at": AT}},
    "POST /v1/decisions": {"json": {"requests": [{"contact": CONTACT, "channel": "sms"}]}},
    "POST /v1/consents": {
        "json": {"contact": CONTACT, "channel": "sms", "source": "web", "at": AT}
    },
    "POST /v1/objections": {"json": {"contact": CONTACT, "source": "agent", "at": AT}},
    "POST /v1/refusals": {"json": {"contact": CONTACT, "at": AT}},
    "POST /v1/contracts": {"json": {"contact": CONTACT, "start": AT}},
    "POST /v1/attempts": {"json": {"contact": CONTACT, "channel": "call", "at": AT}},
    "POST /v1/budgets": {
        "json": {"contact": CONTACT, "channel": "sms", "max": 2, "per": "month", "at": AT}
    },
    "POST /v1/scrubs": {
        "files": {"file": ("c.csv", b"telephone\n0612345678\n", "text/csv")},
        "data": {"channel": "call", "at": AT},
    },
    "POST /v1/processors": {"json": {"name": "lille", "channels": ["call"], "feed": True}},
    "GET /v1/suppressions/changes": {"params": {"processor": "tunis"}},
}


def _flat(routes: Any) -> Iterator[Any]:
    """Routes, with included routers opened (FastAPI 0.16x keeps them as one entry each)."""
    for route in routes:
        inner = getattr(route, "effective_route_contexts", None)
        if inner is not None:
            yield from inner()
        else:
            yield route


def routes(api: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every route the app answers."""
    found = []
    for route in _flat(api.routes):
        path = getattr(route, "path", None)
        for method in sorted(getattr(route, "methods", None) or ()):
            if method != "HEAD" and path is not None:
                found.append((method, path))
    return found


@pytest.fixture
def setup(
    app: App, tmp_path: Path
) -> Iterator[tuple[TestClient, dict[Role, dict[str, str]], str, str]]:
    app.settings = Settings(database_url=app.settings.database_url, jobs_dir=str(tmp_path))
    from permis.services.processors import Processors
    from permis.services.propagation import fan_out

    Processors(app.db, app.clock).add(None, "tunis", ["call", "sms"], feed=True)
    app.register.record_objection(principal=None, contact=CONTACT, source=Source.AGENT)
    fan_out(app.db, app.clock)
    with app.db.transaction() as cur:
        (delivery,) = cur.execute("SELECT uid FROM deliveries")
    keys = {
        role: {
            "Authorization": "Bearer "
            + app.keys.create(role, processor="tunis" if role is Role.PROCESSOR else None).key
        }
        for role in Role
    }
    with TestClient(create_app(app)) as client:
        job = client.post("/v1/scrubs", headers=keys[Role.PROCESSOR], **SAMPLES["POST /v1/scrubs"])
        job_id = job.json()["id"]
        for _ in range(200):
            state = client.get(f"/v1/scrubs/{job_id}", headers=keys[Role.ADMIN]).json()["state"]
            if state == "done":
                break
            time.sleep(0.05)
        yield client, keys, job_id, str(delivery[0])


def test_every_route_is_in_the_table(app: App) -> None:
    declared = {f"{m} {p}" for m, p in routes(create_app(app))}
    assert declared - set(ROUTE_ROLES) == set(), "routes without roles in ROUTE_ROLES"
    assert set(ROUTE_ROLES) - declared == set(), "ROUTE_ROLES names routes that do not exist"


def test_role_by_route(setup: tuple[TestClient, dict[Role, dict[str, str]], str, str]) -> None:
    client, keys, job_id, delivery = setup
    seen = []
    for method, path in routes(client.app):  # type: ignore[arg-type]
        route = f"{method} {path}"
        allowed = ROUTE_ROLES[route]
        url = path.replace("{contact}", CONTACT).replace("{job_id}", job_id)
        url = url.replace("{delivery}", delivery)
        sample = SAMPLES.get(route, {})
        if allowed == PUBLIC:  # no bearer key asked (a signature, token or session may be)
            if route == "POST /agent/login":  # the agent screen's form takes the key itself
                sample = {"data": {"key": keys[Role.AGENT]["Authorization"].split()[1]}}
            got = client.request(method, url, follow_redirects=False, **sample)
            bearer_asked = got.status_code == 401 and "Authorization: Bearer" in got.text
            assert not bearer_asked, route
            continue
        anonymous = client.request(method, url, **sample)
        assert anonymous.status_code == 401, route
        assert anonymous.json()["error"]["code"] == "UNAUTHORIZED"
        for role in Role:
            got = client.request(method, url, headers=keys[role], **sample)
            if role is Role.ADMIN or role in allowed:
                assert got.status_code not in (401, 403), (route, role, got.text)
                if sample or "{" in path:
                    assert got.status_code < 300, (route, role, got.text)
            else:
                assert got.status_code == 403, (route, role, got.status_code)
                assert got.json()["error"]["code"] == "FORBIDDEN"
            seen.append((route, role))
    assert len(seen) >= 20 * len(Role)  # every keyed route


def test_a_processor_never_reads_the_register(
    setup: tuple[TestClient, dict[Role, dict[str, str]], str, str],
) -> None:
    client, keys, _, _ = setup
    got = client.get(f"/v1/contacts/{CONTACT}/history", headers=keys[Role.PROCESSOR])
    assert got.status_code == 403
    assert got.json()["error"]["code"] == "FORBIDDEN"
    assert "objection" not in got.text.lower()
    for role, route in ((r, route) for route, roles in ROUTE_ROLES.items() for r in roles):
        if "history" in route or "contacts" in route:
            assert role is not Role.PROCESSOR, route
