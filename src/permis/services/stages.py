"""Wall and CPU seconds per stage of a long run (the scrub), printed to stderr on request.

The ``stages`` setting (``PERMIS_STAGES=1``) turns it on: ``bootstrap.build`` calls
:func:`configure`; otherwise every call is a no-op. Only stage names and seconds are printed,
never data.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

_on = [False]  # this process's switch (a list: set by ``configure``, no ``global``)
_totals: dict[str, list[float]] = {}


def configure(on: bool) -> None:
    """Turns the timing of stages on or off for this process."""
    _on[0] = on


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Adds the wall and CPU time spent inside the block to ``name``'s totals."""
    if not _on[0]:
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
    if not _on[0]:
        return
    for name, (wall, cpu) in _totals.items():
        print(f"stage {name:<28} wall {wall:7.2f} s  cpu {cpu:7.2f} s", file=sys.stderr)
    _totals.clear()
