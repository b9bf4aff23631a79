"""``/v1/scrubs``: upload a campaign file, poll the job, download the allowed rows and rejects.

The file goes in a multipart form (field ``file``) with the ``scrub`` options as form fields; the
answer is ``202`` with the job. The job runs in a background thread of the serving process
(``services.scrub_jobs``); ``GET /v1/scrubs/{id}`` shows its state, progress and, once done, the
summary of DESIGN.md 4.3. A processor key scrubs as its own processor and sees only its own jobs.
Files larger than ``PERMIS_SCRUB_MAX_BYTES`` are refused with ``413`` before they are read when
the request says its length, and while they are copied otherwise.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from permis.bootstrap import App
from permis.domain.model import DEFAULT_PURPOSE, Audience, Channel, Sector
from permis.entrypoints.api.auth import acting_processor, permis_app
from permis.entrypoints.api.common import aware
from permis.entrypoints.api.roles import guard
from permis.services.keys import KeyInfo
from permis.services.scrub import ScrubRequest
from permis.services.scrub_jobs import (
    MEDIA_TYPES,
    Owner,
    ScrubJobs,
    jobs_folder,
    public,
    suffix_of,
)

router = APIRouter(prefix="/v1", tags=["scrubs"])
JobId = Annotated[str, Path(min_length=1, max_length=64, description="The job's id")]


def scrub_jobs(application: App) -> ScrubJobs:
    settings = application.settings
    return ScrubJobs(
        jobs_folder(settings.jobs_dir, settings.database_url),
        application.db,
        application.gate.rules,
        application.clock,
        application.gate.policy,
        settings.scrub_max_bytes,
    )


def _jobs(request: Request) -> ScrubJobs:
    jobs: ScrubJobs = request.app.state.scrub_jobs
    return jobs


def _owner(info: KeyInfo) -> Owner:
    return Owner(info.principal, info.key_id, acting_processor(info, None))


class UploadLimit:
    """ASGI middleware: ``413`` for an upload whose ``Content-Length`` is over the limit,
    before a byte of it is read."""

    def __init__(self, app: ASGIApp, limit: int, path: str = "/v1/scrubs") -> None:
        self.app, self.limit, self.path = app, limit, path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.limit and scope["type"] == "http" and scope["path"] == self.path:
            length = dict(scope["headers"]).get(b"content-length", b"0")
            if length.isdigit() and int(length) > self.limit:
                message = f"the upload is larger than {self.limit} bytes"
                response = JSONResponse(
                    {"error": {"code": "PAYLOAD_TOO_LARGE", "message": message}}, status_code=413
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


@router.post(
    "/scrubs",
    status_code=202,
    summary="Upload a campaign file to scrub; the job runs in the background",
)
def create_scrub(
    file: Annotated[UploadFile, File(description="CSV, TXT, TSV, Parquet or XLSX")],
    channel: Annotated[Channel, Form()],
    info: Annotated[KeyInfo, Depends(guard("POST /v1/scrubs"))],
    application: Annotated[App, Depends(permis_app)],
    jobs: Annotated[ScrubJobs, Depends(_jobs)],
    at: Annotated[datetime | None, Form(description="ISO 8601 with offset; default now")] = None,
    processor: Annotated[str | None, Form(max_length=200)] = None,
    purpose: Annotated[str, Form(max_length=200)] = DEFAULT_PURPOSE,
    audience: Annotated[Audience, Form()] = Audience.CONSUMER,
    sector: Annotated[Sector | None, Form()] = None,
    column: Annotated[str | None, Form(max_length=200, description="The contact column")] = None,
    campaign: Annotated[
        str | None, Form(max_length=200, description="The campaign, for per-campaign caps")
    ] = None,
) -> dict[str, Any]:
    request = ScrubRequest(
        channel=channel,
        at=aware(at) or application.clock(),
        principal=info.principal,
        processor=acting_processor(info, processor),
        purpose=purpose,
        audience=audience,
        sector=sector,
        column=column,
        campaign=campaign,
    )
    job = jobs.create(file.file, suffix_of(file.filename), request, _owner(info))
    return public(job)


@router.get("/scrubs/{job_id}", summary="A scrub job: state, progress, summary when done")
def get_scrub(
    job_id: JobId,
    info: Annotated[KeyInfo, Depends(guard("GET /v1/scrubs/{job_id}"))],
    jobs: Annotated[ScrubJobs, Depends(_jobs)],
) -> dict[str, Any]:
    return public(jobs.get(job_id, _owner(info)))


def _download(jobs: ScrubJobs, job_id: str, info: KeyInfo, which: str) -> FileResponse:
    path = jobs.result(job_id, _owner(info), which)
    return FileResponse(
        path,
        media_type=MEDIA_TYPES.get(path.suffix, "application/octet-stream"),
        filename=f"scrub-{job_id}.{which}{path.suffix}",
    )


RESULT: dict[int | str, dict[str, Any]] = {200: {"description": "The file, in the input's format"}}


@router.get(
    "/scrubs/{job_id}/allowed",
    summary="The rows that may be contacted",
    response_class=FileResponse,
    responses=RESULT,
)
def scrub_allowed(
    job_id: JobId,
    info: Annotated[KeyInfo, Depends(guard("GET /v1/scrubs/{job_id}/allowed"))],
    jobs: Annotated[ScrubJobs, Depends(_jobs)],
) -> FileResponse:
    return _download(jobs, job_id, info, "allowed")


@router.get(
    "/scrubs/{job_id}/rejects",
    summary="The rows refused or unreadable, with permis_reasons",
    response_class=FileResponse,
    responses=RESULT,
)
def scrub_rejects(
    job_id: JobId,
    info: Annotated[KeyInfo, Depends(guard("GET /v1/scrubs/{job_id}/rejects"))],
    jobs: Annotated[ScrubJobs, Depends(_jobs)],
) -> FileResponse:
    return _download(jobs, job_id, info, "rejects")
