"""The bulk scrub at scale: a messy CSV against a big opposition list and a big register.

``python benchmarks/scrub.py --rows 10000000 --list 12000000 --facts 1000000 --attempts 50000000``
builds the data in a work folder (not timed), then measures, each in its own process so that peak
memory is the process's own:

- importing the opposition list (``permis lists import``);
- the scrub end to end (``permis scrub``: read, normalise, join, decide, write both files);
- the same rules as a row-by-row loop (parse, look up facts, ``decide``) on a sample, per row.

The register's projections are written directly (the events behind them would take hours to
append through the register one by one); the scrub only reads projections, so the figure is the
same. Times are wall-clock seconds; memory is the peak resident set of the process.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl

from permis.adapters.db import instants
from permis.adapters.db import repositories as repo
from permis.bootstrap import build, init_register
from permis.config import Settings
from permis.domain.contact import contact_hash

AT = datetime.fromisoformat("2026-11-24T10:30:00+01:00")
"""The register's history ends here."""
SCRUB_AT = "2026-11-20T10:00:00+01:00"
"""The consent regime (since 11 Aug 2026): a call needs consent; no rule reads Bloctel."""
LIST_AT = "2026-05-04T10:00:00+02:00"
"""Before 11 Aug 2026 a call was checked against Bloctel: the same scrub reads the 12 M list."""
LIST_AS_OF = "2026-05-01"
SEED = 2026
WORK = Path("/tmp/permis-bench-scrub")
"""Data is built once per set of sizes and kept here between runs (it takes minutes)."""


@dataclass(frozen=True)
class Sizes:
    rows: int
    list_size: int
    facts: int
    attempts: int
    sample: int


# ---------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------


def _pool(size: int, seed: int) -> pl.Series:
    """Distinct French numbers (9 national digits): mobiles 6 and 7, landlines 1 to 5."""
    rng = random.Random(seed)
    starts = [6] * 6 + [7] * 2 + [1, 2, 3, 4, 5]
    values = {rng.choice(starts) * 10**8 + rng.randrange(10**8) for _ in range(int(size * 1.02))}
    return pl.Series("nsn", sorted(values)[:size], dtype=pl.Int64).shuffle(seed)


def _written(nsn: pl.Expr, form: pl.Expr) -> pl.Expr:
    """One of the written forms of a French number, chosen per row by ``form`` (0-5)."""
    digits = nsn.cast(pl.Utf8)
    national = "0" + digits
    pairs = pl.concat_str([national.str.slice(i, 2) for i in range(0, 10, 2)], separator=" ")
    return (
        pl.when(form == 0)
        .then(national)
        .when(form == 1)
        .then(pairs)
        .when(form == 2)
        .then(pairs.str.replace_all(" ", ".", literal=True))
        .when(form == 3)
        .then("+33 " + digits.str.slice(0, 1) + " " + pairs.str.slice(3))
        .when(form == 4)
        .then("0033" + digits)
        .otherwise(digits)
    )


def write_campaign(path: Path, numbers: pl.Series, rows: int) -> None:
    """A CRM export: ``;``-separated, quoted names with ``;`` inside, accents, mixed forms,
    0.5% garbage contacts, and a few broken lines at the end."""
    picked = numbers.sample(rows, with_replacement=rows > len(numbers), seed=SEED)
    frame = pl.DataFrame({"nsn": picked}).with_row_index("id")
    frame = frame.with_columns(
        pl.format("Client {}; Émile", pl.col("id")).alias("nom"),
        pl.lit("Mâcon").alias("ville"),
        _written(pl.col("nsn"), pl.col("id").hash(7) % 6).alias("telephone"),
    ).with_columns(
        pl.when(pl.col("id").hash(11) % 200 == 0)
        .then(pl.lit("n/a"))
        .otherwise(pl.col("telephone"))
        .alias("telephone")
    )
    frame.select(pl.col("id").cast(pl.Utf8), "nom", "telephone", "ville").write_csv(
        path, separator=";"
    )
    with path.open("ab") as handle:
        handle.write(b'999999998;"Broken; quote;0612345678;Lyon\n')
        handle.write(b"999999999;too;many;fields;here;0612345678\n\n")


def write_list(path: Path, numbers: pl.Series, size: int, overlap: pl.Series) -> None:
    """The operator's file: one number a line; part of it overlaps the campaign."""
    candidates = _pool(size, SEED + 1)
    extra = candidates.filter(~candidates.is_in(numbers.implode()))
    listed = pl.concat([overlap, extra]).head(size)
    pl.DataFrame({"n": ("0" + listed.cast(pl.Utf8))}).write_csv(path, include_header=False)


