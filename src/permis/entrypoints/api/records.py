"""The ``record`` verbs over HTTP (DESIGN.md 4.3/4.4) and a contact's history.

``201`` with the event when it is new, ``200`` with the first event on a repeat of the same
``Idempotency-Key``. Who may record what (``admin`` may do everything; the table that the routes
enforce is ``roles.ROUTE_ROLES``):

| route | roles |
|---|---|
| consents, contracts, budgets | compliance, campaign |
| objections | compliance, campaign, agent |
| refusals | compliance, campaign, agent, processor |
| attempts | compliance, campaign, processor |
| history | compliance |

A processor key records attempts and refusals only as its own processor.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Response
from pydantic import BaseModel, Field

from permis.bootstrap import App
from permis.domain.model import DEFAULT_PURPOSE, Channel, Outcome, Period, Source
from permis.entrypoints.api.auth import acting_processor, permis_app
from permis.entrypoints.api.common import ChannelOrAll, aware
from permis.entrypoints.api.roles import guard
from permis.services.keys import KeyInfo
from permis.services.register import Recorded

router = APIRouter(prefix="/v1", tags=["register"])

Contact = Field(
    min_length=1,
    max_length=320,
    description="Phone number in any form, or e-mail",
    examples=["06 12 34 56 78", "+33612345678", "zoe@example.org"],
)
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]
Application = Annotated[App, Depends(permis_app)]


class ConsentIn(BaseModel):
    contact: str = Contact
    channel: Channel
    source: Source
    purpose: str = DEFAULT_PURPOSE
    at: datetime | None = None
    proof: str | None = Field(None, max_length=100_000, description="Text shown to the person")
    proof_version: str | None = Field(None, max_length=200)
    expires: datetime | None = None


class ObjectionIn(BaseModel):
    contact: str = Contact
    source: Source
    channel: ChannelOrAll = "all"
    purpose: str = "all"
    at: datetime | None = None


class RefusalIn(BaseModel):
    contact: str = Contact
    at: datetime | None = None
    processor: str | None = None


class ContractIn(BaseModel):
    contact: str = Contact
    start: datetime
    end: datetime | None = None
    object: str | None = Field(None, max_length=1000, description="What the contract is about")


class AttemptIn(BaseModel):
    contact: str = Contact
    channel: Channel
    at: datetime | None = None
    processor: str | None = None
    outcome: Outcome | None = None


class BudgetIn(BaseModel):
    contact: str = Contact
    channel: ChannelOrAll
    max: int = Field(ge=0, le=10_000)
    per: Period
    at: datetime | None = None


def _answer(result: Recorded, response: Response) -> dict[str, Any]:
    response.status_code = 201 if result.created else 200
    return result.to_dict()


def _common(info: KeyInfo, key: str | None) -> dict[str, Any]:
    return {"principal": info.principal, "actor": f"key:{info.key_id}", "idempotency_key": key}


@router.post("/consents", status_code=201, summary="Record a consent, with its proof")
def record_consent(
    body: ConsentIn,
    response: Response,
    application: Application,
    info: Annotated[KeyInfo, Depends(guard("POST /v1/consents"))],
    key: IdempotencyKey = None,
) -> dict[str, Any]:
    result = application.register.record_consent(
        contact=body.contact,
        channel=body.channel,
        source=body.source,
        purpose=body.purpose,
        at=aware(body.at),
        proof=body.proof,
        proof_version=body.proof_version,
        expires=aware(body.expires, "expires"),
        **_common(info, key),
    )
    return _answer(result, response)


@router.post("/objections", status_code=201, summary="Record an objection (an opt-out)")
def record_objection(
    body: ObjectionIn,
    response: Response,
    application: Application,
    info: Annotated[KeyInfo, Depends(guard("POST /v1/objections"))],
    key: IdempotencyKey = None,
) -> dict[str, Any]:
    result = application.register.record_objection(
        contact=body.contact,
        source=body.source,
        channel=body.channel,
        purpose=body.purpose,
        at=aware(body.at),
        **_common(info, key),
    )
    return _answer(result, response)


@router.post("/refusals", status_code=201, summary="Record a refusal said during a call")
def record_refusal(
    body: RefusalIn,
    response: Response,
    application: Application,
    info: Annotated[KeyInfo, Depends(guard("POST /v1/refusals"))],
    key: IdempotencyKey = None,
) -> dict[str, Any]:
    result = application.register.record_refusal(
        contact=body.contact,
        at=aware(body.at),
        processor=acting_processor(info, body.processor),
        **_common(info, key),
    )
    return _answer(result, response)


@router.post("/contracts", status_code=201, summary="Record a contract")
def record_contract(
    body: ContractIn,
    response: Response,
    application: Application,
    info: Annotated[KeyInfo, Depends(guard("POST /v1/contracts"))],
    key: IdempotencyKey = None,
) -> dict[str, Any]:
    aware(body.start, "start")
    result = application.register.record_contract(
        contact=body.contact,
        start=body.start,
        end=aware(body.end, "end"),
        subject=body.object,
        **_common(info, key),
    )
    return _answer(result, response)


@router.post("/attempts", status_code=201, summary="Report a contact made or tried")
def record_attempt(
    body: AttemptIn,
    response: Response,
    application: Application,
    info: Annotated[KeyInfo, Depends(guard("POST /v1/attempts"))],
    key: IdempotencyKey = None,
) -> dict[str, Any]:
    result = application.register.record_attempt(
        contact=body.contact,
        channel=body.channel,
        at=aware(body.at),
        processor=acting_processor(info, body.processor),
        outcome=body.outcome,
        **_common(info, key),
    )
    return _answer(result, response)


@router.post("/budgets", status_code=201, summary="Set a person's own budget for a channel")
def record_budget(
    body: BudgetIn,
    response: Response,
    application: Application,
    info: Annotated[KeyInfo, Depends(guard("POST /v1/budgets"))],
    key: IdempotencyKey = None,
) -> dict[str, Any]:
    result = application.register.record_budget(
        contact=body.contact,
        channel=body.channel,
        maximum=body.max,
        per=body.per,
        at=aware(body.at),
        **_common(info, key),
    )
    return _answer(result, response)


@router.get("/contacts/{contact}/history", summary="Every event about one contact point")
def history(
    contact: Annotated[str, Path(min_length=1, max_length=320)],
    application: Application,
    info: Annotated[KeyInfo, Depends(guard("GET /v1/contacts/{contact}/history"))],
) -> dict[str, list[dict[str, Any]]]:
    from permis.entrypoints.render import event_dict

    events = application.register.history(info.principal, contact)
    return {"events": [event_dict(e) for e in events]}
