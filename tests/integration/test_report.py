"""The compliance report: figures from services/reports.py, HTML, PDF (Chromium), PNG pages."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from permis.bootstrap import App
from permis.domain.model import Channel, Outcome, Source
from permis.services.lists import import_list
from permis.services.reports import compliance_figures

SECTIONS = (
    "Rapport de conformité",
    "Compliance report",
    "Objections by door",
    "Objections by day",
    "Contact pressure (30 days)",
    "Consents expiring soon",
    "Opposition list freshness",
    "Propagation of objections",
)
DOCS = Path(__file__).resolve().parents[2] / "docs"


def populate(app: App, tmp_path: Path) -> dict[str, int]:
    """A month of activity: objections from several doors, attempts, consents, a Bloctel list."""
    rng = random.Random(6)
    start = datetime(2026, 11, 2, 9, tzinfo=UTC)
    doors = {Source.SMS: 9, Source.EMAIL: 6, Source.AGENT: 4, Source.WEB: 3, Source.POST: 1}
    i = 0
    for source, count in doors.items():
        for _ in range(count):
            at = start + timedelta(days=rng.randrange(26), hours=rng.randrange(8))
            app.register.record_objection(
                principal=None, contact=f"+3361{i:07d}", source=source, at=at
            )
            i += 1
    for person in range(40):
        for _ in range(1 + person % 6):
            at = start + timedelta(days=rng.randrange(26), hours=1)
            app.register.record_attempt(
                principal=None,
                contact=f"+3362{person:07d}",
                channel=Channel.CALL,
                at=at,
                outcome=Outcome.NO_ANSWER,
            )
    for person in range(12):
        app.register.record_consent(
            principal=None,
            contact=f"+3363{person:07d}",
            channel=Channel.SMS,
            source=Source.WEB,
            purpose="prospecting",
            at=start - timedelta(days=300),
            expires=start + timedelta(days=30 + person * 3),
        )
    listing = tmp_path / "bloctel.txt"
    listing.write_text(
        "\n".join(f"06 40 00 00 {n:02d}" for n in range(50)) + "\n", encoding="utf-8"
    )
    import_list(app.db, "bloctel", listing, start - timedelta(days=20), start)
    return {"objections": sum(doors.values()), "sms": doors[Source.SMS]}


def test_figures_are_plain_tables(app: App, tmp_path: Path) -> None:
    expected = populate(app, tmp_path)
    figures = compliance_figures(
        app.db, None, datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC), 365
    )
    by_source = dict(figures.tables["objections_by_source"].rows)
    assert by_source["sms"] == expected["sms"] and sum(by_source.values()) == expected["objections"]
    by_day = figures.tables["objections_by_day"].rows
    assert len(by_day) == 30 and sum(n for _, n in by_day) == expected["objections"]
    pressure = dict(figures.tables["contact_pressure"].rows)
    assert sum(pressure.values()) == 40 and pressure["5-9"] > 0
    assert sum(n for _, n in figures.tables["consents_expiring"].rows) > 0
    ((name, _, _, numbers, _, status),) = figures.tables["list_freshness"].rows
    assert (name, numbers, status) == ("bloctel", 50, "stale")  # 30 days from Oct 13
    assert figures.tables["propagation_lag"].rows == []
    assert figures.tables["propagation_lag"].note == "no opt-out delivered in the period"
    assert figures.tables["violations"].rows == []
    assert figures.tables["objections_by_source"].to_csv().startswith("source,objections\nsms,9\n")


def _pdf_pages_to_png(pdf: Path, out: Path) -> list[Path]:
    """PNG pages: pdftoppm when installed, else pypdfium2."""
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(out / "page")], check=True)
        return sorted(out.glob("page*.png"))
    import pypdfium2 as pdfium

    pages = []
    document = pdfium.PdfDocument(str(pdf))
    for index in range(len(document)):
        bitmap = document[index].render(scale=60 / 72, rev_byteorder=True, may_draw_forms=False)
        channels = bitmap.n_channels
        rows = bytes(bitmap.buffer)
        stride = bitmap.stride
        raw = b"".join(
            b"\x00" + rows[y * stride : y * stride + bitmap.width * channels]
            for y in range(bitmap.height)
        )
        path = out / f"page-{index + 1}.png"
        path.write_bytes(_png(bitmap.width, bitmap.height, channels, raw))
        assert len(set(raw[1 : 4000 * channels])) > 1 or len(set(raw)) > 2  # not a blank page
        pages.append(path)
    document.close()
    return pages


def _png(width: int, height: int, channels: int, raw: bytes) -> bytes:
    """A minimal PNG encoder (8-bit RGB or RGBA rows, filter 0): no imaging library needed."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    colour = 6 if channels == 4 else 2
    header = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def _pdf_text(pdf: Path) -> str:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(pdf))
    text = "\n".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    document.close()
    return text


