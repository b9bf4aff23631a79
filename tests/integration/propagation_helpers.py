"""Receivers for propagation tests: in-process webhook endpoints that check signatures with the
``standardwebhooks`` library, as a processor's server would, and apply each message once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from permis.bootstrap import App
from permis.services.propagation import Dispatcher


@dataclass
class Receiver:
    """One processor's webhook: verifies, then applies idempotently on ``webhook-id``.

    ``answer`` decides the HTTP status per request (default 200); a status >= 500 after
    ``apply_then_fail`` simulates a receiver that applied the message but lost its answer.
    """

    secret: str
    answer: Callable[[int], int] = lambda n: 200
    apply_then_fail: bool = False
    requests: int = 0
    bad_signatures: int = 0
    applied: list[dict[str, Any]] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    ids: list[str] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        body = request.read()
        try:
            payload = Webhook(self.secret).verify(body, dict(request.headers))
        except WebhookVerificationError:
            self.bad_signatures += 1
            return httpx.Response(401)
        status = self.answer(self.requests)
        msg_id = request.headers["webhook-id"]
        self.ids.append(msg_id)
        if (status < 300 or self.apply_then_fail) and msg_id not in self.seen:
            self.seen.add(msg_id)
            self.applied.append(payload)
        return httpx.Response(status)


class Receivers:
    """Routes by host: ``http://NAME.test/hook`` goes to ``receivers[NAME]``."""

    def __init__(self) -> None:
        self.by_host: dict[str, Receiver] = {}

    def add(self, name: str, secret: str, **kwargs: Any) -> Receiver:
        receiver = Receiver(secret, **kwargs)
        self.by_host[f"{name}.test"] = receiver
        return receiver

    def transport(self) -> httpx.MockTransport:
        def handler(request: httpx.Request) -> httpx.Response:
            receiver = self.by_host.get(request.url.host)
            if receiver is None:
                raise httpx.ConnectError("no such host", request=request)
            return receiver.handle(request)

        return httpx.MockTransport(handler)


def dispatcher(app: App, receivers: Receivers, **kwargs: Any) -> Dispatcher:
    from permis.adapters.webhooks import WebhookSender

    sender = WebhookSender(5.0, transport=receivers.transport())
    return Dispatcher(app.db, app.clock, app.settings, webhooks=sender, **kwargs)


def drain(d: Dispatcher) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        try:
            return (await d.drain()).to_dict()
        finally:
            await d.aclose()

    return asyncio.run(run())


def deliver(app: App, receivers: Receivers, **kwargs: Any) -> dict[str, Any]:
    """One ``permis dispatch --once`` against in-process receivers."""
    return drain(dispatcher(app, receivers, **kwargs))


def contacts(receiver: Receiver) -> list[str]:
    return [str(p["data"]["contact"]) for p in receiver.applied]
