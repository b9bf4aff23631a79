"""Shared pieces of the web pages: the Jinja2 environment, page versions, the intake service.

Pages are server-rendered HTML forms (no JavaScript needed), French first with English beside
it. Each template's version is the hash of its source: a change recorded from a page carries the
exact version of the page the person saw, as proof (RGPD art. 7(1)).
"""

from __future__ import annotations

import hashlib
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from permis.domain.model import Channel, Period
from permis.entrypoints.api.auth import permis_app
from permis.services.intake import Intake

TEMPLATES = Path(__file__).parent / "templates"

CHANNEL_LABELS: dict[str, tuple[str, str]] = {
    Channel.CALL.value: ("Appels téléphoniques", "Phone calls"),
    Channel.AUTOMATED_CALL.value: ("Appels automatisés", "Automated calls"),
    Channel.SMS.value: ("SMS", "Text messages"),
    Channel.EMAIL.value: ("Courriels", "E-mail"),
    Channel.POST.value: ("Courrier postal", "Post"),
    Channel.MESSAGING.value: ("Messageries", "Messaging apps"),
    Channel.FAX.value: ("Télécopie", "Fax"),
    "all": ("Tous les moyens", "Every channel"),
}
PERIOD_LABELS: dict[str, tuple[str, str]] = {
    Period.WEEK.value: ("par semaine", "a week"),
    Period.MONTH.value: ("par mois", "a month"),
    Period.YEAR.value: ("par an", "a year"),
}
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(channels=CHANNEL_LABELS, periods=PERIOD_LABELS)
    return env


@cache
def page_version(name: str) -> str:
    """``<template name>@<first 12 hex of the SHA-256 of its source and its base>``."""
    digest = hashlib.sha256()
    for part in ("base.html", f"{name}.html"):
        digest.update((TEMPLATES / part).read_bytes())
    return f"{name}@{digest.hexdigest()[:12]}"


def render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = (
        environment()
        .get_template(f"{name}.html")
        .render(page_version=page_version(name), **context)
    )
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def intake_of(request: Request) -> Intake:
    """The intake service over the API's :class:`permis.bootstrap.App`."""
    application = permis_app(request)
    return Intake(application.db, application.register, application.settings, application.clock)
