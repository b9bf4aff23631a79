"""HTML pages rendered on the server with Jinja2: the evidence pack and the compliance report.

Headings are bilingual (French first, then English); the pages are self-contained (inline CSS,
inline SVG charts), so one file can be sent, archived or printed to PDF by headless Chromium.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TEMPLATES = Path(__file__).parent / "templates"


def _environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pretty"] = lambda v: json.dumps(v, ensure_ascii=False, indent=1, sort_keys=True)
    return env


def render(template: str, **context: Any) -> str:
    return str(_environment().get_template(template).render(**context))


def evidence_html(pack: dict[str, Any]) -> str:
    return render("evidence.html.j2", pack=pack)


def report_charts(tables: dict[str, Any]) -> dict[str, Any]:
    """The SVG chart of each charted table (the report and the back office share them)."""
    from markupsafe import Markup

    from permis.entrypoints.charts import bar_chart

    charts = {}
    for key, column, colour in (
        ("objections_by_source", 1, "#8a2f2f"),
        ("objections_by_day", 1, "#8a2f2f"),
        ("contact_pressure", 1, "#2f5d8a"),
        ("consents_expiring", 1, "#8a6d2f"),
    ):
        table = tables[key]
        labels = [str(r[0]) for r in table.rows]
        svg = bar_chart(labels, [float(r[column]) for r in table.rows], key, colour)
        charts[key] = Markup(svg)  # noqa: S704 - built from escaped parts in charts.py
    return charts


def report_html(figures: Any, generated_at: str) -> str:
    """The compliance report: each table of ``figures`` with its chart."""
    return render(
        "report.html.j2",
        figures=figures,
        tables=figures.tables,
        charts=report_charts(figures.tables),
        generated_at=generated_at,
    )
