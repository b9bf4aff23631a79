"""Who is calling: ``Authorization: Bearer KEY`` → :class:`KeyInfo`, then role and rate checks.

Use ``Depends(require(Role.CAMPAIGN, Role.PROCESSOR))`` on a route; ``admin`` may use every route.
A processor key acts only as its own processor (:func:`acting_processor`). Authenticated keys are
cached for a few seconds per process (a revoked key stops working within ``CACHE_SECONDS``), and
each key has a token bucket when ``PERMIS_RATE_LIMIT_PER_SECOND`` is set.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from fastapi import Request

from permis.bootstrap import App
from permis.errors import Forbidden, ProcessorNotAuthorized, RateLimited, Unauthorized
from permis.services.keys import KeyInfo, Role

CACHE_SECONDS = 5.0


def permis_app(request: Request) -> App:
    """The :class:`App` the API was built around."""
    application: App = request.app.state.permis
    return application


async def the_app(request: Request) -> App:
    """:func:`permis_app` as an ``async`` dependency: FastAPI runs plain ``def`` dependencies
    in its thread pool, a hop that costs the single check much of its throughput."""
    return permis_app(request)


@dataclass
class _Bucket:
    tokens: float
    stamp: float


@dataclass
class Guard:
    """Per-process cache of authenticated keys and rate buckets."""

    rate: float = 0.0
    burst: float = 0.0
    cache: dict[str, tuple[float, KeyInfo]] = field(default_factory=dict)
    buckets: dict[str, _Bucket] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def authenticate(self, application: App, key: str) -> KeyInfo:
        digest = hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()
        now = time.monotonic()
        hit = self.cache.get(digest)
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            return hit[1]
        info = application.keys.authenticate(key)
        self.cache[digest] = (now, info)
        return info

    def spend(self, key_id: str) -> None:
        if self.rate <= 0:
            return
        now = time.monotonic()
        with self.lock:
            bucket = self.buckets.setdefault(key_id, _Bucket(self.burst, now))
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
            bucket.stamp = now
            if bucket.tokens < 1:
                raise RateLimited(f"more than {self.rate:g} requests per second for this key")
            bucket.tokens -= 1


def caller(request: Request) -> KeyInfo:
    """The authenticated key of the request (401 when missing, malformed, unknown, revoked)."""
    return authorised(request.app.state.guard, permis_app(request), request.headers)


def authorised(guard: Guard, application: App, headers: Mapping[str, str]) -> KeyInfo:
    """:func:`caller` on the request's headers alone (the single check's ASGI route has no
    ``Request``): ``headers.get("authorization")``, then the key cache and the rate bucket."""
    header = headers.get("authorization") or ""
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized("missing API key: send Authorization: Bearer KEY")
    info = guard.authenticate(application, key.strip())
    guard.spend(info.key_id)
    return info


def require(*roles: Role) -> Callable[[Request], Awaitable[KeyInfo]]:
    """A dependency admitting ``roles`` (and ``admin``); 403 ``FORBIDDEN`` for any other role."""
    allowed = frozenset(roles) | {Role.ADMIN}
    names = ", ".join(sorted(r.value for r in allowed))

    async def dependency(request: Request) -> KeyInfo:  # async: see the_app
        info = caller(request)
        if info.role not in allowed:
            raise Forbidden(f"role {info.role.value} may not use this route (allowed: {names})")
        return info

    return dependency


def acting_processor(info: KeyInfo, asked: str | None) -> str | None:
    """The processor a request acts as: a processor key acts only as itself."""
    if info.role is not Role.PROCESSOR:
        return asked
    if asked is not None and asked != info.processor:
        raise ProcessorNotAuthorized("this key may only act as its own processor")
    return info.processor


def principal_of(info: KeyInfo, asked: str | None) -> str:
    """Keys belong to one principal: asking for another one is refused."""
    if asked is not None and asked != info.principal:
        raise ProcessorNotAuthorized("this key may not act for that principal")
    return info.principal
