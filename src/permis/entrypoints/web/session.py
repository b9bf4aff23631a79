"""Staff sign-in for browser pages (the agent screen, the back office): one mechanism.

The person signs in with their API key once; the key is kept in a session cookie that is
encrypted and signed (HttpOnly, SameSite=Strict, ``Secure`` when ``PERMIS_PUBLIC_URL`` is https,
limited to the page's path, eight hours). ``Authorization: Bearer`` works too, for tools. The
role is checked on every request by the page, so a revoked key stops working within seconds.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from fastapi import Request
from fastapi.responses import Response

from permis.adapters.inbound import open_session, seal_session
from permis.entrypoints.api.auth import Guard, caller, permis_app
from permis.services.intake import Intake
from permis.services.keys import KeyInfo

SESSION_SECONDS = 8 * 3600


def csrf_token(key: bytes, cookie: str) -> str:
    """A form token derived from the session cookie (no cross-site posts)."""
    return hmac.new(key, b"csrf:" + cookie.encode(), hashlib.sha256).hexdigest()[:32]


def authenticate(request: Request, key: str) -> KeyInfo:
    """The key's :class:`KeyInfo` (rate limited like the API); :class:`PermisError` if refused."""
    guard: Guard = request.app.state.guard
    info = guard.authenticate(permis_app(request), key)
    guard.spend(info.key_id)
    return info


def signed_in(request: Request, service: Intake, cookie: str) -> tuple[KeyInfo, str | None] | None:
    """The caller and the form token (None with a Bearer header: no ambient cookie), or None when
    nobody is signed in; :class:`PermisError` for a refused key. Roles are the page's business."""
    if request.headers.get("authorization"):
        return caller(request), None
    value = request.cookies.get(cookie)
    if not value:
        return None
    session = service.session_key()
    key = open_session(session, value, int(time.time()))
    if key is None:
        return None
    return authenticate(request, key), csrf_token(session, value)


def start_session(
    response: Response, service: Intake, cookie: str, path: str, key: str, session: bytes
) -> None:
    """Set the sealed session cookie holding ``key`` on ``response``, limited to ``path``."""
    response.set_cookie(
        cookie,
        seal_session(session, key, int(time.time()) + SESSION_SECONDS),
        max_age=SESSION_SECONDS,
        path=path,
        httponly=True,
        samesite="strict",
        secure=service.settings.public_url.startswith("https://"),
    )


def end_session(response: Response, cookie: str, path: str) -> None:
    response.delete_cookie(cookie, path=path, httponly=True, samesite="strict")
