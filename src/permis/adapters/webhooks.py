"""Signed HTTP delivery in the Standard Webhooks form (https://www.standardwebhooks.com).

Each message carries three headers: ``webhook-id`` (the delivery's id, the same on every retry:
receivers de-duplicate on it), ``webhook-timestamp`` (Unix seconds) and ``webhook-signature``
(``v1,`` + base64 of HMAC-SHA256 over ``id.timestamp.body``, keyed with the decoded bytes of the
``whsec_`` secret). The signing is written here in a few lines; the tests check it with the
specification's own ``standardwebhooks`` library, as a receiver would.

httpx sends (async, one pooled client per dispatcher). An answer 2xx is a delivery, 410 Gone
means the receiver asks to be disabled, anything else (or a timeout) is retried later.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix of the form, not a secret


@dataclass(frozen=True, slots=True)
class SendResult:
    """What became of one try: delivered, gone (410: disable the receiver), or to retry."""

    ok: bool
    gone: bool = False
    error: str | None = None


def secret_bytes(secret: str) -> bytes:
    """The key of a ``whsec_`` secret (its base64 part, decoded)."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    mac = hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


def signed_headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, msg_id, timestamp, body),
        "content-type": "application/json",
    }


def verify(
    secret: str, headers: Mapping[str, str], body: bytes, now: int, tolerance: int = 300
) -> bool:
    """A receiver's check (used by the demo's in-process receivers): signature and freshness."""
    try:
        msg_id = headers["webhook-id"]
        timestamp = int(headers["webhook-timestamp"])
        sent = headers["webhook-signature"].split()
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, msg_id, timestamp, body)
    return any(hmac.compare_digest(expected, s) for s in sent)


class WebhookSender:
    """One pooled async HTTP client; ``transport`` lets tests and the demo plug receivers in."""

    def __init__(self, timeout: float, transport: Any = None, connections: int = 16) -> None:
        import httpx

        self._client = httpx.AsyncClient(
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        )

    async def send(
        self, url: str, secret: str, msg_id: str, timestamp: int, body: bytes
    ) -> SendResult:
        import httpx

        headers = signed_headers(secret, msg_id, timestamp, body)
        try:
            response = await self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return SendResult(False, error=type(exc).__name__)
        if 200 <= response.status_code < 300:
            return SendResult(True)
        if response.status_code == 410:
            return SendResult(False, gone=True, error="HTTP 410 Gone")
        return SendResult(False, error=f"HTTP {response.status_code}")

    async def aclose(self) -> None:
        await self._client.aclose()
