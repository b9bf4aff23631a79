"""``permis audit verify`` at scale: a ledger of N events, walked in one process.

``python -m benchmarks.audit --events 10000000`` builds a SQLite register whose ledger holds N
well-formed, hash-chained events (consents with proofs, attempts, objections over N/4 people),
written in bulk through the same link hash as the register (``link_hash_text``: appending 10 M
events one ``record`` at a time would take hours), then runs ``permis audit verify --json`` as
its own process, twice the size apart, for its wall time and peak memory (``wait4``): the walk
streams, so peak memory must not grow with the ledger. Data is kept in the work folder.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from permis.adapters.db import repositories as repo
from permis.bootstrap import init_register
from permis.config import Settings
from permis.domain.events import canonical, link_hash_text

WORK = Path("/tmp/permis-bench-audit")
CHUNK = 100_000
T0 = 1_735_689_600_000_000  # 2025-01-01 UTC, microseconds
DATA = (
    (
        "ConsentGiven",
        canonical(
            {"channel": "call", "purpose": "prospecting", "source": "web", "expires_at": None}
        ),
    ),
    (
        "AttemptRecorded",
        canonical({"channel": "call", "processor": "lille", "outcome": "no_answer"}),
    ),
    (
        "AttemptRecorded",
        canonical({"channel": "call", "processor": "tunis", "outcome": "answered"}),
    ),
    ("ObjectionRecorded", canonical({"channel": "all", "purpose": "all", "source": "sms"})),
)


def _rows(
    first_seq: int, count: int, prev: str, people: int
) -> tuple[list[tuple[object, ...]], str]:
    """``count`` chained events from ``first_seq`` after ``prev``; the last hash."""
    rows = []
    for seq in range(first_seq, first_seq + count):
        etype, data = DATA[seq % 4]
        person = seq % people
        number = f"+336{10_000_000 + person}"
        chash = hashlib.sha256(number.encode()).hexdigest()
        personal = canonical({"contact": number, "salt": f"{seq:032x}"})
        pdigest = hashlib.sha256(personal.encode()).hexdigest()
        at = T0 + seq * 1_000_000
        digest = link_hash_text(prev, seq, etype, chash, at, at, data, pdigest, None, None)
        rows.append((1, seq, etype, chash, at, at, data, personal, pdigest, prev, digest))
        prev = digest
    return rows, prev


def build(path: Path, events: int) -> None:
    """A register whose principal has ``events`` chained events (including PrincipalCreated)."""
    if path.exists():
        return
    part = path.with_suffix(".part")
    part.unlink(missing_ok=True)
    url = f"sqlite:///{part}"
    app = init_register(Settings(database_url=url), "bench", "general")
    with app.db.transaction() as cur:
        seq, prev = repo.chain_head(cur, 1)
    columns = (
        "principal_id",
        "seq",
        "type",
        "contact_hash",
        "occurred_at",
        "recorded_at",
        "data",
        "personal",
        "personal_digest",
        "prev_hash",
        "hash",
    )
    seq += 1
    while seq <= events:
        rows, prev = _rows(seq, min(CHUNK, events - seq + 1), prev, max(1, events // 4))
        with app.db.transaction(write=True) as cur:
            cur.copy_rows("events", columns, rows)
            cur.execute(
                "UPDATE principals SET head_seq = :s, head_hash = :h WHERE id = 1",
                {"s": seq + len(rows) - 1, "h": prev},
            )
        seq += len(rows)
    app.close()
    part.rename(path)


def verify_process(path: Path) -> dict[str, object]:
    """``permis audit verify --json`` on ``path``: wall seconds, peak RSS, its answer."""
    exe = Path(sys.executable).parent / "permis"
    env = {**os.environ, "PERMIS_DATABASE_URL": f"sqlite:///{path}"}
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen([str(exe), "audit", "verify", "--json"], env=env, stdout=out)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        out.seek(0)
        answer = json.loads(out.read())
    if os.waitstatus_to_exitcode(status) != 0 or not answer["ok"]:
        raise RuntimeError(f"verify failed: {answer}")
    events = int(answer["principals"][0]["events"])
    return {
        "events": events,
        "seconds": round(seconds, 2),
        "events_per_second": round(events / seconds),
        "peak_mib": round(usage.ru_maxrss / 1024),
    }


def run(sizes: list[int], work: Path = WORK) -> list[dict[str, object]]:
    work.mkdir(parents=True, exist_ok=True)
    results = []
    for size in sizes:
        path = work / f"ledger-{size}.db"
        start = time.perf_counter()
        # in a child process: ``wait4`` counts a forked child's pre-exec image (this process's
        # memory) in its peak, so the process that starts ``permis`` must stay small
        command = [sys.executable, "-m", "benchmarks.audit", "--build", str(path), str(size)]
        subprocess.run(command, check=True)
        built = time.perf_counter() - start
        result = verify_process(path)
        result["build_seconds"] = round(built, 1)
        result["file_gib"] = round(path.stat().st_size / 2**30, 2)
        results.append(result)
    return results


def section(sizes: list[int] | None = None) -> str:
    """The markdown section for docs/benchmarks.md."""
    chosen = sizes or [
        int(s) for s in os.environ.get("BENCH_AUDIT_EVENTS", "1000000,10000000").split(",")
    ]
    results = run(chosen)
    lines = [
        "## Audit chain verification (`python -m benchmarks.audit`)",
        "",
        "`permis audit verify --json` as its own process on a SQLite ledger of well-formed,"
        " hash-chained events (built in bulk, not timed); peak memory is the process's own.",
        "",
        "| events | wall time | events/s | peak memory | ledger file |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['events']:,} | {r['seconds']} s | {r['events_per_second']:,} "
            f"| {r['peak_mib']} MiB | {r['file_gib']} GiB |"
        )
    lines += ["", "Reproduce: `python -m benchmarks.audit --events 1000000 10000000`.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--build", nargs=2, metavar=("PATH", "EVENTS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        build(Path(args.build[0]), int(args.build[1]))
        return
    print(section(args.events))


if __name__ == "__main__":
    main()
