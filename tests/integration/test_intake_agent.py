"""The agent screen through the ASGI app, and ``permis links`` through the CLI."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from permis.bootstrap import App
from permis.entrypoints.api import create_app
from permis.services.keys import Role
from tests.integration.conftest import Cli

PERSON = "+33612345678"


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_app(app)) as test_client:
        yield test_client


def login(app: App, client: TestClient, role: Role = Role.AGENT) -> str:
    """Sign in by the form; the CSRF token of the screen."""
    answer = client.post(
        "/agent/login", data={"key": app.keys.create(role).key}, follow_redirects=False
    )
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"]
    for attribute in ("HttpOnly", "SameSite=strict", "Path=/agent", "Max-Age=28800"):
        assert attribute.lower() in cookie.lower()
    assert "permis_" not in cookie.split(";")[0].split("=", 1)[1]  # the key is not readable
    screen = client.get("/agent")
    assert screen.status_code == 200 and 'name="contact"' in screen.text
    return re.findall(r'name="csrf" value="([^"]+)"', screen.text)[0]


def history(app: App, contact: str = PERSON) -> list[str]:
    return [e.type for e in app.register.history("acme", contact)]


def test_without_a_session_the_screen_asks_for_the_key(client: TestClient) -> None:
    page = client.get("/agent")
    assert page.status_code == 200
    assert '<label for="key">' in page.text and 'type="password"' in page.text


@pytest.mark.parametrize("written", ["06 12 34 56 78", "+33 (0)6.12.34.56.78", "0033612345678"])
def test_an_objection_in_one_step_from_a_number_in_any_form(
    app: App, client: TestClient, written: str
) -> None:
    csrf = login(app, client)
    form = {"contact": written, "action": "objection", "channel": "all", "csrf": csrf}
    answer = client.post("/agent", data={**form, "form_id": "f1"})
    assert answer.status_code == 200
    assert "Opposition enregistrée pour <strong>+336******78</strong>" in answer.text
    assert PERSON not in answer.text and "12 34 56" not in answer.text
    events = app.register.history("acme", PERSON)
    assert [e.type for e in events] == ["ObjectionRecorded"]
    assert events[0].data == {"channel": "all", "purpose": "all", "source": "agent"}
    assert events[0].actor is not None and events[0].actor.startswith("agent:")
    client.post("/agent", data={**form, "form_id": "f1"})  # a double click
    assert history(app) == ["ObjectionRecorded"]


def test_a_refusal_in_one_step(app: App, client: TestClient) -> None:
    csrf = login(app, client)
    answer = client.post(
        "/agent", data={"contact": "0612345678", "action": "refusal", "csrf": csrf}
    )
    assert answer.status_code == 200 and "Refus enregistré" in answer.text
    assert history(app) == ["RefusalRecorded"]


def test_an_unreadable_number_is_a_clear_message_and_records_nothing(
    app: App, client: TestClient
) -> None:
    csrf = login(app, client)
    answer = client.post(
        "/agent", data={"contact": "06 12 34 (bureau)", "action": "objection", "csrf": csrf}
    )
    assert answer.status_code == 422
    assert "non reconnu" in answer.text and "bureau" not in answer.text


def test_a_post_without_the_form_token_records_nothing(app: App, client: TestClient) -> None:
    login(app, client)
    answer = client.post("/agent", data={"contact": PERSON, "action": "objection", "csrf": "x"})
    assert answer.status_code == 403
    assert history(app) == []


def test_a_bad_action_records_nothing(app: App, client: TestClient) -> None:
    csrf = login(app, client)
    answer = client.post("/agent", data={"contact": PERSON, "action": "erase", "csrf": csrf})
    assert answer.status_code == 422
    assert history(app) == []


@pytest.mark.parametrize("role", [Role.CAMPAIGN, Role.PROCESSOR, Role.COMPLIANCE])
def test_other_roles_may_not_sign_in(app: App, client: TestClient, role: Role) -> None:
    if role is Role.PROCESSOR:
        app.register.add_processor("acme", "lille", [])
        key = app.keys.create(role, processor="lille").key
    else:
        key = app.keys.create(role).key
    answer = client.post("/agent/login", data={"key": key})
    assert answer.status_code == 403 and "pas une clé d'agent" in answer.text
    assert "set-cookie" not in answer.headers
    bearer = client.post(
        "/agent",
        data={"contact": PERSON, "action": "objection"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert bearer.status_code == 403
    assert history(app) == []


def test_a_wrong_key_is_refused(client: TestClient) -> None:
    answer = client.post("/agent/login", data={"key": "permis_nope_nope"})
    assert answer.status_code == 401 and "Clé refusée" in answer.text


def test_a_forged_or_missing_session_records_nothing(app: App, client: TestClient) -> None:
    client.cookies.set("permis_agent", "1.AAAA", path="/agent")
    answer = client.post("/agent", data={"contact": PERSON, "action": "objection"})
    assert answer.status_code == 401 and "session" in answer.text
    assert history(app) == []


def test_an_agent_key_as_bearer_needs_no_form_token(app: App, client: TestClient) -> None:
    key = app.keys.create(Role.AGENT).key
    answer = client.post(
        "/agent",
        data={"contact": "06 12 34 56 78", "action": "objection", "channel": "sms"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert answer.status_code == 200
    assert history(app) == ["ObjectionRecorded"]


def test_a_revoked_key_ends_the_session(app: App, client: TestClient) -> None:
    new = app.keys.create(Role.AGENT)
    client.post("/agent/login", data={"key": new.key})
    app.keys.revoke(new.info.key_id, "acme")
    client.app.state.guard.cache.clear()  # type: ignore[attr-defined]
    assert client.get("/agent").status_code == 401


def test_sign_out_clears_the_cookie(app: App, client: TestClient) -> None:
    login(app, client)
    answer = client.post("/agent/logout", follow_redirects=False)
    assert answer.status_code == 303 and 'permis_agent=""' in answer.headers["set-cookie"]


# -- permis links ----------------------------------------------------------------------------


def test_permis_links_prints_the_links_and_headers(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PERMIS_PUBLIC_URL", "https://optout.example.fr/")
    assert cli("init", "--principal", "acme")[0] == 0
    code, out, _ = cli("links", "--contact", "Jean.Dupont@Example.org", "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data) >= {"preferences", "unsubscribe", "headers"}
    assert data["preferences"].startswith("https://optout.example.fr/p/1.")
    assert data["unsubscribe"].startswith("https://optout.example.fr/u/1.")
    assert data["headers"] == {
        "List-Unsubscribe": f"<{data['unsubscribe']}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    assert "jean" not in out.lower()
    code, text, _ = cli("links", "--contact", "06 12 34 56 78")
    assert code == 0 and "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in text


def test_permis_links_refuses_a_bad_contact(cli: Cli) -> None:
    cli("init")
    code, out, err = cli("links", "--contact", "not an address@", "--json")
    assert code == 1 and out == ""
    assert "INVALID_CONTACT" in err or "not a valid" in err
