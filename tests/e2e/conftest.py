"""The browser tests share one uvicorn server fixture and one Chromium (test_pages_browser)."""

from tests.e2e.test_pages_browser import browser, server

__all__ = ["browser", "server"]
