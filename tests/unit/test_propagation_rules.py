"""Pure pieces of propagation: settings validation, signatures, scope, forms, messages."""

from __future__ import annotations

import json

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from permis.adapters.stream import stream_name, valid_subject
from permis.adapters.webhooks import signed_headers, verify
from permis.errors import UsageError
from permis.services.processors import (
    Form,
    check_secret,
    check_subject,
    check_url,
    forms_of,
    new_secret,
)
from permis.services.propagation import backoff_seconds, concerns, event_channel, message


@pytest.mark.parametrize("url", ["https://a.example/h", "http://127.0.0.1:8080/hook?x=1"])
def test_http_urls_are_accepted(url: str) -> None:
    assert check_url(url) == url


@pytest.mark.parametrize(
    "url", ["ftp://a.example", "a.example/h", "https://", "javascript:alert(1)", "https://u:p@a.b"]
)
def test_other_urls_are_refused(url: str) -> None:
    with pytest.raises(UsageError):
        check_url(url)


@pytest.mark.parametrize(
    "secret",
    ["whsec_", "whsec_YWJj", "whsec_not base64!", "sk_" + "A" * 40, "whsec_" + "QUFB" * 30],
)
def test_bad_secrets_are_refused(secret: str) -> None:
    with pytest.raises(UsageError):
        check_secret(secret)


def test_a_generated_secret_is_accepted_by_us_and_by_the_specification_s_library() -> None:
    secret = new_secret()
    assert check_secret(secret) == secret
    body = b'{"type":"objection.recorded"}'
    headers = signed_headers(secret, "msg_abc", 1_900_000_000, body)
    assert verify(secret, headers, body, now=1_900_000_000)
    assert not verify(new_secret(), headers, body, now=1_900_000_000)
    assert not verify(secret, headers, body + b" ", now=1_900_000_000)
    assert not verify(secret, headers, body, now=1_900_000_000 + 301)  # stale
    with pytest.raises(WebhookVerificationError):  # too old for the library's own clock
        Webhook(secret).verify(body, headers)


@pytest.mark.parametrize(
    ("subject", "ok"),
    [
        ("permis.optouts.lille", True),
        ("optouts_lille-2", True),
        ("permis.*", False),
        ("permis.>", False),
        ("a b", False),
        ("a..b", False),
        ("", False),
        ("a." * 150, False),
    ],
)
def test_subjects(subject: str, ok: bool) -> None:
    assert valid_subject(subject) is ok
    if not ok:
        with pytest.raises(UsageError):
            check_subject(subject)


def test_stream_names_are_valid_jetstream_names() -> None:
    assert stream_name("permis.optouts.lille-2") == "PERMIS_PERMIS_OPTOUTS_LILLE_2"


def test_scope_and_forms() -> None:
    assert concerns("call", "all") and concerns("all", "sms") and concerns("call,sms", "sms")
    assert not concerns("call", "sms")
    assert event_channel("RefusalRecorded", {}) == "call"
    assert event_channel("ObjectionRecorded", {"channel": "sms"}) == "sms"
    assert forms_of(None, None, False, None) == [Form.FEED]
    assert forms_of("https://x", "s", False, "csv") == [Form.WEBHOOK, Form.STREAM, Form.FILE]
    assert forms_of("https://x", None, True, None) == [Form.WEBHOOK, Form.FEED]


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    assert [backoff_seconds(n, 600, lambda: 1.0) for n in (1, 2, 3, 4)] == [1, 2, 4, 8]
    assert backoff_seconds(30, 600, lambda: 1.0) == 600
    assert backoff_seconds(3, 600, lambda: 0.0) == 2  # half the ceiling at worst


def test_the_message_carries_the_delivery_id_and_the_opt_out() -> None:
    from datetime import UTC, datetime

    payload = {
        "event_id": 7,
        "event_type": "ObjectionRecorded",
        "data": {"channel": "all", "purpose": "all", "source": "agent"},
        "occurred_at": 0,
        "recorded_at": 1_000_000,
        "contact_hash": "h",
        "contact": "+33612345678",
        "principal": "choucroute",
    }
    body = json.loads(message("msg_1", payload, datetime(2026, 11, 23, tzinfo=UTC)))
    assert body["type"] == "objection.recorded"
    assert body["data"]["delivery"] == "msg_1"
    assert body["data"]["recorded_at"] == "1970-01-01T00:00:01+00:00"
