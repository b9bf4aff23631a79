"""The public doors, no API key: inbound SMS (provider signature), one-click unsubscribe and the
preference page (each behind a signed, expiring, single-contact token). DESIGN.md 4.4.

A GET never changes anything (mail scanners and link previews fetch every link); changes are
POSTs, and each ends in one :class:`permis.services.register.Register` verb.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from permis.adapters.inbound import LinkPurpose, LinkStatus, twilio_signature_ok
from permis.domain.contact import mask
from permis.domain.model import ALL, Channel, Period
from permis.entrypoints.web.pages import SECURITY_HEADERS, intake_of, page_version, render
from permis.errors import ConfigError, InvalidSignature, NotFound, UsageError
from permis.services.intake import ONE_CLICK, Intake, OpenedLink, PreferenceChange
from permis.services.receipts import Receipt, contact_receipt, contact_receipts, public_key

router = APIRouter(tags=["intake"])
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
MAX_BUDGET = 1000
DONE = frozenset({"withdraw", "object", "budget"})


IntakeDep = Annotated[Intake, Depends(intake_of)]


def _fields(form: FormData) -> list[tuple[str, str]]:
    return [(name, value) for name, value in form.multi_items() if isinstance(value, str)]


def signed_url(request: Request, public_url: str) -> str:
    """The URL the provider signed, rebuilt on ``PERMIS_PUBLIC_URL`` (behind a proxy the Host
    header and scheme the app sees are not the ones the provider used)."""
    query = request.url.query
    return public_url.rstrip("/") + request.url.path + (f"?{query}" if query else "")


@router.post(
    "/inbound/sms/twilio",
    summary="Inbound SMS from Twilio: STOP records an objection, START lifts it",
    response_class=Response,
    responses={200: {"content": {"text/xml": {}}, "description": "Empty TwiML"}},
)
async def twilio_sms(
    request: Request,
    service: IntakeDep,
    principal: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    form = await request.form()
    fields = _fields(form)
    settings = service.settings
    if not settings.twilio_auth_token:
        raise InvalidSignature("inbound SMS is not configured (PERMIS_TWILIO_AUTH_TOKEN)")
    signature = request.headers.get("x-twilio-signature", "")
    url = signed_url(request, settings.public_url)
    if not twilio_signature_ok(settings.twilio_auth_token, url, fields, signature):
        raise InvalidSignature("the X-Twilio-Signature header does not sign this request")
    values = dict(fields)
    sender, body = values.get("From", ""), values.get("Body")
    if not sender.strip() or body is None or len(body) > 5000:
        raise UsageError("From and Body (at most 5,000 characters) are required")
    await run_in_threadpool(
        service.receive_sms,
        principal,
        sender,
        values.get("To"),
        body,
        values.get("MessageSid") or values.get("SmsSid"),
    )
    return Response(EMPTY_TWIML, media_type="text/xml")


def _invalid(link: OpenedLink) -> HTMLResponse:
    expired = link.status is LinkStatus.EXPIRED
    return render("link_invalid", 410 if expired else 400, expired=expired)


PAGES: dict[int | str, dict[str, Any]] = {
    400: {"content": {"text/html": {}}, "description": "A page: the link is not valid"},
    410: {"content": {"text/html": {}}, "description": "A page: the link has expired"},
}


@router.get(
    "/u/{token}",
    response_class=HTMLResponse,
    summary="Unsubscribe confirmation page",
    responses=PAGES,
)
async def unsubscribe_page(token: str, service: IntakeDep) -> HTMLResponse:
    link = await run_in_threadpool(service.open, token, LinkPurpose.UNSUBSCRIBE)
    if not link.valid:
        return _invalid(link)
    return render("unsubscribe", channel=link.channel().value, one_click=ONE_CLICK)


@router.post(
    "/u/{token}",
    response_class=HTMLResponse,
    summary="RFC 8058 one-click unsubscribe: body List-Unsubscribe=One-Click",
    responses=PAGES,
)
async def one_click(token: str, request: Request, service: IntakeDep) -> HTMLResponse:
    form = await request.form()
    if form.get("List-Unsubscribe") != "One-Click":
        return render("unsubscribe_bad", 400)
    link, _ = await run_in_threadpool(service.unsubscribe, token)
    if not link.valid:
        return _invalid(link)
    return render("unsubscribed", channel=link.channel().value)


EVENT_ID = re.compile(r"[0-9]{1,18}")
KEY_PATH = "/.well-known/permis-receipts.jwk"


def _receipt(service: Intake, link: OpenedLink, event_id: str | None) -> Receipt | None:
    """The signed receipt of ``event_id`` if it is one of the link's contact point's events and
    receipts are configured; None otherwise. :class:`ConfigError` when the secret does not open
    the principal's key."""
    assert link.claim is not None
    settings = service.settings
    if not settings.receipt_secret or event_id is None or not EVENT_ID.fullmatch(event_id):
        return None
    try:
        return contact_receipt(
            service.db,
            link.principal,
            link.claim.contact_hash,
            int(event_id),
            settings.receipt_secret,
            service.clock(),
            settings.public_url,
        )
    except NotFound:
        return None


def _shown_receipt(service: Intake, link: OpenedLink, event_id: str | None) -> Receipt | None:
    """The receipt the page shows after a change: never an error page (the change is recorded
    whatever happens to its receipt)."""
    try:
        return _receipt(service, link, event_id)
    except ConfigError:
        return None


