"""The agent screen: a customer-service agent records an objection or a refusal in one step.

Role ``agent`` (or ``admin``). The agent signs in with their API key once; the key is kept in a
session cookie that is encrypted and signed (HttpOnly, SameSite=Strict, ``Secure`` when
``PERMIS_PUBLIC_URL`` is https, limited to ``/agent``, eight hours). ``Authorization: Bearer``
works too, for tools. Forms carry a token derived from the session (no cross-site posts).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from permis.domain.contact import parse_contact
from permis.domain.model import ALL, Channel, Source
from permis.entrypoints.web.pages import intake_of, render
from permis.entrypoints.web.session import authenticate, end_session, signed_in, start_session
from permis.errors import Forbidden, InvalidContact, PermisError
from permis.services.intake import Intake
from permis.services.keys import KeyInfo, Role

router = APIRouter(tags=["agent"], include_in_schema=False)
COOKIE = "permis_agent"
ACTIONS = frozenset({"objection", "refusal"})
ALLOWED = frozenset({Role.AGENT, Role.ADMIN})


@dataclass(frozen=True, slots=True)
class Agent:
    info: KeyInfo
    csrf: str | None
    """The form token when signed in by cookie (None with a Bearer header: no ambient cookie)."""


def _agent(request: Request, service: Intake) -> Agent | None:
    """The signed-in agent, None when nobody is; :class:`PermisError` for a wrong key or role."""
    found = signed_in(request, service, COOKIE)
    if found is None:
        return None
    info, csrf = found
    if info.role not in ALLOWED:
        raise Forbidden("this key is not an agent key")
    return Agent(info, csrf)


def _screen(agent: Agent, status: int = 200, **extra: object) -> HTMLResponse:
    return render(
        "agent",
        status,
        csrf=agent.csrf or "",
        form_id=secrets.token_urlsafe(16),
        all_channels=[c.value for c in Channel],
        **extra,
    )


def _refused(refused: PermisError) -> HTMLResponse:
    if refused.http_status == 403:
        return render("agent_login", 403, problem="role")
    if refused.http_status == 429:
        return render("agent_login", 429, problem="rate")
    return render("agent_login", 401, problem="key")


@router.get("/agent", response_class=HTMLResponse)
async def agent_screen(request: Request) -> HTMLResponse:
    service = intake_of(request)
    try:
        agent = await run_in_threadpool(_agent, request, service)
    except PermisError as refused:
        return _refused(refused)
    if agent is None:
        return render("agent_login")
    return _screen(agent)


@router.post("/agent/login", response_class=HTMLResponse)
async def agent_login(request: Request) -> Response:
    service = intake_of(request)
    form = await request.form()
    key = str(form.get("key") or "").strip()
    try:
        info = await run_in_threadpool(authenticate, request, key)
    except PermisError as refused:
        return _refused(refused)
    if info.role not in ALLOWED:
        return render("agent_login", 403, problem="role")
    session = await run_in_threadpool(service.session_key)
    response = RedirectResponse("/agent", status_code=303)
    start_session(response, service, COOKIE, "/agent", key, session)
    return response


@router.post("/agent/logout")
async def agent_logout() -> Response:
    response = RedirectResponse("/agent", status_code=303)
    end_session(response, COOKIE, "/agent")
    return response


def _record(service: Intake, agent: Agent, values: dict[str, str]) -> str:
    """Record what the form asks; the masked contact point for the confirmation."""
    point = parse_contact(values.get("contact", "")[:320])
    form_id = values.get("form_id", "")
    key = None
    if form_id:
        raw = f"{agent.info.key_id}|{form_id}|{values['action']}|{point.value}"
        key = "agent:" + hashlib.sha256(raw.encode()).hexdigest()[:40]
    actor = f"agent:{agent.info.key_id}"
    if values["action"] == "objection":
        service.register.record_objection(
            principal=agent.info.principal,
            contact=point.value,
            source=Source.AGENT,
            channel=values.get("channel", ALL),
            actor=actor,
            idempotency_key=key,
        )
    else:
        service.register.record_refusal(
            principal=agent.info.principal,
            contact=point.value,
            processor=agent.info.processor,
            actor=actor,
            idempotency_key=key,
        )
    return point.masked()


def _values(form: FormData) -> dict[str, str]:
    return {k: v for k, v in form.multi_items() if isinstance(v, str)}


@router.post("/agent", response_class=HTMLResponse)
async def agent_record(request: Request) -> HTMLResponse:
    service = intake_of(request)
    try:
        agent = await run_in_threadpool(_agent, request, service)
    except PermisError as refused:
        return _refused(refused)
    if agent is None:
        return render("agent_login", 401, problem="session")
    values = _values(await request.form())
    if agent.csrf is not None and not hmac.compare_digest(values.get("csrf", ""), agent.csrf):
        return _screen(agent, 403, problem="csrf")
    channels = {*(c.value for c in Channel), ALL}
    if values.get("action") not in ACTIONS or values.get("channel", ALL) not in channels:
        return _screen(agent, 422, problem="action")
    try:
        masked = await run_in_threadpool(_record, service, agent, values)
    except InvalidContact:
        return _screen(agent, 422, problem="contact")
    return _screen(
        agent,
        action=values["action"],
        masked=masked,
        channel=values.get("channel", ALL),
    )
