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

:class:`PermisAPI` sends the single check to this layer before FastAPI's own entry: FastAPI's
``__call__`` (its OpenTelemetry probe, three provider look-ups per request), Starlette's and the
exception-telemetry layer cost about 30 µs of a check's ~200 in process. The layer is then
wrapped in its own ``ServerErrorMiddleware`` with the application's 500 handler, so an
unexpected error still answers the one 500 body and is re-raised to the server.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, cast

from fastapi import FastAPI
from pydantic import ValidationError
from starlette.middleware.errors import ServerErrorMiddleware

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


class PermisAPI(FastAPI):
    """FastAPI, with ``GET /v1/decisions`` answered by :class:`SingleCheck` before FastAPI's
    entry when that layer is installed (``create_app`` installs it; a test may remove it)."""

    _hot: ASGIApp | None = None

    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        installed = any(cast(object, m.cls) is SingleCheck for m in self.user_middleware)
        handler = self.exception_handlers.get(Exception) or self.exception_handlers.get(500)
        self._hot = (
            ServerErrorMiddleware(SingleCheck(stack), handler=handler, debug=self.debug)
            if installed
            else None
        )
        return stack

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == PATH and scope["method"] == "GET":
            if self.middleware_stack is None:
                self.middleware_stack = self.build_middleware_stack()
            if self._hot is not None:
                if self.root_path:
                    scope["root_path"] = self.root_path
                scope["app"] = self
                await self._hot(scope, receive, send)
                return
        await super().__call__(scope, receive, send)
