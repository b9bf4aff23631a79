"""The machine's own speed, measured in the same run as the other figures.

DESIGN.md §7 asks for figures "as ratios against a baseline run in the same process": a shared
2-core VM is not equally fast from one day to the next (the same 10-million-iteration Python loop
has taken from 0.5 s to 1.7 s here), so a figure alone cannot be compared with another day's.
``python -m benchmarks.machine`` measures three baselines that depend on nothing in Permis:

- the interpreter: a 10-million-iteration Python loop;
- the data engine: Polars ``is_in`` of 10 M numbers against 12 M, which DESIGN.md §7 quotes at
  0.34 s on the machine its bars were set on (so the scrub's 15 s bar is 44 such joins);
- the HTTP server: a trivial ASGI application (one fixed decision-sized JSON body, no work) under
  the same uvicorn as ``permis serve`` (one worker), driven by the same load generators as the
  API benchmark: what no application can go below on this machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DESIGN_IS_IN_SECONDS = 0.34
"""DESIGN.md §7: "Polars ``is_in`` of 10 M numbers against 12 M takes 0.34 s" on its machine."""

_BODY = json.dumps(
    {
        "allowed": False,
        "contact": "+33612345678",
        "channel": "call",
        "at": "2026-11-24T10:30:00+01:00",
        "reasons": [
            {
                "code": "NO_CONSENT",
                "reference": "Code de la consommation, art. L223-1",
                "message": "No prior consent to be called",
            }
        ],
        "next_allowed_at": None,
        "rules_version": "fr-2026-08-11",
    },
    separators=(",", ":"),
).encode()
_HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(_BODY)).encode())]


async def floor_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The trivial ASGI application: the same answer to every HTTP request, no work."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": _BODY})


def python_loop(iterations: int = 10_000_000) -> float:
    """Seconds for a plain ``for`` loop adding integers (best of 3)."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        total = 0
        for i in range(iterations):
            total += i
        best = min(best, time.perf_counter() - start)
    return best


def polars_is_in(rows: int = 10_000_000, listed: int = 12_000_000) -> float:
    """Seconds for ``is_in`` of ``rows`` random 9-digit numbers against ``listed`` (best of 3)."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(2026)
    left = pl.Series("n", rng.integers(600_000_000, 800_000_000, rows, dtype=np.int64))
    right = pl.Series("l", rng.integers(600_000_000, 800_000_000, listed, dtype=np.int64))
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        left.is_in(right.implode()).sum()
        best = min(best, time.perf_counter() - start)
    return best


def http_floor(seconds: int = 10) -> dict[str, Any]:
    """The trivial application served as ``permis serve`` serves (uvicorn, one worker, no
    access log), at the API benchmark's constant rate and at saturation."""
    from benchmarks import http

    port = http._free_port()
    root = Path(__file__).resolve().parents[1]
    command = [sys.executable, "-m", "uvicorn", "benchmarks.machine:floor_app"]
    server = subprocess.Popen(
        [*command, "--port", str(port), "--log-level", "warning", "--no-access-log"],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait(port, server)
        folder = Path(tempfile.mkdtemp(prefix="permis-floor-"))
        pool = ["0612345678"]
        before = http.cpu_seconds(server.pid)
        rated = http._client("--rate", [port, "none", pool, seconds, http.RATE], folder)
        rated["server_cpu_us"] = (
            (http.cpu_seconds(server.pid) - before) / (rated["achieved"] * seconds) * 1e6
        )
        saturated = http.single_checks(port, "none", pool, seconds, folder)
        return {"rated": rated, "saturated": saturated}
    finally:
        server.kill()
        server.wait()


def _wait(port: int, server: subprocess.Popen[bytes]) -> None:
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server.poll() is None:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("the trivial ASGI application did not start under uvicorn")


def run() -> dict[str, Any]:
    return {"loop_s": python_loop(), "is_in_s": polars_is_in(), "http": http_floor()}


def section() -> str:
    figures = run()
    ratio = figures["is_in_s"] / DESIGN_IS_IN_SECONDS
    rated, saturated = figures["http"]["rated"], figures["http"]["saturated"]
    return "\n".join(
        [
            "## The machine's own speed (`python -m benchmarks.machine`)",
            "",
            "Baselines that depend on nothing in Permis, measured in the same run. Compare a"
            " figure with another day's through them, not alone (DESIGN.md §7: figures as ratios"
            " against a baseline run in the same process).",
            "",
            "| baseline | figure |",
            "|---|---|",
            f"| Python: a 10,000,000-iteration `for` loop adding integers (best of 3)"
            f" | {figures['loop_s']:.2f} s |",
            f"| Polars `is_in`, 10 M numbers against 12 M (best of 3) | {figures['is_in_s']:.2f} s"
            f" ({ratio:.1f}x DESIGN.md's 0.34 s) |",
            "| a trivial ASGI application (a fixed decision-sized JSON body, no work) under"
            " uvicorn, one worker, at a constant 3,000 req/s (the API benchmark's client)"
            f" | p50 {rated['p50_ms']:.2f} ms, p99 {rated['p99_ms']:.2f} ms, max"
            f" {rated['max_ms']:.1f} ms; server CPU {rated['server_cpu_us']:.0f} µs/request |",
            "| the same application at saturation (the API benchmark's saturating client)"
            f" | {saturated['rps']:,.0f} req/s, p99 {saturated['p99_ms']:.2f} ms |",
            "",
            f"At this machine's speed the scrub's 15 s bar corresponds to {15 * ratio:.1f} s"
            " (15 s scaled by the `is_in` ratio); the trivial application's server CPU is the"
            " floor under every HTTP figure below.",
            "",
        ]
    )


if __name__ == "__main__":
    print(section() if len(sys.argv) < 2 else json.dumps(run(), indent=2))
