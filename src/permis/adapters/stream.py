"""NATS JetStream publisher for opt-outs (nats-py, the NATS project's own asyncio client).

Each delivery is published on the processor's subject with ``Nats-Msg-Id`` = the delivery's id,
so JetStream drops a re-publication of the same delivery inside its duplicate window (two
minutes by default): a dispatcher that crashes between the publish and its own bookkeeping
does not make the subscriber apply the opt-out twice (and applying one twice is harmless anyway).

The stream that holds a subject is created on first use when none exists (``PERMIS_`` + the
subject with dots as underscores, file storage). The connection is opened lazily: a register
without stream processors never touches NATS, and a NATS server that is down makes deliveries
retry, never the dispatcher fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from typing import Any

from permis.adapters.webhooks import SendResult

SUBJECT = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")
MAX_SUBJECT = 200


def valid_subject(subject: str) -> bool:
    """A publishable subject: dot-separated tokens of letters, digits, ``_`` and ``-``; no
    wildcard (``*``, ``>``), no space, no empty token."""
    return len(subject) <= MAX_SUBJECT and SUBJECT.fullmatch(subject) is not None


def stream_name(subject: str) -> str:
    return "PERMIS_" + subject.replace(".", "_").replace("-", "_").upper()


class StreamPublisher:
    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.url = url
        self.timeout = timeout
        self._nc: Any = None
        self._js: Any = None
        self._ready: set[str] = set()
        self._lock: asyncio.Lock | None = None
        self._failed_until = 0.0

    async def _jetstream(self) -> Any:
        """One connection for all concurrent publishes; after a failed connect, fail fast for
        a second (a pass of hundreds of deliveries must not try hundreds of connections)."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._js is not None and self._nc is not None and not self._nc.is_closed:
                return self._js
            if time.monotonic() < self._failed_until:
                raise ConnectionError("NATS unreachable (recent failure)")
            import nats

            try:
                self._nc = await nats.connect(
                    self.url,
                    connect_timeout=int(max(1, self.timeout)),
                    max_reconnect_attempts=1,
                    reconnect_time_wait=0.5,
                )
            except Exception:
                self._failed_until = time.monotonic() + 1.0
                raise
            self._js = self._nc.jetstream(timeout=self.timeout)
            self._ready.clear()
            return self._js

    async def _ensure_stream(self, js: Any, subject: str) -> None:
        if subject in self._ready:
            return
        from nats.js.errors import NotFoundError

        try:
            await js.find_stream_name_by_subject(subject)
        except NotFoundError:
            await js.add_stream(name=stream_name(subject), subjects=[subject])
        self._ready.add(subject)

    async def publish(self, subject: str, msg_id: str, body: bytes) -> SendResult:
        try:
            js = await self._jetstream()
            await self._ensure_stream(js, subject)
            await js.publish(subject, body, timeout=self.timeout, headers={"Nats-Msg-Id": msg_id})
        except Exception as exc:  # any failure of the server or the link: retry later
            await self._drop()
            return SendResult(False, error=f"NATS {type(exc).__name__}")
        return SendResult(True)

    async def _drop(self) -> None:
        nc, self._nc, self._js = self._nc, None, None
        if nc is not None:
            with contextlib.suppress(Exception):  # closing a broken link: nothing left to do
                await nc.close()

    async def aclose(self) -> None:
        await self._drop()
