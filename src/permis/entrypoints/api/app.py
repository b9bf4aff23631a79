"""The FastAPI application: one factory, one error handler, one router per resource.

``create_app(application)`` wraps an already built :class:`permis.bootstrap.App` (tests pass one
with a fake clock); ``permis serve`` builds it from the environment through :func:`from_env`.
Nothing is built at import time.
"""

from __future__ import annotations

from fastapi import FastAPI

from permis import __version__
from permis.bootstrap import App
from permis.entrypoints.api import decisions, errors, records, scrubs
from permis.entrypoints.api.auth import Guard


def create_app(application: App) -> FastAPI:
    api = FastAPI(
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
    api.include_router(scrubs.router)
    api.state.scrub_jobs = scrubs.scrub_jobs(application)
    api.add_middleware(scrubs.UploadLimit, limit=settings.scrub_max_bytes)

    @api.get("/healthz", tags=["service"], summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return api


def from_env() -> FastAPI:
    """The application for ``uvicorn --factory`` (``permis serve`` uses it)."""
    import gc

    from permis.bootstrap import build

    api = create_app(build())
    gc.freeze()  # what startup built lives as long as the process: no collector passes over it
    return api
