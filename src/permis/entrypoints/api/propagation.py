"""Propagation over HTTP: processors, the pull feed, acknowledgements, lag, overdue, violations.

| route | roles |
|---|---|
| ``GET/POST /v1/processors`` | compliance (admin) |
| ``GET /v1/suppressions/changes?after=CURSOR`` | processor (its own feed) |
| ``POST /v1/deliveries/{id}/ack`` | processor (its own deliveries), compliance |
| ``GET /v1/deliveries/lag``, ``/v1/deliveries/overdue``, ``/v1/violations`` | compliance |
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, Field

from permis.bootstrap import App
from permis.entrypoints.api.auth import acting_processor, permis_app
from permis.entrypoints.api.roles import guard
from permis.errors import UsageError
from permis.services.deliveries import Deliveries
from permis.services.keys import KeyInfo, Role
from permis.services.processors import Processors

router = APIRouter(prefix="/v1", tags=["propagation"])
Application = Annotated[App, Depends(permis_app)]


class ProcessorIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    channels: list[str] = Field(default_factory=lambda: ["all"], max_length=10)
    webhook: str | None = Field(None, max_length=2000, description="http(s) receiver URL")
    secret: str | None = Field(None, max_length=200, description="whsec_ + base64; generated")
    stream: str | None = Field(None, max_length=200, description="NATS JetStream subject")
    feed: bool = False
    files: str | None = Field(None, description="csv or hashes")


def _deliveries(application: App) -> Deliveries:
    overdue = application.settings.delivery_overdue_seconds
    return Deliveries(application.db, application.clock, overdue)


@router.get("/processors", summary="The processors and how opt-outs reach each one")
def list_processors(
    application: Application, info: Annotated[KeyInfo, Depends(guard("GET /v1/processors"))]
) -> dict[str, list[dict[str, Any]]]:
    rows = Processors(application.db, application.clock).list(info.principal)
    return {"processors": [p.to_dict() for p in rows]}


@router.post("/processors", status_code=201, summary="Register or update a processor")
def add_processor(
    body: ProcessorIn,
    application: Application,
    info: Annotated[KeyInfo, Depends(guard("POST /v1/processors"))],
) -> dict[str, Any]:
    done = Processors(application.db, application.clock).add(
        info.principal,
        body.name,
        body.channels,
        webhook=body.webhook,
        secret=body.secret,
        stream=body.stream,
        feed=body.feed,
        files=body.files,
    )
    return done.to_dict()


@router.get("/suppressions/changes", summary="The pull feed: opt-outs after a cursor")
def changes(
    application: Application,
    info: Annotated[KeyInfo, Depends(guard("GET /v1/suppressions/changes"))],
    after: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    processor: Annotated[str | None, Query(max_length=100)] = None,
) -> dict[str, Any]:
    """Reading ``after=N`` acknowledges every change up to ``N``; ``next`` is the next cursor."""
    acting = acting_processor(info, processor)
    if acting is None:
        raise UsageError("processor: which processor's feed (admin keys must say)")
    return _deliveries(application).changes(info.principal, acting, after, limit).to_dict()


@router.post("/deliveries/{delivery}/ack", summary="The processor applied this opt-out")
def acknowledge(
    delivery: Annotated[str, Path(min_length=1, max_length=64)],
    response: Response,
    application: Application,
    info: Annotated[KeyInfo, Depends(guard("POST /v1/deliveries/{delivery}/ack"))],
) -> dict[str, Any]:
    own = info.processor if info.role is Role.PROCESSOR else None
    result = _deliveries(application).acknowledge(info.principal, delivery, own)
    response.status_code = 200
    return result


@router.get("/deliveries/lag", summary="Per processor and form: delivery and ack lags")
def lag(
    application: Application, info: Annotated[KeyInfo, Depends(guard("GET /v1/deliveries/lag"))]
) -> dict[str, list[dict[str, Any]]]:
    return {"lag": _deliveries(application).lag(info.principal)}


@router.get("/deliveries/overdue", summary="Deliveries not acknowledged in time, and why")
def overdue(
    application: Application, info: Annotated[KeyInfo, Depends(guard("GET /v1/deliveries/overdue"))]
) -> dict[str, list[dict[str, Any]]]:
    return {"overdue": _deliveries(application).overdue(info.principal)}


@router.get("/violations", summary="Attempts made after an objection reached the processor")
def violations(
    application: Application, info: Annotated[KeyInfo, Depends(guard("GET /v1/violations"))]
) -> dict[str, list[dict[str, Any]]]:
    from permis.services.violations import list_violations

    return {"violations": list_violations(application.db, application.clock, info.principal)}
