"""Headless Chromium: HTML file → PDF, or → PNG screenshot (the system's Debian package).

Chromium is the renderer the back office is tested in, so the PDF looks like the page. It runs as
a subprocess with a throw-away profile, no network services, and a timeout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from permis.errors import ToolMissing

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def chromium_path() -> str:
    """``PERMIS_CHROMIUM``, else ``chromium`` or ``chromium-browser`` on the PATH."""
    for candidate in (os.environ.get("PERMIS_CHROMIUM"), "chromium", "chromium-browser"):
        if candidate and (found := shutil.which(candidate)):
            return found
    raise ToolMissing(
        "Headless Chromium is needed for PDF and PNG output: apt-get install chromium"
    )


def _run(html: Path, *args: str, timeout: float) -> None:
    with tempfile.TemporaryDirectory(prefix="permis-chromium-") as profile:
        command = [chromium_path(), *FLAGS, f"--user-data-dir={profile}", *args]
        command.append(html.resolve().as_uri())
        proc = subprocess.run(command, capture_output=True, timeout=timeout, check=False)  # noqa: S603
    if proc.returncode != 0:
        raise ToolMissing(f"Chromium failed (exit {proc.returncode})")


def print_pdf(html: Path, pdf: Path, timeout: float = 60.0) -> Path:
    """Print ``html`` to ``pdf`` (A4 by the page's CSS), without header and footer."""
    _run(html, "--no-pdf-header-footer", f"--print-to-pdf={pdf.resolve()}", timeout=timeout)
    if not pdf.exists():
        raise ToolMissing("Chromium wrote no PDF")
    return pdf


def screenshot(
    html: Path, png: Path, width: int = 1280, height: int = 2400, timeout: float = 60.0
) -> Path:
    """A PNG of the page at ``width`` x ``height`` CSS pixels."""
    _run(html, f"--screenshot={png.resolve()}", f"--window-size={width},{height}", timeout=timeout)
    if not png.exists():
        raise ToolMissing("Chromium wrote no screenshot")
    return png
