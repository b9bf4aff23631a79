"""Wall and CPU seconds per stage of a long run (the scrub), printed to stderr on request.

``PERMIS_STAGES=1`` in the environment turns it on; otherwise every call is a no-op. Only stage
names and seconds are printed, never data.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

_ON = bool(os.environ.get("PERMIS_STAGES"))
_totals: dict[str, list[float]] = {}


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Adds the wall and CPU time spent inside the block to ``name``'s totals."""
    if not _ON:
        yield
        return
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        yield
    finally:
        total = _totals.setdefault(name, [0.0, 0.0])
        total[0] += time.perf_counter() - wall
        total[1] += time.process_time() - cpu


def report() -> None:
    """Prints the totals (stage, wall s, CPU s) to stderr and clears them."""
    if not _ON:
        return
    for name, (wall, cpu) in _totals.items():
        print(f"stage {name:<28} wall {wall:7.2f} s  cpu {cpu:7.2f} s", file=sys.stderr)
    _totals.clear()
