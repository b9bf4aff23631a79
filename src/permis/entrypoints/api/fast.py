"""The single check, answered in front of FastAPI: a plain ASGI layer for ``GET /v1/decisions``.

A dialer asks before every call, so this route's cost is the API's. Through FastAPI it cost
about 250 µs of server CPU besides the check itself (the ``Request``, routing through every
route's pattern, the endpoint's machinery, ``Response``); this layer reads the ASGI scope
directly and sends the two response messages itself. What it answers is what the documented
FastAPI route answers (the same :func:`decisions.single_check`: key cache and rate bucket, the
role from ``ROUTE_ROLES``, the query validated by ``DecisionRequest``), with the one error body:
401/403/429 from the ``PermisError``, 422 ``USAGE_ERROR`` from the validation, and anything
unexpected left to the application's 500 handler (this layer sits inside Starlette's
``ServerErrorMiddleware``). Every other request goes on to FastAPI untouched.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from pydantic import ValidationError

from permis.entrypoints.api.decisions import single_check
from permis.entrypoints.api.errors import error_response, validation_message
from permis.errors import PermisError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PATH = "/v1/decisions"
_JSON = [(b"content-type", b"application/json")]


class _Headers(dict[str, str]):
    """The request headers by lower-case name, the first of a repeated one (as Starlette's
    ``Headers.get``), decoded as latin-1 (as Starlette)."""

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        super().__init__()
        for name, value in raw:
            self.setdefault(name.decode("latin-1"), value.decode("latin-1"))


class SingleCheck:
    """ASGI middleware answering ``GET /v1/decisions``; ``create_app`` installs it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        try:
            body = single_check(state.permis, state.guard, _Headers(scope["headers"]), scope)
        except PermisError as error:
            await error_response(error.http_status, error.code, error.message)(scope, receive, send)
            return
        except ValidationError as error:
            message = validation_message(error.errors())
            await error_response(422, "USAGE_ERROR", message)(scope, receive, send)
            return
        headers = [(b"content-length", str(len(body)).encode("latin-1")), *_JSON]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
