"""Remaining budget for many contact points at once (``services.pressure.remaining``).

``python -m benchmarks.pressure [contacts [attempts_per_contact]]`` prints the figures as JSON.
The planner's question: for each of 10 million people, how many more calls may be made today
under the law (4 per 30 days), the person's budget and the company's caps? Attempts are spread
over the last 400 days on four channels; one person in five has set a budget. The baseline is
the single-contact arithmetic (``channel_limits``, the one ``decide`` uses) in a Python loop
over a sample, in the same process.
"""

from __future__ import annotations

import json
import platform
import resource
import sys
import time
from datetime import UTC, datetime
from typing import Any

import polars as pl

from permis.adapters.db import instants
from permis.domain.model import ALL, AttemptFact, BudgetFact, Facts, Period
from permis.domain.policy import Policy, PolicyCap
from permis.domain.rules.fr import fr_pack
from permis.services.pressure import channel_limits, remaining

AT = datetime(2027, 1, 4, 10, 30, tzinfo=UTC)
CHANNELS = ["call", "sms", "email", "automated_call"]
PERIODS = [p.value for p in Period]
BUDGET_CHANNELS = [ALL, "call", "sms", "email"]
POLICY = Policy(
    "bench",
    (
        PolicyCap("POLICY.cap.all-week", frozenset({ALL}), 3, 7),
        PolicyCap("POLICY.cap.phone-month", frozenset({"call", "sms"}), 2, 31, Period.MONTH),
    ),
)


def _random(rows: int, high: int, seed: int) -> pl.Series:
    """``rows`` pseudo-random integers in ``[0, high)`` (hashes: no numpy needed)."""
    values = pl.int_range(0, rows, eager=True).hash(seed) % high
    return values.cast(pl.Int64)


def data(contacts: int, per_contact: float, seed: int = 2026) -> tuple[pl.DataFrame, pl.DataFrame]:
    rows = int(contacts * per_contact)
    at_us = instants.to_us(AT)
    attempts = pl.DataFrame(
        {
            "contact": _random(rows, contacts, seed),
            "channel": pl.Series(CHANNELS).gather(_random(rows, 4, seed + 1)),
            "at": at_us - _random(rows, 400 * 86_400_000_000, seed + 2),
        }
    )
    count = contacts // 5
    budgets = pl.DataFrame(
        {
            "contact": pl.int_range(0, contacts, eager=True).shuffle(seed).head(count),
            "channel": pl.Series(BUDGET_CHANNELS).gather(_random(count, 4, seed + 3)),
            "max_count": _random(count, 5, seed + 4),
            "period": pl.Series(PERIODS).gather(_random(count, 3, seed + 5)),
            "set_at": at_us - _random(count, 300 * 86_400_000_000, seed + 6),
        }
    )
    return attempts, budgets


def _loop(attempts: pl.DataFrame, budgets: pl.DataFrame, sample: int) -> float:
    """Seconds per person for the single-contact arithmetic, on the first ``sample`` people."""
    rules = fr_pack()
    part = attempts.filter(pl.col("contact") < sample)
    owned = budgets.filter(pl.col("contact") < sample)
    people: dict[int, list[AttemptFact]] = {}
    for contact, channel, at in part.iter_rows():
        people.setdefault(contact, []).append(AttemptFact(instants.from_us(at), channel))
    caps: dict[int, list[BudgetFact]] = {}
    for contact, channel, most, period, set_at in owned.iter_rows():
        caps.setdefault(contact, []).append(
            BudgetFact(channel, most, Period(period), instants.from_us(set_at))
        )
    start = time.perf_counter()
    for contact in range(sample):
        facts = Facts(attempts=tuple(people.get(contact, ())), budgets=tuple(caps.get(contact, ())))
        lefts = [lim.left for lim in channel_limits("call", facts, POLICY, rules, AT)]
        min(lefts, default=None)
    return (time.perf_counter() - start) / sample


def run(
    contacts: int = 10_000_000, per_contact: float = 2.0, sample: int = 20_000
) -> dict[str, Any]:
    attempts, budgets = data(contacts, per_contact)
    best = float("inf")
    frame = None
    for _ in range(2):
        start = time.perf_counter()
        frame = remaining(attempts, budgets, "call", AT, POLICY)
        best = min(best, time.perf_counter() - start)
    assert frame is not None
    per_person = _loop(attempts, budgets, sample)
    left = frame["remaining"]
    return {
        "contacts": contacts,
        "attempts": attempts.height,
        "budgets": budgets.height,
        "people_in_result": frame.height,
        "at_cap": int((left == 0).sum()),
        "seconds": round(best, 2),
        "contacts_per_second": round(contacts / best),
        "loop_contacts_per_second": round(1 / per_person),
        "speedup": round(per_person * contacts / best, 1),
        "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
    }


def section() -> str:
    figures = run()
    load = ", ".join(f"{x:.2f}" for x in __import__("os").getloadavg())
    return "\n".join(
        [
            "## Remaining budget for the planner (vectorised)",
            "",
            f"{figures['contacts']:,} people, {figures['attempts']:,} attempts over 400 days,"
            f" {figures['budgets']:,} personal budgets; the law, the budgets and two policy caps,"
            f" for calls at one instant ({platform.node()}, load average {load}).",
            "",
            "| figure | value |",
            "|---|---|",
            f"| `remaining()` wall time (best of 2) | {figures['seconds']} s |",
            f"| people per second | {figures['contacts_per_second']:,} |",
            f"| Python loop over `channel_limits` | {figures['loop_contacts_per_second']:,}"
            " people/s |",
            f"| speedup | {figures['speedup']}x |",
            f"| people at their cap | {figures['at_cap']:,} |",
            f"| peak memory (process) | {figures['peak_rss_gib']} GiB |",
            "",
            "Reproduce: `.venv/bin/python -m benchmarks.pressure`",
            "",
        ]
    )


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
    per = float(sys.argv[2]) if len(sys.argv) > 2 else 2.0
    print(json.dumps(run(n, per), indent=2))
