"""``/v1/decisions``: one decision (GET, for dialers) or a batch of up to 10,000 (POST).

The single check is the hot route: ``async def`` (no hop to the thread pool; the register's
statements then run in the event loop's thread, one at a time, which is what SQLite does anyway)
and its answer is serialised once, without response-model validation; the schema of a Decision
stays documented through ``responses=``. The batch goes through ``Gate.check_many`` and writes
each distinct decision's JSON once, then only the contact point changes from row to row.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from itertools import chain
from json.encoder import encode_basestring
from operator import itemgetter
from typing import Annotated, Any, cast
from urllib.parse import parse_qsl

from fastapi import APIRouter, Body, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, GetJsonSchemaHandler, ValidationError
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from permis.bootstrap import App
from permis.domain.model import Decision
from permis.entrypoints.api.auth import Guard, acting_processor, authorised, permis_app, the_app
from permis.entrypoints.api.batch_body import read_batch
from permis.entrypoints.api.common import aware
from permis.entrypoints.api.decisions_model import (
    BatchOut,
    BatchRequest,
    DecisionOut,
    DecisionRequest,
)
from permis.entrypoints.api.roles import admitted, guard
from permis.services.gate import CheckQuery
from permis.services.gate_batch import BatchDecisions
from permis.services.keys import KeyInfo

router = APIRouter(prefix="/v1", tags=["decisions"])
JSON = "application/json"


def _query(info: KeyInfo, asked: DecisionRequest, contact: str | None = None) -> CheckQuery:
    """The check ``asked`` by the key ``info`` (about ``contact`` instead of ``asked.contact``
    when given: the single check validates the rest of a query once per distinct rest)."""
    return CheckQuery(
        contact=asked.contact if contact is None else contact,
        channel=asked.channel,
        at=aware(asked.at),
        principal=info.principal,
        processor=acting_processor(info, asked.processor),
        purpose=asked.purpose,
        audience=asked.audience,
        sector=asked.sector,
        campaign=asked.campaign,
    )


def _plain(value: object) -> str:
    """JSON for what ``json`` does not know (times in ISO 8601, anything else as text)."""
    return value.isoformat() if isinstance(value, datetime) else str(value)


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_plain)
"""What ``json.dumps`` with these arguments builds on every call (it caches only its default
encoder); ``encode`` gives the same text."""


def _dumps(data: object) -> str:
    return _ENCODER.encode(data)


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """The OpenAPI description of ``model``'s fields as query parameters."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    required = set(schema.get("required", ()))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": field}
        for name, field in schema["properties"].items()
    ]


@router.get(
    "/decisions",
    summary="May this contact be made now? One decision (DESIGN.md 4.1)",
    response_class=Response,
    responses={200: {"model": DecisionOut, "description": "The decision"}},
    openapi_extra={"parameters": _query_parameters(DecisionRequest)},
)
async def one_decision(request: Request) -> Response:
    """Documents the route; :class:`permis.entrypoints.api.fast.SingleCheck` answers it in
    front of FastAPI (``create_app`` installs it), with the same :func:`single_check`."""
    guard_: Guard = request.app.state.guard
    try:
        body = single_check(permis_app(request), guard_, request.headers, request.scope)
    except ValidationError as error:
        raise RequestValidationError(error.errors()) from None
    return Response(body, media_type=JSON)


def single_check(
    application: App, guard_: Guard, headers: Mapping[str, str], scope: Mapping[str, Any]
) -> bytes:
    """The single check's answer: key and role first (401, 403: ``PermisError``), then the
    query (422: pydantic's ``ValidationError``), as FastAPI's dependencies would, then the
    decision as JSON bytes. The query is read as Starlette reads it (``parse_qsl`` keeping
    blank values; a repeated parameter: the last one)."""
    info = admitted(authorised(guard_, application, headers), "GET /v1/decisions")
    fields = _query_fields(scope["query_string"].decode("latin-1"))
    decision = application.gate.check(_single_query(info, fields))
    return decision_json(decision).encode("utf-8")


def _query_fields(text: str) -> dict[str, str]:
    """``dict(parse_qsl(text, keep_blank_values=True))``; without a ``%`` or ``+`` to decode
    (a dialer's usual query) by splitting alone, which gives the same pairs."""
    if "%" in text or "+" in text:
        return dict(parse_qsl(text, keep_blank_values=True))
    found: dict[str, str] = {}
    for piece in text.split("&"):
        if piece:
            name, _, value = piece.partition("=")
            found[name] = value
    return found


_ASKED: dict[tuple[tuple[str, str], ...], DecisionRequest] = {}
"""The query without its contact -> that query validated (with a stand-in contact): dialers
ask the same question about contact after contact. Bounded by :data:`ASKED_CACHE`."""
ASKED_CACHE = 1024
_STAND_IN = "x"


