"""The back office: the compliance figures of a period, for role ``compliance`` (or ``admin``).

Server-rendered, French first with English beside it, no JavaScript: a period form (GET), each
table of :func:`permis.services.reports.compliance_figures` with its SVG chart and a CSV export,
the full compliance report (the same page as ``permis report``) and the relevance report that
``permis model report`` wrote (``PERMIS_RELEVANCE_REPORT_PATH``). Sign-in is the agent screen's
mechanism (:mod:`permis.entrypoints.web.session`), its cookie limited to ``/backoffice``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from permis.entrypoints.web.pages import SECURITY_HEADERS, intake_of, render
from permis.entrypoints.web.session import authenticate, end_session, signed_in, start_session
from permis.errors import PermisError
from permis.services.intake import Intake
from permis.services.keys import KeyInfo, Role
from permis.services.reports import ComplianceFigures

router = APIRouter(tags=["backoffice"], include_in_schema=False)
COOKIE = "permis_backoffice"
PATH = "/backoffice"
ALLOWED = frozenset({Role.COMPLIANCE, Role.ADMIN})
DEFAULT_DAYS = 30
MAX_DAYS = 3 * 366

TITLES: dict[str, tuple[str, str]] = {
    "objections_by_source": ("Oppositions par canal d'entrée", "Objections by door"),
    "objections_by_day": ("Oppositions par jour", "Objections by day"),
    "contact_pressure": ("Pression de contact (30 jours)", "Contact pressure (30 days)"),
    "consents_expiring": ("Consentements bientôt expirés", "Consents expiring soon"),
    "list_freshness": ("Fraîcheur des listes d'opposition", "Opposition list freshness"),
    "propagation_lag": (
        "Propagation des oppositions : délai et retards par prestataire",
        "Propagation of objections: lag and overdue per processor",
    ),
    "violations": ("Violations", "Violations"),
}
EXTRA_CHARTS = (  # table, label column, value column, colour: the report's charts plus these
    ("list_freshness", 0, 4, "#2f6a2f"),
    ("propagation_lag", 0, 5, "#8a2f2f"),
    ("violations", 0, 1, "#8a2f2f"),
)


class BadPeriod(ValueError):
    pass


def period(start: str | None, end: str | None, today: date) -> tuple[date, date]:
    """The first and last day (both included) asked for; by default the last 30 days."""
    try:
        last = date.fromisoformat(end) if end else today
        first = date.fromisoformat(start) if start else last - timedelta(days=DEFAULT_DAYS - 1)
    except ValueError as bad:
        raise BadPeriod("dates are YYYY-MM-DD") from bad
    if last < first or (last - first).days >= MAX_DAYS:
        raise BadPeriod("the period must run forwards and span at most three years")
    return first, last


def figures_of(service: Intake, info: KeyInfo, first: date, last: date) -> ComplianceFigures:
    from permis.services.reports import compliance_figures

    settings = service.settings
    return compliance_figures(
        service.db,
        info.principal,
        datetime.combine(first, time(), UTC),
        datetime.combine(last + timedelta(days=1), time(), UTC),
        settings.consent_max_age_days,
        settings.delivery_overdue_seconds,
    )


def charts_of(figures: ComplianceFigures) -> dict[str, Any]:
    from markupsafe import Markup

    from permis.entrypoints.charts import bar_chart
    from permis.entrypoints.html import report_charts

    charts = report_charts(figures.tables)
    for key, label, value, colour in EXTRA_CHARTS:
        rows = figures.tables[key].rows
        if rows:
            values = [max(0.0, float(r[value])) for r in rows]  # a stale list: 0 days left
            svg = bar_chart([str(r[label]) for r in rows], values, key, colour)
            charts[key] = Markup(svg)  # noqa: S704 - built from escaped parts in charts.py
    return charts


def _refused(refused: PermisError) -> HTMLResponse:
    if refused.http_status == 403:
        return render("backoffice_login", 403, problem="role")
    if refused.http_status == 429:
        return render("backoffice_login", 429, problem="rate")
    return render("backoffice_login", 401, problem="key")


async def _staff(request: Request) -> tuple[Intake, KeyInfo | HTMLResponse]:
    """The service and the signed-in compliance key, or the page to answer instead."""
    service = intake_of(request)
    try:
        found = await run_in_threadpool(signed_in, request, service, COOKIE)
    except PermisError as refused:
        return service, _refused(refused)
    if found is None:
        return service, render("backoffice_login", 401 if request.url.path != PATH else 200)
    if found[0].role not in ALLOWED:
        return service, render("backoffice_login", 403, problem="role")
    return service, found[0]


async def _period_of(
    request: Request, service: Intake, info: KeyInfo
) -> tuple[ComplianceFigures, date, date] | HTMLResponse:
    today = service.clock().astimezone(UTC).date()
    query = request.query_params
    try:
        first, last = period(query.get("from") or None, query.get("to") or None, today)
    except BadPeriod:
        return render("backoffice_login", 422, problem="period")
    figures = await run_in_threadpool(figures_of, service, info, first, last)
    return figures, first, last


@router.get(PATH, response_class=HTMLResponse)
async def backoffice(request: Request) -> HTMLResponse:
    service, info = await _staff(request)
    if isinstance(info, HTMLResponse):
        return info
    found = await _period_of(request, service, info)
    if isinstance(found, HTMLResponse):
        return found
    figures, first, last = found
    return render(
        "backoffice",
        figures=figures,
        charts=charts_of(figures),
        titles=TITLES,
        first=first.isoformat(),
        last=last.isoformat(),
        role=info.role.value,
    )


@router.get(PATH + "/export/{table}.csv")
async def backoffice_export(request: Request, table: str) -> Response:
    service, info = await _staff(request)
    if isinstance(info, HTMLResponse):
        return info
    if table not in TITLES:
        return render("backoffice_login", 404, problem="table")
    found = await _period_of(request, service, info)
    if isinstance(found, HTMLResponse):
        return found
    figures, first, last = found
    name = f"{table}_{first.isoformat()}_{last.isoformat()}.csv"
    return Response(
        figures.tables[table].to_csv(),
        media_type="text/csv; charset=utf-8",
        headers={**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(PATH + "/report", response_class=HTMLResponse)
async def backoffice_report(request: Request) -> HTMLResponse:
    from permis.entrypoints.html import report_html

    service, info = await _staff(request)
    if isinstance(info, HTMLResponse):
        return info
    found = await _period_of(request, service, info)
    if isinstance(found, HTMLResponse):
        return found
    generated = service.clock().isoformat(timespec="seconds")
    return HTMLResponse(report_html(found[0], generated), headers=SECURITY_HEADERS)


@router.get(PATH + "/relevance", response_class=HTMLResponse)
async def backoffice_relevance(request: Request) -> HTMLResponse:
    service, info = await _staff(request)
    if isinstance(info, HTMLResponse):
        return info
    configured = service.settings.relevance_report_path
    path = Path(configured) if configured else None
    if path is None or not path.is_file():
        return render("backoffice_relevance", configured=configured)
    page = await run_in_threadpool(path.read_text, encoding="utf-8")
    return HTMLResponse(page, headers=SECURITY_HEADERS)


@router.post(PATH + "/login", response_class=HTMLResponse)
async def backoffice_login(request: Request) -> Response:
    service = intake_of(request)
    key = str((await request.form()).get("key") or "").strip()
    try:
        info = await run_in_threadpool(authenticate, request, key)
    except PermisError as refused:
        return _refused(refused)
    if info.role not in ALLOWED:
        return render("backoffice_login", 403, problem="role")
    session = await run_in_threadpool(service.session_key)
    response = RedirectResponse(PATH, status_code=303)
    start_session(response, service, COOKIE, PATH, key, session)
    return response


@router.post(PATH + "/logout")
async def backoffice_logout() -> Response:
    response = RedirectResponse(PATH, status_code=303)
    end_session(response, COOKIE, PATH)
    return response