def build_register(url: str, numbers: pl.Series, facts: int, attempts: int) -> None:
    """1 M consents and objections, the attempt history, written as projections."""
    app = init_register(Settings(database_url=url), "bench", "general")
    with app.db.transaction(write=True) as cur:
        owner = repo.find_principal(cur, None)
        key = owner.hash_key
    people = numbers.head(max(facts, attempts // 10)).to_list()
    hashes = [contact_hash(f"+33{n}", key) for n in people]
    rng = random.Random(SEED)
    at_us = instants.to_us(AT)
    day = 86_400_000_000
    with app.db.transaction(write=True) as cur:
        cur.copy_rows(
            "contact_points",
            ("principal_id", "contact_hash", "kind", "value", "first_seen", "last_event"),
            (
                (owner.id, h, "phone", f"+33{n}", at_us, at_us)
                for n, h in zip(people, hashes, strict=True)
            ),
        )
        consent_rows = (
            (owner.id, hashes[i], "call", "prospecting", at_us - rng.randrange(900) * day, "web", 0)
            for i in range(0, facts, 2)
        )
        cur.copy_rows(
            "consents",
            (
                "principal_id",
                "contact_hash",
                "channel",
                "purpose",
                "given_at",
                "source",
                "event_id",
            ),
            consent_rows,
        )
        cur.copy_rows(
            "objections",
            ("principal_id", "contact_hash", "channel", "purpose", "at", "source", "event_id"),
            (
                (owner.id, hashes[i], "all", "all", at_us - rng.randrange(900) * day, "agent", 0)
                for i in range(1, facts, 20)
            ),
        )
    app.db.close()
    write_attempts(url, owner.id, pl.Series(hashes), attempts, at_us)


def write_attempts(url: str, principal_id: int, hashes: pl.Series, count: int, at_us: int) -> None:
    """``count`` call attempts over three years, spread over ``hashes``, appended in time order
    as a register appends them, through ADBC bulk ingestion (Python rows: 15 min for 50 M)."""
    import adbc_driver_sqlite.dbapi as adbc
    import numpy

    day = 86_400_000_000
    path = url.removeprefix("sqlite:///")
    chunk = 5_000_000
    indexes = {"ix_attempts_contact": "contact_hash", "ix_attempts_at": "at"}
    # bulk load first, index after (a sorted build); never two SQLite libraries (Python's and
    # ADBC's) with the same file open at once: their locks do not see each other
    with closing(sqlite3.connect(path)) as conn:
        for name in indexes:
            conn.execute(f"DROP INDEX IF EXISTS {name}")
        conn.commit()
    for start in range(0, count, chunk):
        size = min(chunk, count - start)
        seed = SEED + start
        rng = numpy.random.default_rng(seed)
        # the oldest chunk first: times fall in consecutive slices of the three years
        span = 3 * 365 * day
        low = at_us - span + span * start // max(count, 1)
        high = at_us - span + span * (start + size) // max(count, 1)
        frame = pl.DataFrame(
            {
                "principal_id": pl.repeat(principal_id, size, dtype=pl.Int64, eager=True),
                "contact_hash": hashes.sample(size, with_replacement=True, seed=seed),
                "channel": pl.repeat("call", size, eager=True),
                "at": pl.Series(rng.integers(low, high, size), dtype=pl.Int64),
                "processor": pl.repeat("lille", size, eager=True),
                "outcome": pl.repeat("no_answer", size, eager=True),
                "event_id": pl.repeat(0, size, dtype=pl.Int64, eager=True),
            }
        ).sort("at")
        with adbc.connect(path) as conn, conn.cursor() as cur:
            cur.adbc_ingest("attempts", frame.to_arrow(), mode="append")
            conn.commit()
    with closing(sqlite3.connect(path)) as conn:
        for name, column in indexes.items():
            conn.execute(f"CREATE INDEX {name} ON attempts (principal_id, {column})")
        conn.commit()


# ---------------------------------------------------------------------------------------------
# measures
# ---------------------------------------------------------------------------------------------


def _timed_process(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (GiB) of this one process (``wait4``), its stdout."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode not in (0, 1):
            tail = err.read().decode(errors="replace").strip()[-500:]
            raise RuntimeError(f"{args[1]} failed: {tail}")
        return seconds, usage.ru_maxrss / 1024 / 1024, out.read().decode()


def row_by_row(url: str, path: Path, sample: int) -> float:
    """Seconds per row of the same rules as a Python loop: parse, facts, ``decide``."""
    from permis.domain.model import Channel
    from permis.services.gate import CheckQuery, Gate

    app = build(Settings(database_url=url))
    gate = Gate(app.db, app.gate.rules, app.clock)
    column = pl.read_csv(path, separator=";", n_rows=sample, infer_schema=False)["telephone"]
    start = time.perf_counter()
    for raw in column.to_list():
        gate.check(CheckQuery(raw or "", Channel.CALL, datetime.fromisoformat(SCRUB_AT)))
    return (time.perf_counter() - start) / len(column)


def _scrub(exe: str, env: dict[str, str], work: Path, at: str) -> tuple[float, float, str]:
    """``permis scrub`` of the campaign at ``at``, in its own process: seconds, GiB, JSON."""
    out, rejects = str(work / "ok.csv"), str(work / "ko.csv")
    command = [exe, "scrub", str(work / "campaign.csv"), "--channel", "call", "--at", at]
    return _timed_process([*command, "--json", "--out", out, "--rejects", rejects], env)


def _data_of(marked: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in marked.items() if k != "sample"}


def prepare(sizes: Sizes, work: Path) -> None:
    """Build the data for ``sizes`` in ``work`` (minutes), then mark it as built."""
    work.mkdir(parents=True, exist_ok=True)
    for stale in work.iterdir():
        stale.unlink()
    campaign, listed = work / "campaign.csv", work / "bloctel.txt"
    numbers = _pool(max(sizes.rows, sizes.facts), SEED)
    write_campaign(campaign, numbers, sizes.rows)
    write_list(listed, numbers, sizes.list_size, numbers.head(sizes.rows // 10))
    build_register(f"sqlite:///{work / 'bench.db'}", numbers, sizes.facts, sizes.attempts)
    (work / "prepared.json").write_text(json.dumps(_data_of(sizes.__dict__)))


def run(sizes: Sizes, work: Path) -> dict[str, object]:
    work.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{work / 'bench.db'}"
    campaign, listed = work / "campaign.csv", work / "bloctel.txt"
    started = time.perf_counter()
    marker = work / "prepared.json"
    data = _data_of(sizes.__dict__)  # the loop reads no data
    if not marker.exists() or _data_of(json.loads(marker.read_text())) != data:
        # In a process of its own: a child forked from a parent holding gigabytes of generated
        # data reports that memory in its own peak (``ru_maxrss`` counts the pages before exec).
        sized = [f"--rows={sizes.rows}", f"--list={sizes.list_size}", f"--facts={sizes.facts}"]
        sized += [f"--attempts={sizes.attempts}", f"--work={work}", "--prepare-only"]
        subprocess.run(
            [sys.executable, "-m", "benchmarks.scrub", *sized],
            check=True,
            cwd=Path(__file__).resolve().parents[1],
        )
    prepared = time.perf_counter() - started
    exe = str(Path(sys.executable).parent / "permis")
    env = {**os.environ, "PERMIS_DATABASE_URL": url}
    with closing(sqlite3.connect(work / "bench.db")) as conn:  # a rerun: a fresh import
        conn.execute("DELETE FROM opposition_blocks")
        conn.execute("DELETE FROM opposition_snapshots")
        conn.commit()
    import_s, import_gib, _ = _timed_process(
        [exe, "lists", "import", "bloctel", str(listed), "--as-of", LIST_AS_OF, "--json"], env
    )
    scrub_s, scrub_gib, out = _scrub(exe, env, work, SCRUB_AT)
    list_s, list_gib, list_out = _scrub(exe, env, work, LIST_AT)
    summary = json.loads(out)
    list_summary = json.loads(list_out)
    per_row_loop = row_by_row(url, campaign, sizes.sample)
    per_row_scrub = scrub_s / sizes.rows
    return {
        "sizes": sizes.__dict__,
        "prepare_seconds": round(prepared, 1),
        "list_import_seconds": round(import_s, 2),
        "list_import_peak_gib": round(import_gib, 2),
        "scrub_seconds": round(scrub_s, 2),
        "scrub_peak_gib": round(scrub_gib, 2),
        "scrub_rows_per_second": round(sizes.rows / scrub_s),
        "summary": summary,
        "list_scrub_seconds": round(list_s, 2),
        "list_scrub_peak_gib": round(list_gib, 2),
        "list_summary": list_summary,
        "loop_us_per_row": round(per_row_loop * 1e6, 1),
        "scrub_us_per_row": round(per_row_scrub * 1e6, 3),
        "speedup_vs_loop": round(per_row_loop / per_row_scrub, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--list", type=int, default=12_000_000)
    parser.add_argument("--facts", type=int, default=1_000_000)
    parser.add_argument("--attempts", type=int, default=50_000_000)
    parser.add_argument("--sample", type=int, default=1_000_000)
    parser.add_argument("--work", type=Path, default=WORK)
    parser.add_argument("--prepare-only", action="store_true", help="build the data, no timing")
    args = parser.parse_args()
    sizes = Sizes(args.rows, args.list, args.facts, args.attempts, args.sample)
    if args.prepare_only:
        prepare(sizes, args.work)
        return
    print(json.dumps(run(sizes, args.work), indent=2))


if __name__ == "__main__":
    main()