def _single_query(info: KeyInfo, fields: dict[str, str]) -> CheckQuery:
    """``_query(info, DecisionRequest.model_validate(fields))``. The contact is validated alone
    (a text of 1 to 320 characters, ``DecisionRequest``'s only constraints on it) and the rest
    of the query once per distinct rest; anything else goes through the whole model, which then
    raises the very same errors."""
    contact = fields.get("contact")
    if contact is None or not 1 <= len(contact) <= MAX_CONTACT:
        return _query(info, DecisionRequest.model_validate(fields))
    rest = tuple((k, v) for k, v in fields.items() if k != "contact")
    asked = _ASKED.get(rest)
    if asked is None:
        try:
            asked = DecisionRequest.model_validate({**fields, "contact": _STAND_IN})
        except ValidationError:
            return _query(info, DecisionRequest.model_validate(fields))
        if len(_ASKED) >= ASKED_CACHE:
            _ASKED.clear()
        _ASKED[rest] = asked
    return _query(info, asked, contact)


MAX_CONTACT = 320
"""``DecisionRequest.contact``'s ``max_length`` (a test checks they agree)."""


def _text(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)


def _time(value: datetime | None) -> str:
    return "null" if value is None else '"' + value.isoformat() + '"'


def decision_json(decision: Decision) -> str:
    """``_dumps(decision.to_dict())``, written directly: the same text (the ``json`` module's
    own string encoder for every string; an ISO 8601 time needs no escaping)."""
    if decision.evidence:
        return _dumps(decision.to_dict())
    reasons = ",".join(
        '{"code":'
        + encode_basestring(r.code.value)
        + ',"rule":'
        + encode_basestring(r.rule)
        + ',"reference":'
        + encode_basestring(r.reference)
        + ',"message":'
        + encode_basestring(r.message)
        + ',"until":'
        + _time(r.until)
        + "}"
        for r in decision.reasons
    )
    policy = decision.policy_version
    return (
        '{"allowed":'
        + ("true" if decision.allowed else "false")
        + ',"contact":'
        + _text(decision.contact)
        + ',"channel":'
        + encode_basestring(decision.channel.value)
        + ',"at":'
        + _time(decision.at)
        + ',"local_time":'
        + _time(decision.local_time)
        + ',"reasons":['
        + reasons
        + '],"next_allowed_at":'
        + _time(decision.next_allowed_at)
        + ',"rules_version":'
        + encode_basestring(decision.rules_version)
        + ("" if policy is None else ',"policy_version":' + encode_basestring(policy))
        + "}"
    )


_HOLE = "\x00permis-contact\x00"


def _batch_json(batch: BatchDecisions) -> bytes:
    """``{"decisions": [...]}``: each distinct decision serialised once, as UTF-8, around a hole
    where each row's contact point goes (the only field that differs between rows sharing it).
    The contact points go through the ``json`` module's C string encoder and are encoded
    together (joined by NUL, which the encoder always escapes, then split); the rows are bytes
    picked by ``itemgetter`` and joined once: no per-row Python step but the quoting, and no
    4 MB text to encode (encoding a text with accents is slow)."""
    if not batch.index:
        return b'{"decisions":[]}'
    befores: list[bytes] = []
    afters: list[bytes] = []
    for decision in batch.distinct:
        data = decision.to_dict()
        data["contact"] = _HOLE
        before, _, after = _dumps(data).partition(json.dumps(_HOLE))
        befores.append(before.encode("utf-8"))
        afters.append(after.encode("utf-8") + b",")
    contacts = batch.contacts
    texts = map(encode_basestring, cast(list[str], contacts)) if None not in contacts else None
    quoted = "\x00".join(texts or _quoted(contacts)).encode("utf-8").split(b"\x00")
    pick = itemgetter(*batch.index) if len(batch.index) > 1 else lambda xs: (xs[batch.index[0]],)
    parts = [b'{"decisions":[']
    parts += chain.from_iterable(zip(pick(befores), quoted, pick(afters), strict=True))
    parts[-1] = parts[-1][:-1]  # the last row's comma
    parts.append(b"]}")
    return b"".join(parts)  # one allocation of the whole body: fresh pages are not free


def _quoted(contacts: list[str | None]) -> list[str]:
    """What ``json.dumps(..., ensure_ascii=False)`` writes for each contact point."""
    return ["null" if c is None else encode_basestring(c) for c in contacts]


class _BatchSchema:
    """Documents a body as ``BatchRequest`` while FastAPI validates nothing (``Any``):
    :func:`batch_body.read_batch` validates it, with ``BatchRequest``'s own errors."""

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return handler(BatchRequest.__pydantic_core_schema__)


@router.post(
    "/decisions",
    summary="Decisions for a batch of up to 10,000 contacts, in order",
    response_class=Response,
    responses={200: {"model": BatchOut, "description": "One decision per request, in order"}},
)
def batch_decisions(
    batch: Annotated[Any, Body(), _BatchSchema()],
    info: Annotated[KeyInfo, Depends(guard("POST /v1/decisions"))],
    application: Annotated[App, Depends(the_app)],
) -> Response:
    """The body is read as columns (``batch_body``): a contact per row, each distinct question
    validated once; ``Gate.check_many`` on those columns; the JSON written with holes."""
    columns = read_batch(batch)
    questions = [_query(info, asked) for asked in columns.questions]
    decided = application.gate.check_columns(columns.contacts, columns.group, questions)
    return Response(_batch_json(decided), media_type=JSON)
