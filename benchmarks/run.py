"""Benchmarks: ``make bench`` runs them and writes docs/benchmarks.md (machine and date included).

Figures are measured here, never asserted in unit tests. Each figure is given with the command
that produced it.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from permis.bootstrap import build, init_register
from permis.config import Settings
from permis.domain.contact import parse_contact
from permis.domain.decide import decide
from permis.domain.model import Channel, CheckRequest, Facts, Source
from permis.domain.rules.fr import fr_pack
from permis.services.gate import CheckQuery

ROOT = Path(__file__).resolve().parents[1]
AT = datetime.fromisoformat("2026-11-24T10:30:00+01:00")


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return statistics.median(ordered), pick(0.95), pick(0.99)


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def bench_process(url: str, runs: int = 30) -> tuple[float, float, float]:
    """A whole ``permis check`` process, from exec to exit."""
    exe = Path(sys.executable).parent / "permis"
    env = {**os.environ, "PERMIS_DATABASE_URL": url}
    args = [
        str(exe),
        "check",
        "--contact",
        "06 12 34 56 78",
        "--channel",
        "call",
        "--at",
        AT.isoformat(),
    ]
    subprocess.run(args, env=env, capture_output=True, check=False)  # warm the page cache
    return percentiles(
        timed(lambda: subprocess.run(args, env=env, capture_output=True, check=False), runs)
    )


def bench_decide(runs: int = 20000) -> tuple[float, float, float]:
    """``decide`` alone, pure, on a consented contact in hours (the common case)."""
    from permis.domain.model import ConsentFact

    request = CheckRequest(parse_contact("06 12 34 56 78"), Channel.CALL, AT)
    facts = Facts(consents=(ConsentFact("call", "prospecting", datetime(2026, 9, 1, tzinfo=UTC)),))
    pack = fr_pack()
    decide(request, facts, pack)
    return percentiles(timed(lambda: decide(request, facts, pack), runs))


def bench_gate(url: str, runs: int = 5000, cache: int = 65_536) -> tuple[float, float, float]:
    """``Gate.check`` in process: parse, load the facts from the register (or the warm cache
    when ``cache`` > 0 and nothing committed since: SQLite only), decide."""
    app = build(Settings(database_url=url, check_cache_entries=cache))
    query = CheckQuery("06 12 34 56 78", Channel.CALL, AT)
    app.gate.check(query)
    result = percentiles(timed(lambda: app.gate.check(query), runs))
    app.close()
    return result


def prepare(url: str) -> None:
    app = init_register(Settings(database_url=url), "bench", "general")
    app.register.record_consent(
        principal=None,
        contact="06 12 34 56 78",
        channel=Channel.CALL,
        source=Source.WEB,
        purpose="prospecting",
        at=datetime(2026, 9, 1, tzinfo=UTC),
    )
    app.close()


def pg_schema(url: str) -> str:
    """A fresh schema of its own, so the benchmark never touches other data."""
    from urllib.parse import quote

    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS permis_bench CASCADE")
        conn.execute("CREATE SCHEMA permis_bench")
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote('-csearch_path=permis_bench')}"


def fmt(values: tuple[float, float, float], unit: str) -> str:
    scale = {"ms": 1e3, "µs": 1e6}[unit]
    return " / ".join(f"{v * scale:.1f} {unit}" for v in values)


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="permis-bench-"))
    sqlite_url = f"sqlite:///{folder / 'bench.db'}"
    prepare(sqlite_url)
    rows = [
        ("`permis check` whole process, SQLite", fmt(bench_process(sqlite_url), "ms"), "< 300 ms"),
        ("`decide` alone (pure)", fmt(bench_decide(), "µs"), ""),
        (
            "`Gate.check` in process, SQLite, warm (the contact's reads in memory)",
            fmt(bench_gate(sqlite_url), "µs"),
            "p99 < 50 µs on warm projections",
        ),
        (
            "`Gate.check` in process, SQLite, cache off (every check reads the register)",
            fmt(bench_gate(sqlite_url, cache=0), "µs"),
            "",
        ),
    ]
    pg = os.environ.get("PERMIS_TEST_DATABASE_URL")
    if pg:
        try:
            prepare_pg = pg_schema(pg)
            prepare(prepare_pg)
            rows.append(
                (
                    "`permis check` whole process, PostgreSQL",
                    fmt(bench_process(prepare_pg), "ms"),
                    "",
                )
            )
            rows.append(
                ("`Gate.check` in process, PostgreSQL", fmt(bench_gate(prepare_pg), "µs"), "")
            )
        except Exception as exc:  # a benchmark never hides a failure: it reports it
            rows.append(("PostgreSQL", f"failed: {type(exc).__name__}", ""))
    write(rows, [*other_sections(("machine",)), *bulk_sections(), *other_sections(OTHER)])


OTHER = ("http", "propagation", "pressure", "audit", "relevance")
"""The other issues' benchmarks, each a module with ``section()`` (run alone: ``python -m
benchmarks.<name>``). ``BENCH_ONLY=scrub,http`` runs a subset (``scrub`` is the bulk part; add
``machine``, the baselines every figure is read against, to measure them again beside it)."""


def wanted(name: str) -> bool:
    only = os.environ.get("BENCH_ONLY")
    return not only or name in only.split(",")


def other_sections(names: tuple[str, ...]) -> list[str]:
    import importlib

    out = []
    for name in names:
        if not wanted(name):
            out += [kept(name)]
            continue
        module = importlib.import_module(f"benchmarks.{name}")
        before = speed_probe()
        try:
            text = module.section()
        except Exception as exc:  # a benchmark never hides a failure: it reports it
            text = f"## {name}\n\nfailed: {type(exc).__name__}: {exc}\n"
        out += [stamped(name, text, (before, speed_probe()))]
    return out


def speed_probe() -> float:
    """Seconds per 10 million iterations of a plain Python loop (best of 3 runs of 2 million).

    This VM's speed moves by a factor of 3 within minutes with nothing else running (the same
    loop: 0.45 s at 16:12, 0.96 to 1.67 s at 16:25 on 2026-11-30, load average 0.2, no steal
    time), so each section says how fast the machine was just before and just after it."""
    from benchmarks.machine import python_loop

    return python_loop(2_000_000) * 5


MARK = "<!-- section: {} -->"


def stamped(name: str, text: str, probes: tuple[float, float]) -> str:
    """A section as measured now: its marker, then its text with the date, the load average and
    the speed probe before and after it under its heading (a subset run keeps the other
    sections, so each carries its own)."""
    heading, _, rest = text.strip("\n").partition("\n")
    load = " / ".join(f"{v:.1f}" for v in os.getloadavg())
    when = (
        f"_Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; load average {load} (1/5/15 min);"
        f" speed probe {probes[0]:.2f} s before, {probes[1]:.2f} s after (a 10 M-iteration Python"
        " loop; lower is faster)._"
    )
    return f"{MARK.format(name)}\n{heading}\n\n{when}\n{rest}\n"


def kept(name: str) -> str:
    """The section ``name`` as the last run that measured it wrote it (nothing if none did)."""
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    start = text.find(MARK.format(name))
    if start < 0:
        return ""
    end = text.find("<!-- section: ", start + 1)
    return text[start : end if end >= 0 else len(text)].rstrip("\n") + "\n"


def bulk_sections() -> list[str]:
    """Normalisation and the scrub at scale (``BENCH_SCALE`` < 1 shrinks every size)."""
    from benchmarks import normalise, scrub

    if not wanted("scrub"):
        return [kept("scrub")]
    scale = float(os.environ.get("BENCH_SCALE", "1"))
    before = speed_probe()
    norm = normalise.run()
    sizes = scrub.Sizes(
        rows=int(10_000_000 * scale),
        list_size=int(12_000_000 * scale),
        facts=int(1_000_000 * scale),
        attempts=int(int(os.environ.get("BENCH_ATTEMPTS", "50000000")) * scale),
        sample=int(int(os.environ.get("BENCH_LOOP_SAMPLE", "1000000")) * scale),
    )
    bulk = scrub.run(sizes, scrub.WORK)
    summary = bulk["summary"]
    assert isinstance(summary, dict)
    text = "\n".join(_bulk_lines(norm, sizes, bulk, summary))
    return [stamped("scrub", text, (before, speed_probe()))]


def _bulk_lines(
    norm: dict[str, Any], sizes: Any, bulk: dict[str, Any], summary: dict[str, Any]
) -> list[str]:
    from benchmarks import scrub

    return [
        "## Phone normalisation and bulk scrub (`benchmarks/normalise.py`, `benchmarks/scrub.py`)",
        "",
        "| rows | vectorised rows/s | phonenumbers rows/s | speed-up | disagreements |",
        "|---|---|---|---|---|",
        f"| {norm['rows']:,} | {norm['vectorised_rows_per_second']:,.0f} "
        f"| {norm['library_rows_per_second']:,.0f} | {norm['speedup']:.0f}x "
        f"| {norm['disagreements']} |",
        "",
        "### Bulk scrub and opposition list",
        "",
        f"Sizes: {sizes.rows:,} campaign rows (messy `;` CSV), a {sizes.list_size:,}-number"
        f" Bloctel list, {sizes.facts:,} consents and objections, {sizes.attempts:,} attempts"
        f" over three years; the row-by-row loop runs on the first {sizes.sample:,} rows.",
        "",
        "| what | figure | bar |",
        "|---|---|---|",
        f"| list import (whole process) | {bulk['list_import_seconds']} s, peak"
        f" {bulk['list_import_peak_gib']} GiB | seconds, not minutes |",
        f"| scrub end to end (whole process) | {bulk['scrub_seconds']} s, peak"
        f" {bulk['scrub_peak_gib']} GiB, {bulk['scrub_rows_per_second']:,} rows/s"
        " | < 15 s, < 4 GiB |",
        f"| the same scrub on {_day(scrub.LIST_AT)}, when calls were checked against Bloctel"
        f" (the list read) | {bulk['list_scrub_seconds']} s, peak {bulk['list_scrub_peak_gib']}"
        f" GiB; {_listed(bulk['list_summary'])} | < 15 s, < 4 GiB |",
        f"| row-by-row loop (`Gate.check` per row) | {bulk['loop_us_per_row']} µs/row | |",
        f"| vectorised scrub | {bulk['scrub_us_per_row']} µs/row,"
        f" {bulk['speedup_vs_loop']}x faster than the loop | ≥ 20x |",
        f"| decisions made by `decide` | {summary['decisions']:,} for {summary['input_rows']:,}"
        " rows | |",
        "",
        f"Scrub summary on {_day(scrub.SCRUB_AT)} (consent regime): allowed"
        f" {summary['allowed']:,}, refused {summary['refused']:,}, invalid"
        f" {summary['invalid']:,}; by reason {summary['by_reason']}.",
        "",
        f"On {_day(scrub.LIST_AT)}: by reason {bulk['list_summary']['by_reason']}.",
        "",
    ]


def _day(instant: str) -> str:
    return instant[:10]


def _listed(summary: dict[str, Any]) -> str:
    hits = summary["by_reason"].get("OPPOSITION_LIST", 0)
    return f"{hits:,} rows refused as on the list"


def write(rows: list[tuple[str, str, str]], sections: list[str]) -> None:
    cpu = platform.processor() or platform.machine()
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m benchmarks.run`); do not edit by hand.",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {platform.node()}, {os.cpu_count()} cores, {cpu}, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}",
        f"- load average when written: {' / '.join(f'{v:.1f}' for v in os.getloadavg())}"
        " (1 / 5 / 15 min; other work on the machine inflates the figures)",
        f"- speed probe when written: {speed_probe():.2f} s for a 10 M-iteration Python loop"
        " (this VM's speed moves by up to 3x within minutes: each section gives its own probe"
        " before and after it)",
        "- `BENCH_ONLY=scrub,http,...` runs a subset: the other sections keep their last"
        " figures, each under its own date and load average",
        "",
        "| what | median / p95 / p99 | bar |",
        "|---|---|---|",
        *[f"| {what} | {value} | {bar} |" for what, value, bar in rows],
        "",
        *sections,
    ]
    (ROOT / "docs" / "benchmarks.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
