"""Webhooks over a real local HTTP connection (the dispatcher's own aiohttp sender, as in
production), received by a threaded ``http.server`` that checks every message with the
``standardwebhooks`` library: concurrent sends keep the order per contact, and the receiver's
answers (401, 500, 410) are retried or disable it as with in-process receivers."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from permis.bootstrap import App
from permis.domain.model import Source
from permis.services.processors import Processors, new_secret
from permis.services.propagation import Dispatcher
from tests.conftest import FakeClock
from tests.integration.propagation_helpers import drain

TOGETHER = 4  # the first requests wait until this many are in flight at once


@dataclass
class Log:
    """What the receiver saw: payloads applied per contact in arrival order, and failures."""

    secret: str
    answer: Callable[[dict[str, Any], int], int] = lambda payload, n: 204
    requests: int = 0
    bad_signatures: int = 0
    apart: int = 0  # first requests that were not in flight together
    applied: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    together: threading.Barrier = field(
        default_factory=lambda: threading.Barrier(TOGETHER, timeout=10)
    )

    def handle(self, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            self.requests += 1
            n = self.requests
        if n <= TOGETHER:
            try:
                self.together.wait()
            except threading.BrokenBarrierError:
                with self.lock:
                    self.apart += 1
        try:
            payload = Webhook(self.secret).verify(body, headers)
        except WebhookVerificationError:
            with self.lock:
                self.bad_signatures += 1
            return 401
        status = self.answer(payload, n)
        if status < 300:
            with self.lock:
                self.applied.setdefault(payload["data"]["contact"], []).append(payload)
        return status


@contextmanager
def receiver(log: Log) -> Iterator[str]:
    class Hook(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the dispatcher's pool expects

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            status = log.handle({k.lower(): v for k, v in self.headers.items()}, body)
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def now_clock(clock: FakeClock) -> FakeClock:
    clock.now = datetime.now(UTC).replace(microsecond=0)
    return clock


def _dispatch(app: App) -> dict[str, Any]:
    return drain(Dispatcher(app.db, app.clock, app.settings, concurrency=16))


def test_concurrent_sends_keep_the_order_of_each_contact_even_across_a_retry(
    app: App, now_clock: FakeClock
) -> None:
    numbers = [f"+336123450{i:02d}" for i in range(24)]
    late = numbers[5]  # its first opt-out fails once: its later ones must wait for it
    tries: dict[str, int] = {}

    def answer(payload: dict[str, Any], n: int) -> int:
        key = payload["data"]["delivery"]
        tries[key] = tries.get(key, 0) + 1
        first = payload["data"]["contact"] == late and payload["data"]["channel"] == "call"
        return 500 if first and tries[key] == 1 else 204

    log = Log(new_secret(), answer)
    with receiver(log) as url:
        Processors(app.db, app.clock).add(None, "lille", webhook=url, secret=log.secret)
        for channel in ("call", "sms", "email"):
            for number in numbers:
                app.register.record_objection(
                    principal=None, contact=number, source=Source.AGENT, channel=channel
                )
        first = _dispatch(app)
        assert first["failed"] == 1 and late not in log.applied
        now_clock.now += timedelta(seconds=5)  # past the backoff
        second = _dispatch(app)
    assert first["delivered"] + second["delivered"] == 72
    assert log.apart == 0  # the first requests were in flight together
    assert log.bad_signatures == 0 and sorted(log.applied) == numbers
    for payloads in log.applied.values():
        assert [p["data"]["channel"] for p in payloads] == ["call", "sms", "email"]
        events = [p["data"]["event_id"] for p in payloads]
        assert events == sorted(events)


def test_over_the_network_a_wrong_secret_is_retried_and_a_410_disables_keeping_the_deliveries(
    app: App, now_clock: FakeClock
) -> None:
    processors = Processors(app.db, app.clock)
    log = Log(new_secret())
    log.together = threading.Barrier(1)
    with receiver(log) as url:
        processors.add(None, "lille", webhook=url, secret=new_secret())  # not the receiver's
        app.register.record_objection(principal=None, contact="+33612345678", source=Source.AGENT)
        report = _dispatch(app)
        assert report["failed"] == 1 and log.bad_signatures == 1 and log.applied == {}
        log.answer = lambda payload, n: 410
        processors.add(None, "lille", webhook=url, secret=log.secret)
        now_clock.now += timedelta(seconds=5)
        assert _dispatch(app)["disabled"] == ["lille"]
        with app.db.transaction() as cur:
            [(state, error)] = cur.execute("SELECT state, last_error FROM deliveries")
        assert (state, error) == ("pending", "HTTP 410 Gone")
        log.answer = lambda payload, n: 204
        processors.add(None, "lille", webhook=url, secret=log.secret)  # registered again
        now_clock.now += timedelta(seconds=5)
        assert _dispatch(app)["delivered"] == 1
    [[payload]] = log.applied.values()
    assert payload["data"]["contact"] == "+33612345678"
