"""Server-rendered SVG bar charts: no JavaScript, no chart library, printable, self-contained."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 640, 220, 48, 44, 16


def bar_chart(
    labels: Sequence[str], values: Sequence[float], title: str, colour: str = "#2f5d8a"
) -> str:
    """A vertical bar chart as an ``<svg>`` string (labels thinned out when there are many)."""
    count = max(1, len(values))
    top = max([*values, 1])
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP
    step = plot_w / count
    every = max(1, count // 12)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(title)}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" class="chart">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - 8}" y2="{TOP + plot_h}" '
        'stroke="#444"/>',
    ]
    for tick in (0, top / 2, top):
        y = TOP + plot_h - plot_h * tick / top
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">'
            f"{_num(tick)}</text>"
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - 8}" y2="{y:.1f}" stroke="#ddd"/>'
        )
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        h = plot_h * value / top
        x = LEFT + i * step + step * 0.1
        parts.append(
            f'<rect x="{x:.1f}" y="{TOP + plot_h - h:.1f}" width="{step * 0.8:.1f}" '
            f'height="{h:.1f}" fill="{colour}"><title>{escape(label)}: {_num(value)}</title></rect>'
        )
        if i % every == 0:
            parts.append(
                f'<text x="{x + step * 0.4:.1f}" y="{TOP + plot_h + 14}" font-size="10" '
                f'text-anchor="middle">{escape(label[-5:] if len(labels) > 12 else label)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _num(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"
