"""Signed links through the ASGI app: RFC 8058 one-click, the confirmation page, the preference
page; expired and tampered links change nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from permis.bootstrap import App
from permis.config import Settings
from permis.domain.model import Channel, Source
from permis.entrypoints.api import create_app
from permis.entrypoints.web.pages import page_version
from permis.services.gate import CheckQuery
from permis.services.intake import Intake, Links
from tests.conftest import FakeClock

EMAIL = "Jean.Dupont@Example.org"
NORMAL = "jean.dupont@example.org"
ONE_CLICK = {"List-Unsubscribe": "One-Click"}


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    app.settings = Settings(
        database_url=app.settings.database_url, public_url="https://permis.example"
    )
    with TestClient(create_app(app), base_url="https://permis.example") as test_client:
        yield test_client


def links(app: App, contact: str = EMAIL) -> Links:
    return Intake(app.db, app.register, app.settings, app.clock).links("acme", contact)


def path(url: str) -> str:
    return url.removeprefix("https://permis.example")


def history(app: App, contact: str = NORMAL) -> list[str]:
    return [e.type for e in app.register.history("acme", contact)]


def reasons(app: App, channel: Channel, contact: str = NORMAL) -> list[str]:
    at = app.clock() + timedelta(minutes=1)
    return [r.code for r in app.gate.check(CheckQuery(contact, channel, at, "acme")).reasons]


# -- one-click -------------------------------------------------------------------------------


def test_one_click_as_a_mail_provider_sends_it_records_exactly_one_objection(
    app: App, client: TestClient
) -> None:
    made = links(app)
    assert made.headers == {
        "List-Unsubscribe": f"<{made.unsubscribe}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    for _ in range(3):  # the provider retries; the person clicks again
        answer = client.post(
            path(made.unsubscribe),
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert answer.status_code == 200
        assert "set-cookie" not in answer.headers
        assert not client.cookies
    events = app.register.history("acme", NORMAL)
    assert [e.type for e in events] == ["ObjectionRecorded"]
    assert events[0].data == {"channel": "email", "purpose": "all", "source": "email"}
    assert "OBJECTION" in reasons(app, Channel.EMAIL)
    assert "OBJECTION" not in reasons(app, Channel.CALL)


def test_one_click_in_multipart_form_is_accepted(app: App, client: TestClient) -> None:
    made = links(app)
    answer = client.post(path(made.unsubscribe), files={"List-Unsubscribe": (None, "One-Click")})
    assert answer.status_code == 200
    assert history(app) == ["ObjectionRecorded"]


def test_get_never_records_and_offers_a_button(app: App, client: TestClient) -> None:
    made = links(app)
    for _ in range(2):  # mail scanners prefetch links
        page = client.get(path(made.unsubscribe))
        assert page.status_code == 200
        assert '<html lang="fr">' in page.text
        assert 'name="List-Unsubscribe" value="One-Click"' in page.text
        assert '<form method="post">' in page.text
    assert history(app) == []
    assert NORMAL not in page.text


def test_a_post_without_the_one_click_body_records_nothing(app: App, client: TestClient) -> None:
    made = links(app)
    answer = client.post(path(made.unsubscribe), data={"something": "else"})
    assert answer.status_code == 400
    assert "List-Unsubscribe=One-Click" in answer.text
    assert history(app) == []


def forge(url: str) -> str:
    """Change one character in the middle of the token."""
    i = len(url) - 20
    return url[:i] + ("A" if url[i] != "A" else "B") + url[i + 1 :]


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("page", ["unsubscribe", "preferences"])
def test_a_tampered_link_says_so_and_changes_nothing(
    app: App, client: TestClient, method: str, page: str
) -> None:
    url = path(forge(getattr(links(app), page)))
    data = ONE_CLICK if page == "unsubscribe" else _form("object", "all")
    answer = client.request(method, url, data=data if method == "POST" else None)
    assert answer.status_code == 400
    assert "n'est pas valable" in answer.text and "not valid" in answer.text
    assert "nouveau lien" in answer.text and "new link" in answer.text
    assert "Traceback" not in answer.text and NORMAL not in answer.text
    assert history(app) == []


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("page", ["unsubscribe", "preferences"])
def test_an_expired_link_says_so_and_changes_nothing(
    app: App, client: TestClient, clock: FakeClock, method: str, page: str
) -> None:
    url = path(getattr(links(app), page))
    clock.now = clock.now + timedelta(days=app.settings.link_ttl_days, seconds=1)
    data = ONE_CLICK if page == "unsubscribe" else _form("object", "all")
    answer = client.request(method, url, data=data if method == "POST" else None)
    assert answer.status_code == 410
    assert "a expiré" in answer.text and "has expired" in answer.text
    assert "nouveau lien" in answer.text
    assert history(app) == []


def test_a_link_for_one_page_does_not_open_the_other(app: App, client: TestClient) -> None:
    made = links(app)
    swapped = path(made.preferences).replace("/p/", "/u/")
    assert client.post(swapped, data=ONE_CLICK).status_code == 400
    assert history(app) == []


@pytest.mark.parametrize("token", ["x", "1", "1.", "99.AAAA", "abc.def", "1." + "A" * 3000])
def test_garbage_tokens_are_a_page_not_an_error(client: TestClient, token: str) -> None:
    answer = client.get(f"/p/{token}")
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("text/html")


def test_a_phone_unsubscribe_link_objects_to_sms(app: App, client: TestClient) -> None:
    made = links(app, "06 12 34 56 78")
    assert client.post(path(made.unsubscribe), data=ONE_CLICK).status_code == 200
    assert "OBJECTION" in reasons(app, Channel.SMS, "+33612345678")
    assert "OBJECTION" not in reasons(app, Channel.CALL, "+33612345678")


# -- the preference page ---------------------------------------------------------------------


def _form(action: str, channel: str, form_id: str = "f1", **extra: str) -> dict[str, str]:
    return {
        "action": action,
        "channel": channel,
        "page_version": page_version("preferences"),
        "form_id": form_id,
        **extra,
    }


def test_the_page_shows_what_the_person_agreed_to(app: App, client: TestClient) -> None:
    app.register.record_consent(
        principal="acme",
        contact=EMAIL,
        channel=Channel.EMAIL,
        source=Source.WEB,
        purpose="prospecting",
        at=datetime.fromisoformat("2026-10-01T12:00:00+02:00"),
    )
    page = client.get(path(links(app).preferences))
    assert page.status_code == 200
    assert '<html lang="fr">' in page.text and 'lang="en"' in page.text
    assert "j***@example.org" in page.text and NORMAL not in page.text
    email = page.text.split('id="h-email"')[1].split("</section>")[0]
    assert "prospecting, 2026-10-01" in email and "Withdraw my consent" in email
    sms = page.text.split('id="h-sms"')[1].split("</section>")[0]
    assert "Withdraw my consent" not in sms
    for channel in Channel:  # every input has its label
        assert f'<label for="max-{channel.value}">' in page.text
        assert f'id="max-{channel.value}"' in page.text
    assert "<script" not in page.text
    assert history(app) == ["ConsentGiven"]


def test_each_change_is_a_register_event_with_the_page_version(
    app: App, client: TestClient
) -> None:
    app.register.record_consent(
        principal="acme",
        contact=EMAIL,
        channel=Channel.EMAIL,
        source=Source.WEB,
        purpose="prospecting",
        at=app.clock() - timedelta(days=3),
    )
    url = path(links(app).preferences)
    changes = [
        _form("withdraw", "email", "a"),
        _form("object", "call", "b"),
        _form("budget", "sms", "c", max="4", per="year"),
        _form("object", "all", "d"),
    ]
    for change in changes:
        answer = client.post(url, data=change, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].endswith(f"?done={change['action']}")
    events = app.register.history("acme", NORMAL)
    assert [e.type for e in events] == [
        "ConsentGiven",
        "ConsentWithdrawn",
        "ObjectionRecorded",
        "BudgetSet",
        "ObjectionRecorded",
    ]
    assert {e.actor for e in events[1:]} == {f"web:{page_version('preferences')}"}
    assert events[3].data == {"channel": "sms", "max": 4, "per": "year"}
    assert events[4].data["channel"] == "all" and events[4].data["source"] == "web"
    assert "NO_CONSENT" in reasons(app, Channel.EMAIL)
    with app.db.transaction() as cur:  # the withdrawal and both objections reach processors
        outbox = [int(r[0]) for r in cur.execute("SELECT event_id FROM outbox ORDER BY id")]
    assert outbox == [events[1].id, events[2].id, events[4].id]
    done = client.get(url + "?done=budget")
    assert "Votre choix est enregistré" in done.text
    sms = done.text.split('id="h-sms"')[1].split("</section>")[0]
    assert "4 par an" in sms


def test_a_double_submit_records_once(app: App, client: TestClient) -> None:
    url = path(links(app).preferences)
    for _ in range(2):
        client.post(url, data=_form("budget", "call", "same", max="1", per="year"))
    assert history(app) == ["BudgetSet"]


@pytest.mark.parametrize(
    ("form", "problem"),
    [
        ({"page_version": "preferences@000000000000"}, "Cette page a changé"),
        ({"max": "abc"}, "nombre entier"),
        ({"max": "5000"}, "nombre entier"),
        ({"max": "-1"}, "nombre entier"),
        ({"per": "decade"}, "nombre entier"),
        ({"channel": "pigeon"}, "pas reconnu"),
        ({"action": "erase_everything"}, "pas reconnu"),
    ],
)
def test_a_bad_change_shows_the_page_and_changes_nothing(
    app: App, client: TestClient, form: dict[str, str], problem: str
) -> None:
    data = {**_form("budget", "sms", max="4", per="year"), **form}
    answer = client.post(path(links(app).preferences), data=data)
    assert answer.status_code == 422
    assert problem in answer.text and 'role="alert"' in answer.text
    assert history(app) == []


def test_withdraw_all_is_not_offered(app: App, client: TestClient) -> None:
    answer = client.post(path(links(app).preferences), data=_form("withdraw", "all"))
    assert answer.status_code == 422
    assert history(app) == []


def test_a_page_form_id_is_fresh_on_every_render(app: App, client: TestClient) -> None:
    url = path(links(app).preferences)
    ids = {re.findall(r'name="form_id" value="([^"]+)"', client.get(url).text)[0] for _ in "ab"}
    assert len(ids) == 2
