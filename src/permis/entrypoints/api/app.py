"""The FastAPI application: one factory, one error handler, one router per resource.

``create_app(application)`` wraps an already built :class:`permis.bootstrap.App` (tests pass one
with a fake clock); ``permis serve`` builds it from the environment through :func:`from_env`.
Nothing is built at import time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from permis import __version__
from permis.bootstrap import App
from permis.entrypoints.api import decisions, errors, propagation, records, scrubs
from permis.entrypoints.api.auth import Guard
from permis.entrypoints.api.fast import PermisAPI, SingleCheck
from permis.entrypoints.web import agent, backoffice, public


def create_app(application: App, *, dispatch: bool = False) -> FastAPI:
    """``dispatch``: run the delivery dispatcher as a background task (``permis serve``)."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        from permis.services.propagation import Background, Dispatcher

        background = None
        if dispatch:
            settings = application.settings
            background = Background(Dispatcher(application.db, application.clock, settings))
        yield
        if background is not None:
            await background.close()

    api = PermisAPI(
        lifespan=lifespan,
        title="Permis",
        version=__version__,
        summary="Permission register and contact gate for outbound prospecting",
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    settings = application.settings
    rate = float(settings.rate_limit_per_second)
    api.state.permis = application
    api.state.guard = Guard(rate=rate, burst=float(settings.rate_limit_burst) or rate)
    errors.install(api)
    api.include_router(decisions.router)
    api.include_router(records.router)
    api.include_router(public.router)
    api.include_router(agent.router)
    api.include_router(backoffice.router)
    api.include_router(propagation.router)
    api.include_router(scrubs.router)
    api.state.scrub_jobs = scrubs.scrub_jobs(application)
    api.add_middleware(scrubs.UploadLimit, limit=settings.scrub_max_bytes)
    api.add_middleware(SingleCheck)  # the hot GET /v1/decisions, in front of FastAPI (fast.py)

    @api.get("/healthz", tags=["service"], summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return api


def from_env() -> FastAPI:
    """The application for ``uvicorn --factory`` (``permis serve`` uses it)."""
    import gc

    from permis.bootstrap import build

    application = build()
    api = create_app(application, dispatch=application.settings.dispatch_in_serve)
    gc.freeze()  # what startup built lives as long as the process: no collector passes over it
    return api
