"""Delivery to the real NATS JetStream server (PERMIS_NATS_URL, default 127.0.0.1:4222).

The server must be running (``.ci/run`` starts it): this test fails, never skips, without it.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from permis.adapters.stream import stream_name
from permis.bootstrap import App
from permis.domain.model import Source
from permis.services.processors import Processors
from permis.services.propagation import Dispatcher


def _drain(app: App) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        dispatcher = Dispatcher(app.db, app.clock, app.settings)
        try:
            return (await dispatcher.drain()).to_dict()
        finally:
            await dispatcher.aclose()

    return asyncio.run(run())


async def _read_all(url: str, subject: str) -> list[Any]:
    import nats

    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(stream_name(subject))
        sub = await js.pull_subscribe(subject, durable=None)
        messages = await sub.fetch(batch=info.state.messages + 5, timeout=2)
        for msg in messages:
            await msg.ack()
        return list(messages)
    finally:
        await nc.close()


async def _delete(url: str, subject: str) -> None:
    import nats

    nc = await nats.connect(url)
    try:
        await nc.jetstream().delete_stream(stream_name(subject))
    finally:
        await nc.close()


def test_opt_outs_arrive_on_the_subject_once_per_message_id_in_order_per_contact(
    app: App,
) -> None:
    subject = f"permis.test.{uuid.uuid4().hex[:12]}"
    url = app.settings.nats_url
    Processors(app.db, app.clock).add(None, "lille", ["call", "sms"], stream=subject)
    for contact, channel in (("0612345678", "call"), ("0781234567", "all"), ("0612345678", "sms")):
        app.register.record_objection(
            principal=None, contact=contact, source=Source.AGENT, channel=channel
        )
    try:
        first = _drain(app)
        assert first["delivered"] == 3 and first["failed"] == 0
        # a dispatcher that crashed after publishing, before its bookkeeping, publishes again
        with app.db.transaction(write=True) as cur:
            cur.execute("UPDATE deliveries SET state = 'pending', delivered_at = NULL")
        assert _drain(app)["delivered"] == 3
        messages = asyncio.run(_read_all(url, subject))
    finally:
        asyncio.run(_delete(url, subject))
    assert len(messages) == 3  # JetStream dropped the three re-publications (Nats-Msg-Id)
    bodies = [json.loads(m.data) for m in messages]
    ids = [m.headers["Nats-Msg-Id"] for m in messages]
    assert ids == [b["data"]["delivery"] for b in bodies] and len(set(ids)) == 3
    martin = [b["data"]["channel"] for b in bodies if b["data"]["contact"] == "+33612345678"]
    assert martin == ["call", "sms"]


def test_a_nats_server_that_is_down_makes_deliveries_retry(app: App) -> None:
    from dataclasses import replace

    app.settings = replace(app.settings, nats_url="nats://127.0.0.1:1")
    Processors(app.db, app.clock).add(None, "lille", stream="permis.test.down")
    app.register.record_objection(principal=None, contact="0612345678", source=Source.AGENT)
    report = _drain(app)
    assert report["delivered"] == 0 and report["failed"] == 1
    with app.db.transaction() as cur:
        [(state, error)] = cur.execute("SELECT state, last_error FROM deliveries")
    assert state == "pending" and error.startswith("NATS ")