def _preferences(
    service: Intake,
    link: OpenedLink,
    token: str,
    status: int = 200,
    shown: str | None = None,
    **extra: object,
) -> HTMLResponse:
    assert link.claim is not None
    available = bool(service.settings.receipt_secret)
    receipts = contact_receipts(service.db, link.principal, link.claim.contact_hash)
    return render(
        "preferences",
        status,
        rows=service.preferences(link),
        contact=mask(link.claim.contact),
        token=token,
        form_id=secrets.token_urlsafe(16),
        all_channels=[c.value for c in Channel],
        receipts_available=available,
        receipts=receipts if available else [],
        receipt=_shown_receipt(service, link, shown),
        key_url=f"{KEY_PATH}?principal={quote(link.principal or '', safe='')}",
        **extra,
    )


@router.get("/p/{token}", response_class=HTMLResponse, summary="Preference page", responses=PAGES)
async def preference_page(
    token: str,
    service: IntakeDep,
    done: Annotated[str | None, Query(max_length=20)] = None,
    receipt: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    link = await run_in_threadpool(service.open, token, LinkPurpose.PREFERENCES)
    if not link.valid:
        return _invalid(link)
    return await run_in_threadpool(
        _preferences, service, link, token, shown=receipt, done=done if done in DONE else None
    )


def _change(form: FormData) -> PreferenceChange:
    """The change a form asks for, or :class:`UsageError` (the page shows it, nothing changes)."""
    values = dict(_fields(form))
    action, channel = values.get("action", ""), values.get("channel", "")
    version = values.get("page_version", "")
    if version != page_version("preferences"):
        raise UsageError("stale")
    if action not in DONE or channel not in {*(c.value for c in Channel), ALL}:
        raise UsageError("unknown")
    if action == "withdraw" and channel == ALL:
        raise UsageError("unknown")
    maximum, per = None, None
    if action == "budget":
        raw, period = values.get("max", "").strip(), values.get("per", "")
        if not raw.isdigit() or int(raw) > MAX_BUDGET or period not in {p.value for p in Period}:
            raise UsageError("budget")
        maximum, per = int(raw), Period(period)
    return PreferenceChange(action, channel, version, values.get("form_id"), maximum, per)


@router.post(
    "/p/{token}",
    response_class=HTMLResponse,
    summary="A change on the preference page",
    responses={**PAGES, 303: {"description": "Back to the page, with a confirmation"}},
)
async def preference_change(token: str, request: Request, service: IntakeDep) -> Response:
    link = await run_in_threadpool(service.open, token, LinkPurpose.PREFERENCES)
    if not link.valid:
        return _invalid(link)
    form = await request.form()
    try:
        change = _change(form)
    except UsageError as problem:
        return await run_in_threadpool(
            _preferences, service, link, token, 422, problem=problem.message
        )
    recorded = await run_in_threadpool(service.change_preference, link, change)
    shown = f"receipt={recorded.event.id}&" if service.settings.receipt_secret else ""
    return RedirectResponse(f"/p/{token}?{shown}done={change.action}", status_code=303)


RECEIPT_PAGES: dict[int | str, dict[str, Any]] = {
    **PAGES,
    200: {
        "content": {"application/jose": {}},
        "description": "The signed receipt: a compact JWS (Ed25519), as a .jws download",
    },
    404: {
        "content": {"text/html": {}},
        "description": "A page: no such receipt for this link, or receipts are not available",
    },
}


@router.get(
    "/p/{token}/receipts/{event_id}",
    response_class=Response,
    summary="Download the signed receipt of one of the link's contact point's events",
    responses=RECEIPT_PAGES,
)
async def receipt_download(token: str, event_id: str, service: IntakeDep) -> Response:
    link = await run_in_threadpool(service.open, token, LinkPurpose.PREFERENCES)
    if not link.valid:
        return _invalid(link)
    if not service.settings.receipt_secret:
        return render("receipt_missing", 404, token=token, unavailable=True)
    number = event_id.removesuffix(".jws")
    try:
        receipt = await run_in_threadpool(_receipt, service, link, number)
    except ConfigError:  # the secret does not open the principal's key: not available
        return render("receipt_missing", 404, token=token, unavailable=True)
    if receipt is None:
        return render("receipt_missing", 404, token=token, unavailable=False)
    disposition = f'attachment; filename="receipt-{number}.jws"'
    return Response(
        receipt.token + "\n",
        media_type="application/jose",
        headers={**SECURITY_HEADERS, "Content-Disposition": disposition},
    )


@router.get(
    KEY_PATH,
    response_class=Response,
    summary="The principal's public key (JWK) that verifies its signed receipts",
    responses={
        200: {"content": {"application/jwk+json": {}}, "description": "An Ed25519 public JWK"},
        404: {"description": "No receipt was issued yet, or no such principal"},
    },
)
async def receipts_public_key(
    service: IntakeDep, principal: Annotated[str | None, Query(max_length=200)] = None
) -> Response:
    if principal is not None and "\x00" in principal:
        raise NotFound("no such principal")
    jwk = await run_in_threadpool(public_key, service.db, principal, "", service.clock(), False)
    return Response(
        json.dumps(jwk, sort_keys=True),
        media_type="application/jwk+json",
        headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"},
    )
