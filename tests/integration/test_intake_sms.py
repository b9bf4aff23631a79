"""Inbound SMS through the ASGI app, signed by twilio's own RequestValidator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from twilio.request_validator import RequestValidator

from permis.adapters.db import intake as store
from permis.adapters.db import repositories as repo
from permis.bootstrap import App
from permis.config import Settings
from permis.domain.model import Channel, Source
from permis.entrypoints.api import create_app
from permis.services.gate import CheckQuery

TOKEN = "0123456789abcdef0123456789abcdef"
PUBLIC = "https://permis.example"
PATH = "/inbound/sms/twilio"
PERSON = "+33612345678"
AT = datetime.fromisoformat("2026-11-24T11:00:00+01:00")


def configure(app: App, **extra: str) -> None:
    app.settings = Settings(
        database_url=app.settings.database_url,
        public_url=PUBLIC,
        twilio_auth_token=TOKEN,
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    configure(app)
    with TestClient(create_app(app), base_url="http://internal:8000") as test_client:
        yield test_client


def sms(body: str, sid: str = "SM0001", sender: str = PERSON) -> dict[str, str]:
    return {
        "MessageSid": sid,
        "AccountSid": "AC0000",
        "From": sender,
        "To": "+33757000000",
        "Body": body,
        "NumMedia": "0",
    }


def post(
    client: TestClient, params: dict[str, str], query: str = "", token: str = TOKEN
) -> httpx.Response:
    """POST as Twilio does: form body, signature over the public URL Twilio was given."""
    signature = RequestValidator(token).compute_signature(PUBLIC + PATH + query, params)
    return client.post(PATH + query, data=params, headers={"X-Twilio-Signature": signature})


def events(app: App, contact: str = PERSON) -> list[str]:
    return [e.type for e in app.register.history("acme", contact)]


def sms_reasons(app: App, contact: str = PERSON) -> list[str]:
    decision = app.gate.check(CheckQuery(contact, Channel.SMS, AT, "acme"))
    return [r.code for r in decision.reasons]


def messages(app: App) -> list[store.InboundMessage]:
    with app.db.transaction() as cur:
        return store.inbound_messages(cur, repo.find_principal(cur, "acme").id)


@pytest.mark.parametrize("body", ["STOP", "arrêt !", " Stop SMS ", "DÉSINSCRIPTION", "cancel"])
def test_a_signed_stop_records_one_sms_objection(app: App, client: TestClient, body: str) -> None:
    answer = post(client, sms(body))
    assert answer.status_code == 200
    assert answer.text.endswith("<Response/>")
    assert answer.headers["content-type"].startswith("text/xml")
    history = app.register.history("acme", PERSON)
    assert [e.type for e in history] == ["ObjectionRecorded"]
    assert history[0].data == {"channel": "sms", "purpose": "all", "source": "sms"}
    assert history[0].idempotency_key == "twilio:SM0001"
    assert "OBJECTION" in sms_reasons(app)


def test_twilio_retrying_the_same_message_records_nothing_more(
    app: App, client: TestClient
) -> None:
    for _ in range(3):
        assert post(client, sms("STOP")).status_code == 200
    assert events(app) == ["ObjectionRecorded"]
    assert len(messages(app)) == 1


@pytest.mark.parametrize(
    "forgery", ["other token", "changed body", "no header", "other url", "garbage header"]
)
def test_a_forged_signature_is_refused_and_records_nothing(
    app: App, client: TestClient, forgery: str
) -> None:
    params = sms("STOP")
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC + PATH, params)
    headers = {"X-Twilio-Signature": signature}
    if forgery == "other token":
        headers["X-Twilio-Signature"] = RequestValidator("x" * 32).compute_signature(
            PUBLIC + PATH, params
        )
    elif forgery == "changed body":
        params = {**params, "From": "+33611111111"}
    elif forgery == "no header":
        headers = {}
    elif forgery == "other url":
        headers["X-Twilio-Signature"] = RequestValidator(TOKEN).compute_signature(
            "https://evil.example" + PATH, params
        )
    else:
        headers["X-Twilio-Signature"] = "=" * 28
    answer = client.post(PATH, data=params, headers=headers)
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "INVALID_SIGNATURE"
    assert "612345678" not in answer.text and "611111111" not in answer.text
    assert events(app) == [] and events(app, "+33611111111") == []
    assert messages(app) == []
    assert "OBJECTION" not in sms_reasons(app)


def test_without_an_auth_token_every_request_is_refused(app: App) -> None:
    app.settings = Settings(database_url=app.settings.database_url, public_url=PUBLIC)
    with TestClient(create_app(app)) as client:
        answer = post(client, sms("STOP"), token="")
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "INVALID_SIGNATURE"
    assert events(app) == []


def test_start_lifts_only_the_sms_objection_that_came_by_sms(app: App, client: TestClient) -> None:
    post(client, sms("STOP", "SM1"))
    app.register.record_objection(
        principal="acme", contact="+33699999999", source=Source.AGENT, channel="sms"
    )
    app.register.record_objection(
        principal="acme", contact=PERSON, source=Source.WEB, channel="email"
    )
    post(client, sms("START", "SM2"))
    post(client, sms("start", "SM3", sender="+33699999999"))
    assert events(app) == ["ObjectionRecorded", "ObjectionRecorded", "ObjectionLifted"]
    assert "OBJECTION" not in sms_reasons(app)
    email = app.gate.check(CheckQuery(PERSON, Channel.EMAIL, AT, "acme"))
    assert "OBJECTION" in [r.code for r in email.reasons]  # the web objection stays
    assert "OBJECTION" in sms_reasons(app, "+33699999999")  # told to an agent: stays


def test_start_does_not_lift_an_objection_to_every_channel(app: App, client: TestClient) -> None:
    post(client, sms("STOP", "SM1"))
    app.register.record_objection(principal="acme", contact=PERSON, source=Source.SMS)
    post(client, sms("UNSTOP", "SM2"))
    assert "OBJECTION" in sms_reasons(app)


def test_anything_else_is_kept_with_the_sender_hashed(app: App, client: TestClient) -> None:
    answer = post(client, sms("Bonjour, rappelez-moi demain svp", "SM9"))
    assert answer.status_code == 200
    assert answer.text.endswith("<Response/>")
    assert events(app) == []
    [kept] = messages(app)
    assert kept.intent == "message" and kept.body == "Bonjour, rappelez-moi demain svp"
    assert PERSON not in kept.sender_hash and len(kept.sender_hash) == 64
    assert kept.provider_id == "SM9" and kept.event_id is None


def test_a_stop_from_a_sender_that_is_not_a_number_is_kept(app: App, client: TestClient) -> None:
    assert post(client, sms("STOP", sender="SHOPALERT")).status_code == 200
    [kept] = messages(app)
    assert kept.intent == "opt_out:invalid_sender" and kept.event_id is None


def test_the_principal_can_be_named_in_the_signed_url(app: App, client: TestClient) -> None:
    assert post(client, sms("STOP"), "?principal=acme").status_code == 200
    assert events(app) == ["ObjectionRecorded"]
    unknown = post(client, sms("STOP", "SM2"), "?principal=nobody")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "UNKNOWN_PRINCIPAL"


def test_a_request_without_from_is_a_usage_error(app: App, client: TestClient) -> None:
    params = {"Body": "STOP", "MessageSid": "SM1"}
    answer = post(client, params)
    assert answer.status_code == 422
    assert answer.json() == {
        "error": {
            "code": "USAGE_ERROR",
            "message": "From and Body (at most 5,000 characters) are required",
        }
    }


def test_the_bulk_scrub_honours_stop_then_start(
    app: App, client: TestClient, tmp_path: Path
) -> None:
    from permis.services.scrub import ScrubRequest, run_scrub

    source = tmp_path / "campaign.csv"
    source.write_text("phone\n06 12 34 56 78\n07 81 00 00 01\n", encoding="utf-8")
    post(client, sms("STOP", "SM1"))
    post(client, sms("STOP", "SM2", sender="+33781000001"))
    post(client, sms("START", "SM3"))
    summary = run_scrub(
        app.db, app.gate.rules, source, ScrubRequest(Channel.SMS, AT, "acme"), None, None
    )
    assert summary.by_reason.get("OBJECTION") == 1  # the second number only
    assert summary.refused == 2 and sms_reasons(app) == ["NO_CONSENT"]  # a lift is no consent
