"""The preference page and the agent screen in headless Chromium (Debian's ``/usr/bin/chromium``
driven by Playwright), against a real uvicorn server on a free port, JavaScript turned off.

Needs Debian's ``chromium`` package (or ``PERMIS_TEST_CHROMIUM`` naming another Chromium); no
browser download. Writes ``docs/preference-page.png`` and ``docs/agent-screen.png`` for the README
(with ``PERMIS_WRITE_DOCS=1``, as ``make docs`` sets it).
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright

from permis.bootstrap import App
from permis.config import Settings
from permis.domain.model import Channel, Source
from permis.entrypoints.api import create_app
from permis.services.intake import Intake
from permis.services.keys import Role

CHROMIUM = os.environ.get("PERMIS_TEST_CHROMIUM", "/usr/bin/chromium")  # Debian's package
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DOCS = Path(__file__).resolve().parents[2] / "docs"


def shot(name: str) -> Path:
    """Where a screenshot goes: ``docs/`` with ``PERMIS_WRITE_DOCS=1`` (``make docs``), else a
    temporary folder (a test run leaves the tree as it found it)."""
    folder = DOCS if os.environ.get("PERMIS_WRITE_DOCS") else Path(tempfile.gettempdir())
    return folder / name


EMAIL = "camille.martin@example.org"
PHONE = "+33612345678"

LABELLED = """() => [...document.querySelectorAll('input:not([type=hidden]), select')]
    .filter(el => el.labels.length === 0 && !el.closest('label')).map(el => el.name)"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(app: App) -> Iterator[str]:
    """The whole app served by uvicorn in a thread; its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app.settings = Settings(
        database_url=app.settings.database_url, public_url=base, receipt_secret="e2e receipts"
    )
    config = uvicorn.Config(
        create_app(app), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not running.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield base
    finally:
        running.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


def no_js_page(browser: Browser) -> Page:
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1100, "height": 900}, locale="fr-FR"
    )
    return context.new_page()


def events(app: App, contact: str) -> list[str]:
    return [e.type for e in app.register.history("acme", contact)]


def test_the_preference_page_in_chromium(app: App, server: str, browser: Browser) -> None:
    for channel in (Channel.EMAIL, Channel.SMS):
        app.register.record_consent(
            principal="acme",
            contact=EMAIL,
            channel=channel,
            source=Source.WEB,
            purpose="prospecting",
            at=app.clock() - timedelta(days=30),
        )
    url = Intake(app.db, app.register, app.settings, app.clock).links("acme", EMAIL).preferences
    page = no_js_page(browser)
    page.goto(url)
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.locator('[lang="en"]').count() > 10
    assert EMAIL not in page.content()

    sms = page.locator("section[aria-labelledby=h-sms]")
    sms.get_by_label("Nombre").fill("4")
    sms.get_by_label("Période").select_option("year")
    sms.get_by_role("button", name="Enregistrer").click()
    page.wait_for_load_state()
    assert "done=budget" in page.url
    assert page.get_by_role("status").inner_text().startswith("Votre choix est enregistré")
    assert "4 par an" in page.locator("section[aria-labelledby=h-sms]").inner_text()
    assert page.get_by_label("Le reçu, signé").input_value().startswith("eyJ")  # its receipt

    page.locator("section[aria-labelledby=h-email]").get_by_role(
        "button", name="Retirer mon accord"
    ).click()
    page.wait_for_load_state()
    page.locator("section[aria-labelledby=h-call]").get_by_role(
        "button", name="Ne plus me contacter ainsi"
    ).click()
    page.wait_for_load_state()
    assert events(app, EMAIL) == [
        "ConsentGiven",
        "ConsentGiven",
        "BudgetSet",
        "ConsentWithdrawn",
        "ObjectionRecorded",
    ]
    page.screenshot(path=str(shot("preference-page.png")), full_page=True)
    page.context.close()


def test_every_field_has_a_label(app: App, server: str, browser: Browser) -> None:
    url = Intake(app.db, app.register, app.settings, app.clock).links("acme", EMAIL).preferences
    page = browser.new_page()  # JavaScript on, only to inspect the page
    page.goto(url)
    assert page.evaluate(LABELLED) == []
    assert page.locator("fieldset legend").count() == len(Channel)
    assert page.locator("h1").count() == 1 and page.locator("h2").count() == len(Channel) + 2
    page.goto(f"{server}/agent")
    assert page.evaluate(LABELLED) == []
    page.get_by_label("Clé d'accès").fill(app.keys.create(Role.AGENT).key)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_load_state()
    assert page.get_by_label("Numéro de téléphone ou courriel").count() == 1
    assert page.evaluate(LABELLED) == []
    page.close()


def test_an_expired_link_in_chromium(app: App, server: str, browser: Browser) -> None:
    url = Intake(app.db, app.register, app.settings, app.clock).links("acme", EMAIL).preferences
    app.clock.now += timedelta(days=365)  # type: ignore[attr-defined]
    page = no_js_page(browser)
    response = page.goto(url)
    assert response is not None and response.status == 410
    assert page.get_by_role("heading", level=1).inner_text() == "Ce lien a expiré"
    assert "To get a new link" in page.content()
    page.context.close()


def test_the_agent_screen_in_chromium(app: App, server: str, browser: Browser) -> None:
    key = app.keys.create(Role.AGENT, label="service client").key
    page = no_js_page(browser)
    page.goto(f"{server}/agent")
    page.get_by_label("Clé d'accès").fill(key)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_load_state()
    page.get_by_label("Numéro de téléphone ou courriel").fill("06 12 34 56 78")
    page.get_by_label("« Ne me contactez plus »", exact=False).check()
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_load_state()
    status = page.get_by_role("status").inner_text()
    assert "Opposition enregistrée pour +336******78" in status
    assert PHONE not in page.content()
    assert events(app, PHONE) == ["ObjectionRecorded"]
    cookies = page.context.cookies()
    assert [(c["name"], c["httpOnly"], c["sameSite"]) for c in cookies] == [
        ("permis_agent", True, "Strict")
    ]
    page.screenshot(path=str(shot("agent-screen.png")), full_page=True)

    page.get_by_label("Numéro de téléphone ou courriel").fill("06 12 34 (bureau)")
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_load_state()
    assert "non reconnu" in page.get_by_role("alert").inner_text()
    assert events(app, PHONE) == ["ObjectionRecorded"]
    page.context.close()
