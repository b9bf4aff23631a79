"""Schemathesis over the whole OpenAPI, through the ASGI app, with an admin key.

Every operation of ``/openapi.json`` gets generated requests (valid and invalid ones): none may
answer 5xx, and every 4xx must carry the one error body ``{"error": {"code", "message"}}``
(DESIGN.md 4.4). Bounded: :data:`EXAMPLES` per operation keeps the whole run under a minute.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from permis.bootstrap import App
from permis.config import Settings
from permis.entrypoints.api import create_app
from permis.services.keys import Role

EXAMPLES = 8


@pytest.fixture
def fuzzed(app: App, tmp_path: Path) -> Iterator[tuple[FastAPI, str]]:
    app.settings = Settings(
        database_url=app.settings.database_url,
        jobs_dir=str(tmp_path / "jobs"),
        scrub_max_bytes=1 << 16,
    )
    app.register.add_processor(None, "tunis", ["call"])
    api = create_app(app)
    yield api, app.keys.create(Role.ADMIN).key
    for thread in api.state.scrub_jobs.threads:  # scrub jobs the fuzzer started end first
        thread.join(60)


def _spec() -> dict[str, Any]:
    """The OpenAPI document (it does not depend on the register: no connection is opened).
    Loaded at import because schemathesis' lazy ``from_fixture`` breaks on pytest 9."""
    from permis.bootstrap import build

    offline = build(Settings(database_url="sqlite:///:memory:"), check_schema=False)
    return create_app(offline).openapi()


schema = schemathesis.openapi.from_dict(_spec())


HTML_PAGES = {"/u/{token}", "/p/{token}", "/p/{token}/receipts/{event_id}"}
"""Pages for the people contacted: their errors are pages (an expired link says so), declared
``text/html`` in the OpenAPI; every other route answers JSON."""


def _content_type(response: Any) -> str:
    value = response.headers.get("content-type", "")
    return str(value[0] if isinstance(value, list) and value else value)


def error_body(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx answers ``{"error": {"code": str, "message": str}}`` and nothing else (the
    people's pages: an HTML page, never a stack trace)."""
    if 400 <= response.status_code < 500:
        if _content_type(response).startswith("text/html"):
            assert case.operation.path in HTML_PAGES, case.operation.path
            assert "<html" in response.text and "Traceback" not in response.text
            return None
        body = response.json()
        assert set(body) == {"error"}, body
        assert set(body["error"]) == {"code", "message"}, body
        assert isinstance(body["error"]["code"], str) and body["error"]["code"].isupper()
        assert isinstance(body["error"]["message"], str)
    return None


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_error_and_one_error_body(case: Any, fuzzed: tuple[FastAPI, str]) -> None:
    case.call_and_validate(
        app=fuzzed[0],
        headers={"Authorization": f"Bearer {fuzzed[1]}"},
        checks=[not_a_server_error, error_body],
    )
