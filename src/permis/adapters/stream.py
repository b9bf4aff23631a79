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

import contextlib
import re
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

    async def _jetstream(self) -> Any:
        if self._js is None or self._nc is None or self._nc.is_closed:
            import nats

            self._nc = await nats.connect(
                self.url,
                connect_timeout=int(max(1, self.timeout)),
                max_reconnect_attempts=2,
                allow_reconnect=True,
            )
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