def test_report_html_pdf_png_pages_and_screenshot(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from permis.entrypoints.cli import main

    populate(app, tmp_path)
    monkeypatch.setenv("PERMIS_DATABASE_URL", app.settings.database_url)
    html, pdf = tmp_path / "report.html", tmp_path / "report.pdf"
    code = main(
        [
            "report",
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-30",
            "--out",
            str(html),
            "--pdf",
            str(pdf),
        ]
    )
    assert code == 0
    page = html.read_text(encoding="utf-8")
    assert page.count("<svg") == 4 and "http" not in page.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )
    text = " ".join(_pdf_text(pdf).split())
    for heading in SECTIONS:
        assert heading in text, heading
    pngs = _pdf_pages_to_png(pdf, tmp_path)
    assert pngs and all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)

    from permis.adapters.chromium import screenshot

    shot = screenshot(html, tmp_path / "report.png", width=1100, height=2000)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    if os.environ.get("PERMIS_WRITE_DOCS"):  # PERMIS_WRITE_DOCS=1 refreshes docs/report.png
        shutil.copy(shot, DOCS / "report.png")


def test_report_refuses_an_empty_period(cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("init")[0] == 0
    code, _, err = cli("report", "--from", "2026-11-30", "--to", "2026-11-01")
    assert code == 2 and "--to must be after --from" in err
    code, _, err = cli("report", "--from", "yesterday", "--to", "2026-11-01")
    assert code == 2 and "INVALID_TIME" in err


def test_propagation_lag_overdue_and_violations(app: App) -> None:
    """Two processors on the feed: one acknowledges after 2 s, one never (overdue after an hour);
    a call made a day after the objection is a violation."""
    from permis.services.deliveries import Deliveries
    from permis.services.processors import Processors
    from permis.services.propagation import fan_out

    clock = app.clock
    processors = Processors(app.db, clock)
    processors.add(None, "lille", ["call"], feed=True)
    processors.add(None, "tunis", ["call"], feed=True)
    clock.set("2025-12-01T10:00:00+00:00")  # type: ignore[attr-defined]
    app.register.record_objection(principal=None, contact="0612345678", source=Source.AGENT)
    fan_out(app.db, clock)
    feed = Deliveries(app.db, clock, 3600)
    page = feed.changes(None, "lille", None)
    clock.set("2025-12-01T10:00:02+00:00")  # type: ignore[attr-defined]
    feed.changes(None, "lille", page.cursor)
    feed.changes(None, "tunis", None)  # read, never acknowledged
    app.register.record_attempt(
        principal=None,
        contact="0612345678",
        channel=Channel.CALL,
        at=datetime(2025, 12, 2, 10, tzinfo=UTC),
        processor="tunis",
        outcome=Outcome.NO_ANSWER,
    )
    figures = compliance_figures(
        app.db, None, datetime(2025, 12, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC), 365
    )
    assert figures.tables["propagation_lag"].rows == [
        ("lille", 1, 1, 2.0, 2.0, 0),
        ("tunis", 1, 0, 0.0, 0.0, 1),
    ]
    assert figures.tables["violations"].rows == [("tunis", 1, 24.0)]
