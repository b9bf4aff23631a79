"""``/v1/decisions``: one decision (GET, for dialers) or a batch of up to 10,000 (POST)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from permis.bootstrap import App
from permis.domain.model import DEFAULT_PURPOSE, Audience, Channel, Sector
from permis.entrypoints.api.auth import acting_processor, permis_app, require
from permis.entrypoints.api.common import aware
from permis.services.gate import CheckQuery
from permis.services.keys import KeyInfo, Role

router = APIRouter(prefix="/v1", tags=["decisions"])
MAX_BATCH = 10_000
CHECKERS = (Role.CAMPAIGN, Role.PROCESSOR, Role.COMPLIANCE, Role.AGENT)


class DecisionRequest(BaseModel):
    contact: str = Field(min_length=1, max_length=320, description="Phone number or e-mail")
    channel: Channel
    at: datetime | None = Field(None, description="ISO 8601 with offset; default now")
    processor: str | None = None
    purpose: str = DEFAULT_PURPOSE
    audience: Audience = Audience.CONSUMER
    sector: Sector | None = None


class BatchRequest(BaseModel):
    requests: list[DecisionRequest] = Field(max_length=MAX_BATCH)


def _query(info: KeyInfo, asked: DecisionRequest) -> CheckQuery:
    return CheckQuery(
        contact=asked.contact,
        channel=asked.channel,
        at=aware(asked.at),
        principal=info.principal,
        processor=acting_processor(info, asked.processor),
        purpose=asked.purpose,
        audience=asked.audience,
        sector=asked.sector,
    )


@router.get("/decisions", summary="May this contact be made now? One decision (DESIGN.md 4.1)")
def one_decision(
    asked: Annotated[DecisionRequest, Query()],
    info: Annotated[KeyInfo, Depends(require(*CHECKERS))],
    application: Annotated[App, Depends(permis_app)],
) -> dict[str, Any]:
    return application.gate.check(_query(info, asked)).to_dict()


@router.post("/decisions", summary="Decisions for a batch of up to 10,000 contacts, in order")
def batch_decisions(
    batch: BatchRequest,
    info: Annotated[KeyInfo, Depends(require(*CHECKERS))],
    application: Annotated[App, Depends(permis_app)],
) -> dict[str, list[dict[str, Any]]]:
    queries = [_query(info, asked) for asked in batch.requests]
    return {"decisions": [application.gate.check(q).to_dict() for q in queries]}
