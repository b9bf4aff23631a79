"""The back office through the ASGI app: sign-in, roles, the page, CSV exports, the reports."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from permis.bootstrap import App
from permis.config import Settings
from permis.entrypoints.api import create_app
from permis.entrypoints.web.backoffice import TITLES
from permis.services.keys import Role
from permis.services.reports import compliance_figures
from tests.integration.test_report import populate

PERIOD = {"from": "2026-11-01", "to": "2026-11-30"}
STAFF = (Role.COMPLIANCE, Role.ADMIN)
OTHERS = (Role.CAMPAIGN, Role.PROCESSOR, Role.AGENT)


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_app(app)) as test_client:
        yield test_client


def key_of(app: App, role: Role) -> str:
    if role is Role.PROCESSOR:
        app.register.add_processor(None, "tunis", ["call"])
    return app.keys.create(role, processor="tunis" if role is Role.PROCESSOR else None).key


def sign_in(client: TestClient, key: str) -> int:
    answer = client.post("/backoffice/login", data={"key": key}, follow_redirects=False)
    return answer.status_code


def test_nobody_signed_in_gets_the_sign_in_form(client: TestClient) -> None:
    page = client.get("/backoffice")
    assert page.status_code == 200 and 'action="/backoffice/login"' in page.text
    for path in ("/backoffice/export/violations.csv", "/backoffice/report"):
        answer = client.get(path)
        assert answer.status_code == 401 and "Clé d'accès" in answer.text, path
        assert "text/html" in answer.headers["content-type"]


@pytest.mark.parametrize("role", STAFF)
def test_a_compliance_key_sees_every_table(
    app: App, client: TestClient, tmp_path: Path, role: Role
) -> None:
    populate(app, tmp_path)
    answer = client.post(
        "/backoffice/login", data={"key": key_of(app, role)}, follow_redirects=False
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/backoffice"
    cookie = answer.headers["set-cookie"]
    for attribute in ("permis_backoffice=", "HttpOnly", "SameSite=strict", "Path=/backoffice"):
        assert attribute in cookie
    page = client.get("/backoffice", params=PERIOD)
    assert page.status_code == 200
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert '<html lang="fr">' in page.text and "<script" not in page.text
    for key, (fr, en) in TITLES.items():
        assert f'id="{key}"' in page.text
        assert fr.replace("'", "&#39;") in page.text and en in page.text
        assert f"/backoffice/export/{key}.csv?from=2026-11-01&amp;to=2026-11-30" in page.text
    assert page.text.count("<svg") == 5  # the report's four charts and the list's days left
    assert "/backoffice/report?from=2026-11-01&amp;to=2026-11-30" in page.text
    assert "/backoffice/relevance" in page.text


def test_the_default_period_is_the_last_30_days(app: App, client: TestClient) -> None:
    sign_in(client, key_of(app, Role.COMPLIANCE))
    page = client.get("/backoffice")
    assert 'value="2026-10-25"' in page.text and 'value="2026-11-23"' in page.text
    by_day = client.get("/backoffice/export/objections_by_day.csv").text.splitlines()
    assert by_day[0] == "day,objections" and len(by_day) == 1 + 30
    assert by_day[1].startswith("2026-10-25,") and by_day[-1].startswith("2026-11-23,")


@pytest.mark.parametrize("role", OTHERS)
def test_other_keys_are_refused_with_a_403_page(app: App, client: TestClient, role: Role) -> None:
    key = key_of(app, role)
    answer = client.post("/backoffice/login", data={"key": key}, follow_redirects=False)
    assert answer.status_code == 403 and "pas une clé de conformité" in answer.text
    assert "set-cookie" not in answer.headers
    for path in ("/backoffice", "/backoffice/export/violations.csv", "/backoffice/relevance"):
        refused = client.get(path, headers={"Authorization": f"Bearer {key}"})
        assert refused.status_code == 403 and "not a compliance key" in refused.text, path
        assert "text/html" in refused.headers["content-type"]


def test_a_cookie_holding_another_role_is_refused(app: App, client: TestClient) -> None:
    """The role is checked on every request, not only at sign-in: an agent's session cookie
    (same sealing) replayed on the back office's path gets the 403 page."""
    agent = client.post(
        "/agent/login", data={"key": key_of(app, Role.AGENT)}, follow_redirects=False
    )
    sealed = re.search(r"permis_agent=([^;]+)", agent.headers["set-cookie"])
    assert sealed is not None
    client.cookies.set("permis_backoffice", sealed.group(1), path="/backoffice")
    assert client.get("/backoffice").status_code == 403


