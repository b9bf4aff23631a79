"""Signed receipts on the preference page: listed, downloaded as ``.jws``, shown after a change,
verified with the key published at ``/.well-known/permis-receipts.jwk``; a link opens only its
own contact point's receipts; without ``receipt_secret`` the page says receipts are not
available."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from permis.bootstrap import App
from permis.config import Settings
from permis.domain.model import Channel, Source
from permis.entrypoints.api import create_app
from permis.entrypoints.web.pages import page_version
from permis.services.intake import Intake
from permis.services.receipts import ReceiptInvalid, verify_receipt

SECRET = "correct horse battery staple"
EMAIL = "Jean.Dupont@Example.org"
NORMAL = "jean.dupont@example.org"
OTHER = "zoe@example.org"
BASE = "https://permis.example"
KEY = "/.well-known/permis-receipts.jwk"


def _client(app: App, secret: str) -> Iterator[TestClient]:
    app.settings = Settings(
        database_url=app.settings.database_url, public_url=BASE, receipt_secret=secret
    )
    with TestClient(create_app(app), base_url=BASE) as test_client:
        yield test_client


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    yield from _client(app, SECRET)


@pytest.fixture
def plain(app: App) -> Iterator[TestClient]:
    """The app without ``receipt_secret``."""
    yield from _client(app, "")


def page_url(app: App, contact: str = EMAIL, principal: str = "acme") -> str:
    intake = Intake(app.db, app.register, app.settings, app.clock)
    return intake.links(principal, contact).preferences.removeprefix(BASE)


def consent(app: App, contact: str = EMAIL, principal: str = "acme") -> int:
    recorded = app.register.record_consent(
        principal=principal,
        contact=contact,
        channel=Channel.EMAIL,
        source=Source.WEB,
        purpose="prospecting",
        at=app.clock() - timedelta(days=2),
    )
    return recorded.event.id


def form(action: str, channel: str, form_id: str = "f1", **extra: str) -> dict[str, str]:
    return {
        "action": action,
        "channel": channel,
        "page_version": page_version("preferences"),
        "form_id": form_id,
        **extra,
    }


def receipt_links(html: str) -> list[str]:
    return re.findall(r'href="(/p/[^"]+/receipts/[0-9]+)"', html)


def published_key(client: TestClient) -> dict[str, Any]:
    answer = client.get(KEY, params={"principal": "acme"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/jwk+json")
    key: dict[str, Any] = answer.json()
    return key


def test_a_change_shows_its_receipt_and_every_listed_receipt_verifies(
    app: App, client: TestClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    given = consent(app)
    url = page_url(app)
    answer = client.post(
        url, data=form("budget", "sms", max="4", per="year"), follow_redirects=False
    )
    assert answer.status_code == 303
    budget = app.register.history("acme", NORMAL)[-1]
    assert budget.type == "BudgetSet"
    assert answer.headers["location"] == f"{url}?receipt={budget.id}&done=budget"

    page = client.get(answer.headers["location"])
    assert page.status_code == 200
    shown = re.search(r'<textarea id="jws"[^>]*>([^<]+)</textarea>', page.text)
    assert shown is not None and "Votre reçu signé" in page.text
    listed = page.text.split('id="h-receipts"')[1]
    assert receipt_links(listed) == [f"{url}/receipts/{budget.id}", f"{url}/receipts/{given}"]
    assert "Plafond fixé" in listed and "Accord donné" in listed
    assert NORMAL not in page.text

    key = published_key(client)  # the first receipt created the key
    payloads = []
    for link in receipt_links(listed):
        download = client.get(link)
        assert download.status_code == 200
        assert download.headers["content-type"].startswith("application/jose")
        number = link.rsplit("/", 1)[1]
        disposition = download.headers["content-disposition"]
        assert disposition == f'attachment; filename="receipt-{number}.jws"'
        assert client.get(link).content == download.content  # Ed25519: the same bytes again
        payloads.append(verify_receipt(download.text, key))
    assert [p["permis"]["action"] for p in payloads] == ["budget_set", "consent_given"]
    assert [p["permis"]["event"]["id"] for p in payloads] == [budget.id, given]
    assert {p["piiPrincipalId"] for p in payloads} == {NORMAL}
    assert payloads[0]["permis"]["details"] == {"channel": "sms", "max": 4, "per": "year"}
    assert shown.group(1) == client.get(f"{url}/receipts/{budget.id}").text.strip()

    original = client.get(f"{url}/receipts/{given}").content
    for index in range(len(original)):  # one byte changed anywhere: it no longer verifies
        changed = bytearray(original)
        changed[index] = ord("A") if original[index] != ord("A") else ord("B")
        with pytest.raises(ReceiptInvalid):
            verify_receipt(changed.decode("latin-1"), key)

    from permis.entrypoints.cli import main  # anyone: the file and the published key

    (tmp_path / "r.jws").write_bytes(original)
    (tmp_path / "key.jwk").write_text(client.get(KEY, params={"principal": "acme"}).text)
    verify = ["receipts", "verify", str(tmp_path / "r.jws"), "--key", str(tmp_path / "key.jwk")]
    assert main(verify) == 0
    assert "consent_given" in capsys.readouterr().out
    (tmp_path / "r.jws").write_bytes(original.replace(b".", b".x", 1))
    assert main(verify) == 1
    assert "RECEIPT_INVALID" in capsys.readouterr().err


def test_every_kind_of_change_is_listed_with_its_receipt(app: App, client: TestClient) -> None:
    consent(app)
    url = page_url(app)
    for change in (form("withdraw", "email", "a"), form("object", "call", "b")):
        assert client.post(url, data=change, follow_redirects=False).status_code == 303
    app.register.record_attempt(principal="acme", contact=EMAIL, channel=Channel.EMAIL)
    listed = client.get(url).text.split('id="h-receipts"')[1]
    assert len(receipt_links(listed)) == 3  # the attempt gives no receipt
    actions = [
        verify_receipt(client.get(link).text, published_key(client))["permis"]["action"]
        for link in receipt_links(listed)
    ]
    assert actions == ["objection_recorded", "consent_withdrawn", "consent_given"]


def test_another_persons_receipt_is_a_404_page(app: App, client: TestClient) -> None:
    mine = consent(app)
    theirs = consent(app, OTHER)
    app.register.ensure_principal("globex")
    elsewhere = consent(app, EMAIL, "globex")  # the same address, another principal
    attempt = app.register.record_attempt(principal="acme", contact=EMAIL, channel=Channel.EMAIL)
    url = page_url(app)
    assert client.get(f"{url}/receipts/{mine}").status_code == 200
    assert client.get(f"{url}/receipts/{mine}.jws").status_code == 200
    for event_id in (theirs, elsewhere, attempt.event.id, 999_999, "abc", "-1", "1e3", "١"):
        answer = client.get(f"{url}/receipts/{event_id}")
        assert answer.status_code == 404, event_id
        assert answer.headers["content-type"].startswith("text/html")
        assert "Ce reçu n'existe pas pour ce lien" in answer.text
        assert "no such receipt" in answer.text.lower()
        assert OTHER not in answer.text and NORMAL not in answer.text
        assert "eyJ" not in answer.text  # no JWS at all
    page = client.get(f"{url}?receipt={theirs}")  # the page shows only the link's own receipt
    assert page.status_code == 200 and 'id="jws"' not in page.text
    assert f"/receipts/{theirs}" not in page.text
    other_page = client.get(f"{page_url(app, OTHER)}/receipts/{mine}")
    assert other_page.status_code == 404


def test_a_bad_link_to_a_receipt_is_the_invalid_link_page(app: App, client: TestClient) -> None:
    mine = consent(app)
    url = page_url(app)
    tampered = url[:-20] + ("A" if url[-20] != "A" else "B") + url[-19:]
    answer = client.get(f"{tampered}/receipts/{mine}")
    assert answer.status_code == 400 and "n'est pas valable" in answer.text


def test_without_the_secret_the_page_says_receipts_are_not_available(
    app: App, plain: TestClient
) -> None:
    given = consent(app)
    url = page_url(app)
    page = plain.get(url)
    assert page.status_code == 200
    assert "Les reçus signés ne sont pas disponibles" in page.text
    assert "Signed receipts are not available" in page.text
    assert receipt_links(page.text) == []
    answer = plain.post(url, data=form("object", "sms"), follow_redirects=False)
    assert answer.headers["location"] == f"{url}?done=object"
    shown = plain.get(f"{url}?receipt={given}&done=object")
    assert shown.status_code == 200 and 'id="jws"' not in shown.text
    download = plain.get(f"{url}/receipts/{given}")
    assert download.status_code == 404
    assert "ne sont pas disponibles" in download.text and "<html" in download.text


def test_the_published_key_before_any_receipt_and_for_unknown_principals(
    app: App, client: TestClient
) -> None:
    answer = client.get(KEY, params={"principal": "acme"})
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "NOT_FOUND"
    assert client.get(KEY).status_code == 404  # the single principal: no key yet either
    consent(app)
    client.get(f"{page_url(app)}/receipts/{app.register.history('acme', NORMAL)[0].id}")
    key = published_key(client)
    assert set(key) >= {"kty", "crv", "x", "kid", "alg"} and "d" not in key
    assert (key["kty"], key["crv"], key["alg"]) == ("OKP", "Ed25519", "Ed25519")
    assert client.get(KEY).json() == key
    unknown = client.get(KEY, params={"principal": "nobody"})
    assert unknown.status_code == 404 and set(unknown.json()) == {"error"}


def test_a_secret_that_does_not_open_the_key_is_no_error_page(app: App, client: TestClient) -> None:
    given = consent(app)
    url = page_url(app)
    assert client.get(f"{url}/receipts/{given}").status_code == 200  # the key exists now
    app.settings = Settings(
        database_url=app.settings.database_url, public_url=BASE, receipt_secret="another"
    )
    page = client.get(f"{url}?receipt={given}")
    assert page.status_code == 200 and 'id="jws"' not in page.text
    answer = client.post(url, data=form("object", "sms"), follow_redirects=True)
    assert answer.status_code == 200 and "Votre choix est enregistré" in answer.text
    assert app.register.history("acme", NORMAL)[-1].type == "ObjectionRecorded"
    download = client.get(f"{url}/receipts/{given}")
    assert download.status_code == 404 and "ne sont pas disponibles" in download.text
