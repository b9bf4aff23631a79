"""The propagation part of the demo: Choucroute's processors receive the objection.

Marketing, Lille and Tunis have webhooks; here they are in-process receivers (an httpx
transport, no network) that check each message's Standard Webhooks signature before applying it.
Abidjan has no endpoint: it reads the pull feed. NATS is not needed (the demo runs anywhere).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from permis.bootstrap import App
from permis.services.deliveries import Deliveries
from permis.services.processors import Processors
from permis.services.propagation import Dispatcher
from permis.services.violations import list_violations

Echo = Callable[[str], None]
PROCESSORS = (
    ("marketing", ["email", "sms"], True),
    ("lille", ["call"], True),
    ("tunis", ["call"], True),
    ("abidjan", ["call"], False),
)


@dataclass
class Receivers:
    """Webhook endpoints of the processors that have one, keyed by host."""

    clock: Callable[[], Any]
    secrets: dict[str, str] = field(default_factory=dict)
    arrived: dict[str, float] = field(default_factory=dict)
    bad: int = 0

    def transport(self) -> Any:
        import httpx

        from permis.adapters.webhooks import verify

        def handler(request: httpx.Request) -> httpx.Response:
            name = request.url.host.split(".")[0]
            now = int(self.clock().timestamp())
            if not verify(self.secrets[name], request.headers, request.read(), now):
                self.bad += 1
                return httpx.Response(401)
            self.arrived.setdefault(name, time.perf_counter())
            return httpx.Response(204)

        return httpx.MockTransport(handler)


def register(app: App, echo: Echo) -> Receivers:
    receivers = Receivers(app.clock)
    receivers.transport()  # loads httpx now, not on the clock of the delivery
    processors = Processors(app.db, app.clock)
    for name, channels, has_webhook in PROCESSORS:
        url = f"https://{name}.choucroute.example/optouts" if has_webhook else None
        done = processors.add(None, name, channels, webhook=url)
        if done.secret:
            receivers.secrets[name] = done.secret
        how = f"signed webhook {url}" if url else "the pull feed /v1/suppressions/changes"
        echo(f"processor {name:<10} may contact on {', '.join(channels):<11} opt-outs by {how}")
    return receivers


def propagate(app: App, echo: Echo, receivers: Receivers, committed: float) -> None:
    """Deliver the objection committed at ``committed`` (perf_counter) to every processor."""
    from permis.adapters.webhooks import WebhookSender

    async def run() -> dict[str, Any]:
        sender = WebhookSender(5.0, transport=receivers.transport())
        dispatcher = Dispatcher(app.db, app.clock, app.settings, webhooks=sender)
        try:
            return (await dispatcher.drain()).to_dict()
        finally:
            await dispatcher.aclose()

    report = asyncio.run(run())
    deliveries = Deliveries(app.db, app.clock, app.settings.delivery_overdue_seconds)
    page = deliveries.changes(None, "abidjan", None)  # Abidjan's poller reads its feed
    receivers.arrived["abidjan"] = time.perf_counter()
    echo(f"dispatcher: {report['delivered']} webhooks delivered, signatures checked by each")
    for name, _, has_webhook in PROCESSORS:
        ms = (receivers.arrived[name] - committed) * 1000
        form = "webhook" if has_webhook else f"feed ({len(page.changes)} change)"
        echo(f"  {name:<10} received it {ms:6.1f} ms after the commit, by {form}")
    slowest = max(receivers.arrived.values()) - committed
    echo(f"every processor had it {slowest * 1000:.0f} ms after the commit (target: 1 s)")


def report_violation(app: App, echo: Echo) -> None:
    for found in list_violations(app.db, app.clock, None):
        delivered = found["delivered_at"][:19] if found["delivered_at"] else "never"
        echo(
            f"VIOLATION  {found['processor']} {found['channel']} at {found['attempt_at'][:16]}: "
            f"{found['delay']} after the objection (delivered to it {delivered})"
        )
    echo("(`permis violations` lists them; `permis deliveries lag` shows each processor's lag)")
