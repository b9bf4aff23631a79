"""Propagation (DESIGN.md 4.5): every opt-out reaches every processor concerned, at least once,
in order per contact, and each processor acknowledges.

1. **Fan-out**: each outbox row (written with its objection, in the same transaction) becomes one
   delivery per active processor whose channels it concerns, per form (webhook, stream, feed,
   file). One fan-out runs at a time (advisory lock on PostgreSQL, the write lock on SQLite), so
   delivery ids follow the outbox order.
2. **Push** (webhook, stream): a dispatcher *leases* due deliveries (``FOR UPDATE SKIP LOCKED``
   on PostgreSQL, so several processes share the work; a crashed one's leases lapse), sends them
   concurrently, then settles: delivered, or retried later with exponential backoff and jitter.
   Only the oldest pending delivery of a contact per processor and form is ever due: a contact's
   later opt-out never overtakes an earlier one. A receiver answering 410 is disabled and
   reported; its deliveries stay pending until it is registered again.
3. Nothing is parked silently: a delivery not acknowledged ``delivery_overdue_seconds`` after its
   opt-out was committed is listed as overdue, with its tries and last error.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from permis.adapters.db import instants, outbound
from permis.adapters.db.database import Cursor, Database
from permis.adapters.webhooks import SendResult
from permis.config import Settings
from permis.domain.events import EventType
from permis.domain.model import ALL
from permis.services.processors import forms_of

log = logging.getLogger("permis.propagation")
Clock = Callable[[], datetime]
US = 1_000_000
BACKOFF_BASE_SECONDS = 1.0
LAND_SECONDS = 0.25  # the longest a step waits for its sends before settling those landed
SHORT_WAIT = 0.1
EVENT_NAMES = {
    EventType.OBJECTION_RECORDED.value: "objection.recorded",
    EventType.CONSENT_WITHDRAWN.value: "consent.withdrawn",
    EventType.REFUSAL_RECORDED.value: "refusal.recorded",
    EventType.ATTEMPT_RECORDED.value: "refusal.recorded",  # an attempt whose outcome is refused
}


def backoff_seconds(attempts: int, cap: float, rng: Callable[[], float] = random.random) -> float:
    """Exponential backoff with jitter: 1, 2, 4 ... seconds (capped), each times 0.5 to 1."""
    ceiling = min(cap, BACKOFF_BASE_SECONDS * 2.0 ** max(0, attempts - 1))
    return ceiling * (0.5 + rng() / 2)


def event_channel(event_type: str, data: dict[str, Any]) -> str:
    """The channel an opt-out concerns (a refusal is said during a call)."""
    return str(data.get("channel") or ("call" if event_type != "ObjectionRecorded" else ALL))


def concerns(scope: str, channel: str) -> bool:
    return ALL in (channel, scope) or channel in scope.split(",")


def message(uid: str, payload: dict[str, Any], now: datetime) -> bytes:
    """The body sent to a processor (Standard Webhooks' ``type``, ``timestamp``, ``data``)."""
    data = payload["data"]
    body = {
        "type": EVENT_NAMES.get(payload["event_type"], payload["event_type"]),
        "timestamp": now.isoformat(),
        "data": {
            "delivery": uid,
            "principal": payload["principal"],
            "event_id": payload["event_id"],
            "event_type": payload["event_type"],
            "contact": payload["contact"],
            "contact_hash": payload["contact_hash"],
            "channel": event_channel(payload["event_type"], data),
            "purpose": data.get("purpose", ALL),
            "source": data.get("source"),
            "processor": data.get("processor"),
            "occurred_at": instants.from_us(payload["occurred_at"]).isoformat(),
            "recorded_at": instants.from_us(payload["recorded_at"]).isoformat(),
        },
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass
class Report:
    """What one dispatch pass did."""

    fanned_out: int = 0
    deliveries_created: int = 0
    delivered: int = 0
    failed: int = 0
    disabled: list[str] = field(default_factory=list)

    def add(self, other: Report) -> None:
        self.fanned_out += other.fanned_out
        self.deliveries_created += other.deliveries_created
        self.delivered += other.delivered
        self.failed += other.failed
        self.disabled += [d for d in other.disabled if d not in self.disabled]

    def to_dict(self) -> dict[str, Any]:
        return {
            "fanned_out": self.fanned_out,
            "deliveries_created": self.deliveries_created,
            "delivered": self.delivered,
            "failed": self.failed,
            "disabled": self.disabled,
        }


def fan_out(db: Database, clock: Clock, limit: int = 2000) -> Report:
    """Turn pending outbox rows into deliveries (one transaction)."""
    report = Report()
    with db.transaction() as cur:  # idle polls take no write lock
        if not outbound.has_pending_outbox(cur):
            return report
    with db.transaction(write=True) as cur:
        if not outbound.lock_fanout(cur, db.dialect):
            return report
        rows = outbound.pending_outbox(cur, limit)
        if not rows:
            return report
        now = instants.to_us(clock())
        processors = outbound.active_processors(cur, sorted({int(r[1]) for r in rows}))
        new = []
        for oid, principal_id, _, contact, created, kind, data in rows:
            channel = event_channel(str(kind), json.loads(data))
            for p in processors:
                if int(p[11]) != int(principal_id) or not concerns(str(p[2]), channel):
                    continue
                for form in forms_of(p[4], p[6], bool(p[7]), p[8]):
                    row = _delivery(oid, principal_id, p[0], form.value, contact, created, now)
                    new.append(row)
        outbound.insert_deliveries(cur, new)
        outbound.mark_dispatched(cur, [int(r[0]) for r in rows], now)
        report.fanned_out, report.deliveries_created = len(rows), len(new)
    return report


def _delivery(
    oid: int, principal_id: int, pid: int, form: str, contact: str, created: int, now: int
) -> dict[str, Any]:
    return {
        "uid": outbound.new_uid(),
        "p": principal_id,
        "o": oid,
        "x": pid,
        "form": form,
        "c": contact,
        "t": created,
        "now": now,
    }


class Dispatcher:
    """Fans out, then pushes due deliveries to webhooks and NATS, and settles the results.

    ``webhooks`` and ``stream`` are built from the settings when not given (tests and the demo
    pass in-process receivers). Safe with several dispatchers on one register.
    """

    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: Settings,
        *,
        webhooks: Any = None,
        stream: Any = None,
        batch: int = 100,
        concurrency: int = 16,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.db, self.clock, self.settings = db, clock, settings
        self._webhooks, self._stream = webhooks, stream
        self.batch, self.rng = batch, rng
        self.concurrency = concurrency  # sends in flight per processor
        self._slots: dict[int, asyncio.Semaphore] = {}
        self._flight: dict[asyncio.Task[SendResult | None], outbound.Job] = {}

    def _webhook_sender(self) -> Any:
        if self._webhooks is None:
            from permis.adapters.webhooks import WebhookSender

            timeout = float(self.settings.webhook_timeout_seconds)
            self._webhooks = WebhookSender(timeout, connections=self.concurrency)
        return self._webhooks

    def _publisher(self) -> Any:
        if self._stream is None:
            from permis.adapters.stream import StreamPublisher

            self._stream = StreamPublisher(self.settings.nats_url)
        return self._stream

    def claim(self, held: Counter[int] | None = None) -> list[outbound.Job]:
        """Up to ``batch`` due deliveries, leased; no processor gets more than ``batch`` in
        flight, counting the ``held`` ones (a slow receiver holds its own deliveries, not the
        others')."""
        lease = self.settings.delivery_lease_seconds * US
        now = instants.to_us(self.clock())
        with self.db.transaction() as cur:  # idle polls take no write lock
            if not outbound.has_due(cur, now):
                return []
        with self.db.transaction(write=True) as cur:
            dialect, n = self.db.dialect, self.batch
            return outbound.claim(cur, dialect, now, lease, n, held, n)

    async def _send(self, job: outbound.Job, deadline: float) -> SendResult | None:
        """Send once a slot of the job's processor is free; ``None`` (not sent, not settled:
        its lease lapses and it is taken again) if the lease might run out during the send."""
        slots = self._slots.setdefault(job.processor_id, asyncio.Semaphore(self.concurrency))
        async with slots:
            if time.monotonic() > deadline:
                return None
            try:
                return await self._send_now(job)
            except Exception as exc:  # an adapter's surprise is a failed try, retried
                return SendResult(False, error=type(exc).__name__)

    async def _send_now(self, job: outbound.Job) -> SendResult:
        now = self.clock()
        body = message(job.uid, job.payload, now)
        if job.form == "webhook":
            sender = self._webhook_sender()
            return await sender.send(  # type: ignore[no-any-return]
                job.target, job.secret or "", job.uid, int(now.timestamp()), body
            )
        return await self._publisher().publish(job.target, job.uid, body)  # type: ignore[no-any-return]

    def settle(self, jobs: list[outbound.Job], results: list[SendResult]) -> Report:
        report = Report()
        now = self.clock()
        now_us = instants.to_us(now)
        cap = float(self.settings.delivery_max_backoff_seconds)
        with self.db.transaction(write=True) as cur:
            done = [j.id for j, r in zip(jobs, results, strict=True) if r.ok]
            outbound.mark_delivered(cur, done, now_us)
            report.delivered = len(done)
            for job, result in zip(jobs, results, strict=True):
                if result.ok:
                    continue
                report.failed += 1
                wait = backoff_seconds(job.attempts, cap, self.rng)
                error = result.error or "failed"
                outbound.mark_retry(cur, job.id, now_us + int(wait * US), error)
                if result.gone:
                    _disable(cur, job, now_us, report)
        return report

    async def step(self, wait: float | None) -> Report:
        """Fan out; lease due deliveries and start sending them; wait up to ``wait`` seconds
        (``None``: until all have landed) and settle what has landed, in one transaction.
        Sends still in flight stay for the next step, so a slow receiver does not hold back
        the others. Never raises for a receiver's failure (those are retried)."""
        held = Counter(job.processor_id for job in self._flight.values())
        report, jobs = await asyncio.to_thread(self._take, held)
        lease = float(self.settings.delivery_lease_seconds)
        margin = min(self.settings.webhook_timeout_seconds + 1.0, lease / 2)
        deadline = time.monotonic() + lease - margin
        if self._webhooks is None and any(job.form == "webhook" for job in jobs):
            await asyncio.to_thread(self._webhook_sender)  # its import would stall the loop
        for job in jobs:
            self._flight[asyncio.create_task(self._send(job, deadline))] = job
        report.add(await self._settle_landed(wait))
        return report

    def _take(self, held: Counter[int]) -> tuple[Report, list[outbound.Job]]:
        """Fan-out and lease in one trip to a worker thread (an idle poll is mostly that trip
        and the wait: the two reads themselves take about 16 µs on SQLite)."""
        return fan_out(self.db, self.clock), self.claim(held)

    async def _settle_landed(self, wait: float | None) -> Report:
        if not self._flight:
            return Report()
        landed, _ = await asyncio.wait(self._flight, timeout=wait)
        sent = [(self._flight.pop(t), t.result()) for t in landed]
        settled = [(job, result) for job, result in sent if result is not None]
        if not settled:
            return Report()
        jobs, results = [job for job, _ in settled], [result for _, result in settled]
        return await asyncio.to_thread(self.settle, jobs, results)

    async def run_once(self) -> Report:
        """One pass: fan out what is new, push what is due, settle all of it."""
        return await self.step(None)

    async def drain(self, max_passes: int = 10_000) -> Report:
        """Passes until nothing is due now (``permis dispatch --once``)."""
        total = Report()
        for _ in range(max_passes):
            report = await self.run_once()
            total.add(report)
            if not report.fanned_out and not (report.delivered + report.failed):
                break
        return total

    async def run(self, stop: asyncio.Event, poll_seconds: float = 0.05) -> None:
        """Until ``stop``: loop at once while there is work, else wait ``poll_seconds``."""
        while not stop.is_set():
            try:
                report = await self.step(max(poll_seconds, LAND_SECONDS))
            except Exception as exc:  # the database away for a moment: try again later
                log.warning("dispatch pass failed: %s", type(exc).__name__)
                report = Report()
                await _wait(stop, 1.0)
            if report.fanned_out or report.delivered or report.failed or self._flight:
                continue  # a step with sends still in flight has waited LAND_SECONDS already
            await _wait(stop, poll_seconds)
        await self._land()

    async def _land(self) -> None:
        """At stop: let the sends in flight finish and settle them (their leases would lapse
        otherwise, and they would be sent again after the lease)."""
        try:
            await self._settle_landed(None)
        except Exception as exc:  # the database away: the leases lapse, they go out again
            log.warning("settling at stop failed: %s", type(exc).__name__)

    async def aclose(self) -> None:
        for adapter in (self._webhooks, self._stream):
            if adapter is not None:
                await adapter.aclose()


def _disable(cur: Cursor, job: outbound.Job, now_us: int, report: Report) -> None:
    outbound.disable_webhook(cur, job.processor_id, "receiver answered 410 Gone", now_us)
    if job.processor not in report.disabled:
        report.disabled.append(job.processor)
    log.warning("webhook of processor %s answered 410: disabled, deliveries kept", job.processor)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    """Wait ``seconds`` or until ``stop``; a short wait is a plain sleep (``wait_for`` costs a
    task and a timer per poll), so a stop is seen at most ``SHORT_WAIT`` late."""
    if seconds <= SHORT_WAIT:
        await asyncio.sleep(seconds)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


class Background:
    """The dispatcher as a task of a running event loop (``permis serve``'s lifespan)."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(dispatcher.run(self.stop), name="permis-dispatcher")

    async def close(self) -> None:
        self.stop.set()
        await self.task
        await self.dispatcher.aclose()
