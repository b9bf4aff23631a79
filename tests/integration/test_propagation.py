"""Propagation on a real register (SQLite and PostgreSQL): processors, signed webhooks checked
with the ``standardwebhooks`` library, order per contact, retries, 410, overdue, violations."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from permis.adapters.db import outbound
from permis.adapters.webhooks import WebhookSender
from permis.bootstrap import App, build
from permis.config import Settings
from permis.domain.model import Channel, Outcome, Source
from permis.errors import UsageError
from permis.services.deliveries import Deliveries
from permis.services.processors import Processors, new_secret
from permis.services.propagation import Dispatcher, fan_out
from permis.services.violations import list_violations
from tests.conftest import FakeClock
from tests.integration.propagation_helpers import Receivers, contacts, deliver, dispatcher

MARTIN, DUPONT = "06 12 34 56 78", "07 81 23 45 67"


@pytest.fixture
def now_clock(clock: FakeClock) -> FakeClock:
    """Real time (receivers check ``webhook-timestamp`` against their own clock)."""
    clock.now = datetime.now(UTC).replace(microsecond=0)
    return clock


def _object(app: App, contact: str, channel: str = "all") -> None:
    app.register.record_objection(
        principal=None, contact=contact, source=Source.AGENT, channel=channel
    )


def _deliveries(app: App) -> Deliveries:
    return Deliveries(app.db, app.clock, app.settings.delivery_overdue_seconds)


# -- registration ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"webhook": "ftp://lille.example/hook"},
        {"webhook": "lille.example/hook"},
        {"webhook": "http://"},
        {"webhook": "https://user:pw@lille.example/hook"},
        {"webhook": "https://lille.example/hook", "secret": "whsec_c2hvcnQ="},
        {"webhook": "https://lille.example/hook", "secret": "not-a-whsec-secret"},
        {"webhook": "https://lille.example/hook", "secret": "whsec_%%%notbase64%%%"},
        {"secret": new_secret()},
        {"stream": "permis.optouts.*"},
        {"stream": "permis.>"},
        {"stream": "permis optouts"},
        {"stream": "permis..optouts"},
        {"stream": ".permis"},
        {"files": "xlsx"},
    ],
)
def test_bad_delivery_settings_are_refused_and_nothing_is_written(
    app: App, kwargs: dict[str, str]
) -> None:
    processors = Processors(app.db, app.clock)
    with pytest.raises(UsageError):
        processors.add(None, "lille", ["call"], **kwargs)  # type: ignore[arg-type]
    assert processors.list(None) == []


def test_a_webhook_without_secret_gets_one_shown_once(app: App) -> None:
    processors = Processors(app.db, app.clock)
    done = processors.add(None, "lille", ["call"], webhook="https://lille.example/hook")
    assert done.secret is not None and done.secret.startswith("whsec_")
    Webhook(done.secret)  # the specification's library accepts it
    listed = processors.list(None)[0].to_dict()
    assert done.secret not in str(listed)
    assert listed["forms"] == ["webhook"]
    given = new_secret()
    again = processors.add(None, "lille", ["call"], webhook="https://x.example/", secret=given)
    assert again.secret is None  # the caller's own secret is not echoed


def test_a_processor_without_push_form_reads_the_feed(app: App) -> None:
    done = Processors(app.db, app.clock).add(None, "tunis", ["call"])
    assert [f.value for f in done.processor.forms] == ["feed"]


# -- webhooks ----------------------------------------------------------------------------------


def test_webhooks_verify_with_standardwebhooks_and_a_wrong_secret_fails(
    app: App, now_clock: FakeClock
) -> None:
    receivers = Receivers()
    secret = new_secret()
    lille = receivers.add("lille", secret)
    Processors(app.db, app.clock).add(
        None, "lille", ["call"], webhook="http://lille.test/hook", secret=secret
    )
    _object(app, MARTIN)
    report = deliver(app, receivers)
    assert report["delivered"] == 1 and lille.bad_signatures == 0
    [payload] = lille.applied
    assert payload["type"] == "objection.recorded"
    assert payload["data"]["contact"] == "+33612345678"
    assert payload["data"]["channel"] == "all"
    # the same message under another secret does not verify
    from permis.adapters.webhooks import signed_headers

    body, stamp = b'{"type":"objection.recorded"}', int(now_clock.now.timestamp())
    headers = signed_headers(secret, "msg_1", stamp, body)
    assert Webhook(secret).verify(body, headers) == {"type": "objection.recorded"}
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
    wrong = Receivers()
    impostor = wrong.add("lille", new_secret())
    app.db.close()
    with app.db.transaction(write=True) as cur:
        cur.execute("UPDATE deliveries SET state = 'pending', delivered_at = NULL")
    deliver(app, wrong)
    assert impostor.bad_signatures == 1 and impostor.applied == []


def test_each_processor_gets_what_concerns_it_in_order_per_contact(
    app: App, now_clock: FakeClock
) -> None:
    receivers = Receivers()
    processors = Processors(app.db, app.clock)
    secrets = {name: new_secret() for name in ("lille", "marketing")}
    for name, channels in (("lille", ["call"]), ("marketing", ["sms", "email"])):
        receivers.add(name, secrets[name])
        processors.add(None, name, channels, webhook=f"http://{name}.test/h", secret=secrets[name])
    _object(app, MARTIN, "call")
    _object(app, DUPONT, "sms")
    _object(app, MARTIN, "all")
    report = deliver(app, receivers, batch=1)  # one at a time: order is visible
    assert report["deliveries_created"] == 4
    lille, marketing = receivers.by_host["lille.test"], receivers.by_host["marketing.test"]
    assert [p["data"]["channel"] for p in lille.applied] == ["call", "all"]
    assert contacts(marketing) == ["+33781234567", "+33612345678"]
    assert [p["data"]["event_id"] for p in lille.applied] == sorted(
        p["data"]["event_id"] for p in lille.applied
    )


def test_a_later_opt_out_waits_for_the_earlier_one_of_the_same_contact(
    app: App, now_clock: FakeClock
) -> None:
    receivers = Receivers()
    secret = new_secret()
    lille = receivers.add("lille", secret, answer=lambda n: 500 if n == 1 else 200)
    Processors(app.db, app.clock).add(None, "lille", webhook="http://lille.test/h", secret=secret)
    _object(app, MARTIN, "call")
    _object(app, MARTIN, "sms")
    _object(app, DUPONT, "call")
    deliver(app, receivers)
    # the first try of MARTIN's first objection failed: his second one is held back,
    # DUPONT's (another contact) went through
    assert contacts(lille) == ["+33781234567"]
    now_clock.now += timedelta(seconds=5)
    deliver(app, receivers)
    assert [(p["data"]["contact"], p["data"]["channel"]) for p in lille.applied[1:]] == [
        ("+33612345678", "call"),
        ("+33612345678", "sms"),
    ]


def test_a_fan_out_holding_its_lock_in_another_register_does_not_stop_this_one(
    app: App, other_database_url: str, clock: FakeClock
) -> None:
    """Two registers in one PostgreSQL database (two schemas) each serialise their own
    fan-out: the lock is the register's, not the database's."""
    other = build(Settings(database_url=other_database_url), clock)
    try:
        Processors(app.db, app.clock).add(None, "tunis", ["call"], feed=True)
        _object(app, MARTIN, "call")
        with other.db.transaction(write=True) as cur:
            assert outbound.lock_fanout(cur, other.db.dialect)  # held until this block ends
            report = fan_out(app.db, app.clock)
        assert (report.fanned_out, report.deliveries_created) == (1, 1)
    finally:
        other.close()


def test_a_second_fan_out_in_the_same_register_waits_for_the_first(
    app: App, clock: FakeClock
) -> None:
    Processors(app.db, app.clock).add(None, "tunis", ["call"], feed=True)
    _object(app, MARTIN, "call")
    if app.db.dialect != "postgresql":  # SQLite: the write lock itself serialises
        return
    first = build(app.settings, clock)  # another process's connection to the same register
    try:
        with first.db.transaction(write=True) as cur:
            assert outbound.lock_fanout(cur, first.db.dialect)
            assert fan_out(app.db, app.clock).fanned_out == 0  # the lock is taken: nothing done
    finally:
        first.close()
    assert fan_out(app.db, app.clock).fanned_out == 1


def test_a_receiver_down_then_back_gets_everything_once_and_lag_and_overdue_show_it(
    app: App, now_clock: FakeClock
) -> None:
    app.settings = replace(app.settings, delivery_overdue_seconds=120)  # receivers: 5 min window
    down = {"on": True}
    receivers = Receivers()
    secret = new_secret()
    lille = receivers.add(
        "lille", secret, answer=lambda n: 503 if down["on"] else 200, apply_then_fail=True
    )
    Processors(app.db, app.clock).add(None, "lille", webhook="http://lille.test/h", secret=secret)
    for number in ("0612345601", "0612345602", "0612345603"):
        _object(app, number)
    first = deliver(app, receivers)
    assert first["failed"] == 3 and first["delivered"] == 0
    assert deliver(app, receivers)["failed"] == 0  # backing off: nothing due yet
    now_clock.now += timedelta(seconds=app.settings.delivery_overdue_seconds + 1)
    overdue = _deliveries(app).overdue(None)
    assert len(overdue) == 3 and {o["why"] for o in overdue} == {
        "not delivered yet (last error: HTTP 503)"
    }
    [row] = _deliveries(app).lag(None)
    assert row["pending"] == 3 and row["overdue"] == 3 and row["delivery_lag_max_seconds"] is None
    down["on"] = False
    assert deliver(app, receivers)["delivered"] == 3
    # the receiver applied the first tries already (their answer was lost): the retries carried
    # the same webhook-id, so the application applied each opt-out exactly once
    assert len(lille.ids) == 6 and len(set(lille.ids)) == 3
    assert len(lille.applied) == 3
    [row] = _deliveries(app).lag(None)
    lag = app.settings.delivery_overdue_seconds + 1
    assert row["pending"] == 0 and row["delivery_lag_max_seconds"] == pytest.approx(lag)
    assert row["overdue"] == 3  # delivered, but not acknowledged yet
    for payload in lille.applied:
        _deliveries(app).acknowledge(None, payload["data"]["delivery"], "lille")
    assert _deliveries(app).overdue(None) == []
    [row] = _deliveries(app).lag(None)
    assert row["acknowledged"] == 3 and row["ack_lag_max_seconds"] == pytest.approx(lag)


def test_backoff_grows_and_a_410_disables_the_receiver_and_keeps_its_deliveries(
    app: App, now_clock: FakeClock
) -> None:
    app.settings = replace(app.settings, delivery_overdue_seconds=60)
    receivers = Receivers()
    secret = new_secret()
    lille = receivers.add("lille", secret, answer=lambda n: 410)
    processors = Processors(app.db, app.clock)
    processors.add(None, "lille", webhook="http://lille.test/h", secret=secret)
    _object(app, MARTIN)
    report = deliver(app, receivers)
    assert report["disabled"] == ["lille"]
    assert processors.get(None, "lille").webhook_disabled_at is not None
    now_clock.now += timedelta(seconds=100)
    assert deliver(app, receivers)["failed"] == 0 and lille.requests == 1  # not tried again
    [late] = _deliveries(app).overdue(None)
    assert late["why"].startswith("receiver disabled (410)")
    lille.answer = lambda n: 200
    processors.add(None, "lille", webhook="http://lille.test/h", secret=secret)
    assert deliver(app, receivers)["delivered"] == 1 and len(lille.applied) == 1


def test_two_dispatchers_deliver_each_opt_out_once(app: App, now_clock: FakeClock) -> None:
    receivers = Receivers()
    secret = new_secret()
    lille = receivers.add("lille", secret)
    Processors(app.db, app.clock).add(None, "lille", webhook="http://lille.test/h", secret=secret)
    for i in range(60):
        _object(app, f"06123456{i:02d}")

    async def both() -> None:
        one, two = dispatcher(app, receivers, batch=7), dispatcher(app, receivers, batch=5)
        await asyncio.gather(one.drain(), two.drain())

    asyncio.run(both())
    assert len(lille.ids) == 60 and len(set(lille.ids)) == 60


def test_a_receiver_that_hangs_holds_back_only_its_own_deliveries_and_stop_lands_them(
    app: App, now_clock: FakeClock
) -> None:
    receivers = Receivers()
    processors = Processors(app.db, app.clock)
    for name in ("slow", "lille"):
        secret = new_secret()
        receivers.add(name, secret)
        processors.add(None, name, webhook=f"http://{name}.test/h", secret=secret)
    for number in (MARTIN, DUPONT, "0612345603"):
        _object(app, number)
    slow, lille = receivers.by_host["slow.test"], receivers.by_host["lille.test"]

    async def until(condition: Callable[[], bool]) -> None:
        for _ in range(1000):  # bounded
            if condition():
                return
            await asyncio.sleep(0.01)

    async def scenario() -> None:
        release, stop, held = asyncio.Event(), asyncio.Event(), []
        answer = receivers.transport().handler  # type: ignore[attr-defined]

        async def handler(request: httpx.Request) -> httpx.Response:
            if request.url.host == "slow.test":
                held.append(request)
                await release.wait()
            return answer(request)  # type: ignore[no-any-return]

        sender = WebhookSender(5.0, transport=httpx.MockTransport(handler))
        d = Dispatcher(app.db, app.clock, app.settings, webhooks=sender)
        task = asyncio.create_task(d.run(stop, poll_seconds=0.01))
        await until(lambda: len(held) == 3 and len(lille.applied) == 3)
        _object(app, "0612345604")  # written while slow's three sends hang
        await until(lambda: len(lille.applied) == 4)
        assert len(lille.applied) == 4 and slow.requests == 0
        stop.set()  # with slow's sends in flight: they land before run returns
        release.set()
        await task
        await d.aclose()

    asyncio.run(scenario())
    assert slow.requests == len(slow.applied) >= 3
    with app.db.transaction() as cur:
        rows = cur.execute("SELECT state, lease_until FROM deliveries")
    assert sum(state == "delivered" for state, _ in rows) == 4 + len(slow.applied)
    assert {lease for _, lease in rows} == {None}  # nothing left leased at stop


def test_a_send_that_could_outlast_its_lease_is_not_made(app: App, now_clock: FakeClock) -> None:
    app.settings = replace(app.settings, delivery_lease_seconds=2)  # sends must start within 1 s
    receivers = Receivers()
    secret = new_secret()
    lille = receivers.add("lille", secret)
    Processors(app.db, app.clock).add(None, "lille", webhook="http://lille.test/h", secret=secret)
    _object(app, MARTIN)
    _object(app, DUPONT)

    async def scenario() -> dict[str, Any]:
        arrived, release = asyncio.Event(), asyncio.Event()
        answer = receivers.transport().handler  # type: ignore[attr-defined]

        async def handler(request: httpx.Request) -> httpx.Response:
            arrived.set()
            await release.wait()
            return answer(request)  # type: ignore[no-any-return]

        async def hold() -> None:  # the first send outlives the second one's deadline
            await arrived.wait()
            await asyncio.sleep(1.5)
            release.set()

        sender = WebhookSender(5.0, transport=httpx.MockTransport(handler))
        d = Dispatcher(app.db, app.clock, app.settings, webhooks=sender, concurrency=1)
        holding = asyncio.create_task(hold())
        report = await d.run_once()
        await holding
        await d.aclose()
        return report.to_dict()

    report = asyncio.run(scenario())
    assert report["delivered"] == 1 and report["failed"] == 0 and lille.requests == 1
    with app.db.transaction() as cur:
        rows = cur.execute("SELECT state, attempts, lease_until IS NULL FROM deliveries")
    # the other one was not sent and not settled: its lease lapses, then it is taken again
    assert sorted(rows) == [("delivered", 1, True), ("pending", 1, False)]


# -- violations --------------------------------------------------------------------------------


def _attempt(app: App, at: datetime, processor: str = "abidjan") -> None:
    app.register.record_attempt(
        principal=None,
        contact=MARTIN,
        channel=Channel.CALL,
        at=at,
        processor=processor,
        outcome=Outcome.ANSWERED,
    )


def test_an_attempt_after_delivery_or_grace_is_a_violation_with_its_delay(
    app: App, now_clock: FakeClock
) -> None:
    receivers = Receivers()
    Processors(app.db, app.clock).add(None, "abidjan", ["call"], feed=True)
    Processors(app.db, app.clock).add(None, "tunis", ["call"], feed=True)
    objected = now_clock.now
    _attempt(app, objected - timedelta(hours=1))  # before the objection: fine
    _object(app, MARTIN)
    _attempt(app, objected + timedelta(seconds=10))  # not delivered, inside the grace: fine
    assert list_violations(app.db, app.clock, None) == []
    deliver(app, receivers)
    now_clock.now += timedelta(seconds=20)
    _deliveries(app).changes(None, "abidjan", None)  # abidjan reads its feed: delivered
    _attempt(app, objected + timedelta(seconds=30))  # after its delivery: a violation
    _attempt(app, objected + timedelta(seconds=40), "tunis")  # tunis never read: still grace
    _attempt(app, objected + timedelta(hours=27, minutes=8), "tunis")  # after the grace
    found = list_violations(app.db, app.clock, None)
    assert [(v["processor"], v["delay_seconds"]) for v in found] == [
        ("abidjan", 30.0),
        ("tunis", 27 * 3600 + 8 * 60.0),
    ]
    assert found[0]["delivered_at"] is not None and found[1]["delivered_at"] is None
    assert found[1]["delay"] == "1 d 3 h 08 min"


def test_an_objection_on_another_channel_is_not_violated(app: App, now_clock: FakeClock) -> None:
    _object(app, MARTIN, "sms")
    _attempt(app, now_clock.now + timedelta(days=2))
    assert list_violations(app.db, app.clock, None) == []