def test_wrong_keys_and_periods(app: App, client: TestClient) -> None:
    assert sign_in(client, "permis_nope_nope") == 401
    assert client.get("/backoffice").status_code == 200  # still the sign-in form
    sign_in(client, key_of(app, Role.COMPLIANCE))
    for bad in ({"from": "2026-11-30", "to": "2026-11-01"}, {"from": "30/11/2026"}):
        answer = client.get("/backoffice", params=bad)
        assert answer.status_code == 422 and "Période non reconnue" in answer.text
    assert client.get("/backoffice/export/secrets.csv").status_code == 404
    assert client.get("/backoffice/export/violations.csv", params={"to": "x"}).status_code == 422


def test_each_csv_export_is_the_table_to_csv(app: App, client: TestClient, tmp_path: Path) -> None:
    populate(app, tmp_path)
    sign_in(client, key_of(app, Role.COMPLIANCE))
    expected = compliance_figures(
        app.db,
        "acme",
        datetime(2026, 11, 1, tzinfo=UTC),
        datetime(2026, 12, 1, tzinfo=UTC),
        app.settings.consent_max_age_days,
        app.settings.delivery_overdue_seconds,
    )
    assert sum(r[1] for r in expected.tables["objections_by_source"].rows) == 23
    for key in TITLES:
        answer = client.get(f"/backoffice/export/{key}.csv", params=PERIOD)
        assert answer.status_code == 200, key
        assert answer.headers["content-type"] == "text/csv; charset=utf-8"
        disposition = f'attachment; filename="{key}_2026-11-01_2026-11-30.csv"'
        assert answer.headers["content-disposition"] == disposition
        assert answer.text == expected.tables[key].to_csv(), key


def test_the_full_report_is_the_cli_page(app: App, client: TestClient, tmp_path: Path) -> None:
    from permis.entrypoints.html import report_html

    populate(app, tmp_path)
    sign_in(client, key_of(app, Role.COMPLIANCE))
    answer = client.get("/backoffice/report", params=PERIOD)
    figures = compliance_figures(
        app.db,
        "acme",
        datetime(2026, 11, 1, tzinfo=UTC),
        datetime(2026, 12, 1, tzinfo=UTC),
        app.settings.consent_max_age_days,
        app.settings.delivery_overdue_seconds,
    )
    assert answer.status_code == 200
    assert answer.text == report_html(figures, app.clock().isoformat(timespec="seconds"))


def test_the_relevance_report(app: App, client: TestClient, tmp_path: Path) -> None:
    sign_in(client, key_of(app, Role.COMPLIANCE))
    missing = client.get("/backoffice/relevance")
    assert missing.status_code == 200
    assert "permis model report --out" in missing.text
    assert "PERMIS_RELEVANCE_REPORT_PATH" in missing.text
    from permis.entrypoints.report import write_report

    path = tmp_path / "relevance.html"
    plan = {
        "input_rows": 10,
        "allowed_rows": 8,
        "budget": 5,
        "planned": 5,
        "contacts_avoided": 3,
        "expected_successes_kept": 1.5,
        "expected_successes_all": 1.8,
        "calls_saved": 3,
        "messages_saved": 0,
    }
    write_report(path, None, plan)
    app.settings = Settings(database_url=app.settings.database_url, relevance_report_path=str(path))
    shown = client.get("/backoffice/relevance")
    assert shown.status_code == 200 and shown.text == path.read_text(encoding="utf-8")
    assert "Campaign plan" in shown.text


def test_sign_out(app: App, client: TestClient) -> None:
    sign_in(client, key_of(app, Role.COMPLIANCE))
    answer = client.post("/backoffice/logout", follow_redirects=False)
    assert answer.status_code == 303 and 'permis_backoffice=""' in answer.headers["set-cookie"]
    client.cookies.clear()
    assert 'action="/backoffice/login"' in client.get("/backoffice").text
