"""The back office in headless Chromium (Debian's ``/usr/bin/chromium``, Playwright), JavaScript
off, against the real uvicorn server of ``test_pages_browser`` (shared by conftest.py). Writes ``docs/backoffice.png`` with ``PERMIS_WRITE_DOCS=1``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from playwright.sync_api import Browser, Page

from permis.bootstrap import App
from permis.domain.model import Channel, Outcome, Source
from permis.entrypoints.web.backoffice import TITLES
from permis.services.keys import Role
from permis.services.reports import compliance_figures
from tests.e2e.test_pages_browser import LABELLED, no_js_page, shot
from tests.integration.test_report import populate


def propagation(app: App) -> None:
    """Two processors on the feed: lille acknowledges after 2 s, tunis never and calls anyway."""
    from permis.services.deliveries import Deliveries
    from permis.services.processors import Processors
    from permis.services.propagation import fan_out

    clock = app.clock
    processors = Processors(app.db, clock)
    processors.add(None, "lille", ["call"], feed=True)
    processors.add(None, "tunis", ["call"], feed=True)
    clock.set("2026-11-10T10:00:00+00:00")  # type: ignore[attr-defined]
    app.register.record_objection(principal=None, contact="0612345678", source=Source.AGENT)
    fan_out(app.db, clock)
    feed = Deliveries(app.db, clock, 3600)
    page = feed.changes(None, "lille", None)
    clock.set("2026-11-10T10:00:02+00:00")  # type: ignore[attr-defined]
    feed.changes(None, "lille", page.cursor)
    feed.changes(None, "tunis", None)
    app.register.record_attempt(
        principal=None,
        contact="0612345678",
        channel=Channel.CALL,
        at=datetime(2026, 11, 11, 10, tzinfo=UTC),
        processor="tunis",
        outcome=Outcome.NO_ANSWER,
    )
    clock.set("2026-11-30T12:00:00+00:00")  # type: ignore[attr-defined]


def sign_in(page: Page, base: str, key: str) -> None:
    page.goto(f"{base}/backoffice")
    page.get_by_label("Clé d'accès").fill(key)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_load_state()


def test_the_back_office_in_chromium(
    app: App, server: str, browser: Browser, tmp_path: Path
) -> None:
    propagation(app)  # first: the month's other objections stay undelivered (no fan-out)
    populate(app, tmp_path)
    figures = compliance_figures(
        app.db,
        "acme",
        datetime(2026, 11, 1, tzinfo=UTC),
        datetime(2026, 12, 1, tzinfo=UTC),
        app.settings.consent_max_age_days,
        app.settings.delivery_overdue_seconds,
    )
    lag, late = figures.tables["propagation_lag"].rows, figures.tables["violations"].rows
    assert [r[0] for r in lag] == ["lille", "tunis"] and lag[1][5] > 0  # tunis overdue
    assert late == [("tunis", 1, 24.0)]
    page = no_js_page(browser)
    sign_in(page, server, app.keys.create(Role.COMPLIANCE, label="conformité").key)
    assert page.get_by_role("heading", level=1).inner_text().startswith("Back-office conformité")
    assert page.get_by_label("Du · From").input_value() == "2026-11-01"  # the last 30 days
    page.get_by_label("Du · From").fill("2026-11-01")
    page.get_by_label("Au (inclus)").fill("2026-11-30")
    page.get_by_role("button", name="Afficher").click()
    page.wait_for_load_state()
    assert "from=2026-11-01" in page.url and "to=2026-11-30" in page.url
    for key, (fr, _) in TITLES.items():
        assert page.locator(f"section#{key} h2").inner_text().startswith(fr), key
    assert page.locator("svg.chart").count() == 7
    for key in ("propagation_lag", "violations"):
        shown = page.locator(f"section#{key} tbody tr").all_inner_texts()
        assert [t.split() for t in shown] == [
            [str(v) for v in row] for row in figures.tables[key].rows
        ], key
    cookies = page.context.cookies()
    assert [(c["name"], c["httpOnly"], c["sameSite"], c["path"]) for c in cookies] == [
        ("permis_backoffice", True, "Strict", "/backoffice")
    ]
    page.screenshot(path=str(shot("backoffice.png")), full_page=True)

    with page.expect_download() as download:
        page.locator("section#objections_by_source").get_by_role("link", name="CSV").click()
    saved = Path(download.value.path()).read_text(encoding="utf-8")
    assert saved == figures.tables["objections_by_source"].to_csv()
    assert download.value.suggested_filename == "objections_by_source_2026-11-01_2026-11-30.csv"

    page.get_by_role("link", name="Rapport de conformité complet").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text().startswith("Rapport de conformité")
    page.go_back()
    page.get_by_role("link", name="Rapport de pertinence").click()
    page.wait_for_load_state()
    assert "PERMIS_RELEVANCE_REPORT_PATH" in page.content()
    page.context.close()


def test_an_agent_key_gets_the_refusal_page(app: App, server: str, browser: Browser) -> None:
    page = no_js_page(browser)
    page.goto(f"{server}/backoffice")
    page.get_by_label("Clé d'accès").fill(app.keys.create(Role.AGENT).key)
    with page.expect_response(f"{server}/backoffice/login") as answer:
        page.get_by_role("button", name="Se connecter").click()
    assert answer.value.status == 403
    assert "pas une clé de conformité" in page.get_by_role("alert").inner_text()
    assert page.context.cookies() == []
    page.context.close()


def test_every_back_office_field_has_a_label(app: App, server: str, browser: Browser) -> None:
    page = browser.new_page()  # JavaScript on, only to inspect the page
    page.goto(f"{server}/backoffice")
    assert page.evaluate(LABELLED) == []
    sign_in(page, server, app.keys.create(Role.ADMIN).key)
    assert page.evaluate(LABELLED) == []
    assert page.locator("h1").count() == 1
    assert page.locator("table caption").count() == len(TITLES)
    page.close()
