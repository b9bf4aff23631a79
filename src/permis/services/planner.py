"""The campaign planner: contact fewer people, better, and only when the gate allows it.

``plan`` reads a campaign file and, for every channel asked and every slot of the window (each
hour of ``SLOT_HOURS``, French mainland time, on every day from ``start`` to ``end``), asks the
gate through the scrub path (``scrub.Decider``: the one ``decide``, once per signature) which
rows may be contacted then. It scores every allowed (row, channel, slot) with the relevance model,
keeps each row's best one, and plans the ``budget`` rows with the highest predicted response.
Nothing the gate refused at that instant is ever planned; never more than ``budget`` rows.

The summary (docs/relevance.md, planner):
- ``contacts_avoided``: input rows not planned (refused everywhere, invalid, or not worth it);
- ``expected_successes_kept``: the sum of the planned rows' predicted response;
- ``expected_successes_all``: the same sum had every row the gate allows been contacted once, on
  its best channel and slot;
- ``saved``: against a blast of one contact per allowed row on every channel asked (where the
  gate allows that channel at some slot), the calls and the messages (SMS, e-mail) not made.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from permis.domain.model import DEFAULT_PURPOSE, Audience, Channel, Sector
from permis.domain.pressure import EMPTY_POLICY, Policy
from permis.errors import UsageError
from permis.services.relevance_features import LOCAL, Query, by_key, feature_table

if TYPE_CHECKING:
    import polars as pl

    from permis.adapters.db.database import Database
    from permis.domain.rules.base import RulePack
    from permis.domain.rules.registry import Rulebook
    from permis.services.relevance import RelevanceModel
    from permis.services.relevance_features import Attempt

SLOT_HOURS = (9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20)
"""Slot starts (local hours); the gate refuses those the law or the policy forbids."""
SLOT = timedelta(hours=1)
MAX_SLOTS = 400
PLAN_COLUMNS = ("rank", "permis_line", "permis_contact", "channel", "at", "until", "expected")


@dataclass(frozen=True, slots=True)
class PlanRequest:
    budget: int
    channels: tuple[Channel, ...]
    start: date
    end: date
    principal: str | None = None
    processor: str | None = None
    purpose: str = DEFAULT_PURPOSE
    audience: Audience = Audience.CONSUMER
    sector: Sector | None = None
    column: str | None = None


@dataclass
class PlanSummary:
    input_rows: int = 0
    invalid: int = 0
    allowed_rows: int = 0
    planned: int = 0
    budget: int = 0
    contacts_avoided: int = 0
    expected_successes_kept: float = 0.0
    expected_successes_all: float = 0.0
    saved: dict[str, int] = field(default_factory=dict)
    planned_by_channel: dict[str, int] = field(default_factory=dict)
    slots: int = 0
    checks: int = 0
    seconds: float = 0.0
    rules_version: str = ""

    def saved_total(self) -> int:
        return sum(self.saved.values())

    def to_dict(self) -> dict[str, Any]:
        calls = self.saved.get("call", 0) + self.saved.get("automated_call", 0)
        return {
            "input_rows": self.input_rows,
            "invalid": self.invalid,
            "allowed_rows": self.allowed_rows,
            "budget": self.budget,
            "planned": self.planned,
            "planned_by_channel": dict(sorted(self.planned_by_channel.items())),
            "contacts_avoided": self.contacts_avoided,
            "expected_successes_kept": round(self.expected_successes_kept, 2),
            "expected_successes_all": round(self.expected_successes_all, 2),
            "saved_by_channel": dict(sorted(self.saved.items())),
            "calls_saved": calls,
            "messages_saved": sum(self.saved.values()) - calls,
            "slots": self.slots,
            "checks": self.checks,
            "seconds": round(self.seconds, 3),
            "rules_version": self.rules_version,
        }


def slots(start: date, end: date) -> list[datetime]:
    """Every slot start from ``start`` to ``end`` (both days included), French mainland time."""
    if end < start:
        raise UsageError("--to is before --from")
    found: list[datetime] = []
    day = start
    while day <= end:
        found.extend(
            datetime(day.year, day.month, day.day, hour, tzinfo=LOCAL) for hour in SLOT_HOURS
        )
        day += timedelta(days=1)
    if len(found) > MAX_SLOTS:
        raise UsageError(f"the window holds {len(found)} slots, more than {MAX_SLOTS}")
    return found


def read_table(path: Path, column: str | None) -> tuple[pl.DataFrame, str]:
    """The whole campaign file (rows that cannot be read are not candidates) and its contact
    column."""
    import polars as pl

    from permis.adapters import files

    info = files.sniff(path)
    tables = [batch.table for batch in files.read_batches(path, info)]
    table = pl.concat(tables, how="vertical") if tables else pl.DataFrame()
    return table, files.guess_contact_column(table, column)


def allowed_rows(
    db: Database,
    rules: RulePack | Rulebook,
    norm: pl.DataFrame,
    request: PlanRequest,
    channel: Channel,
    at: datetime,
    policy: Policy,
) -> pl.Series:
    """Whether the gate allows each (normalised) row on ``channel`` at ``at``: the scrub path
    (``scrub.Decider`` over the register state at ``at``), hence ``decide`` itself."""

    from permis.services.scrub import ScrubRequest, decide_normalised, open_decider

    scrub = ScrubRequest(
        channel,
        at,
        request.principal,
        request.processor,
        request.purpose,
        request.audience,
        request.sector,
    )
    reasons = decide_normalised(open_decider(db, rules, scrub, policy), norm)
    return reasons == ""


def candidates(
    db: Database,
    rules: RulePack | Rulebook,
    table: pl.DataFrame,
    column: str,
    request: PlanRequest,
    policy: Policy,
    summary: PlanSummary,
) -> tuple[pl.DataFrame, pl.Series]:
    """Every (row, channel, slot) the gate allows: ``row``, ``channel``, ``at`` (UTC µs)."""
    import polars as pl

    from permis.services.scrub import normalise_contacts

    parts = []
    norm = normalise_contacts(table[column])
    for channel in request.channels:
        for at in slots(request.start, request.end):
            allowed = allowed_rows(db, rules, norm, request, channel, at, policy)
            summary.checks += table.height
            rows = pl.int_range(0, table.height, eager=True).filter(allowed)
            parts.append(
                pl.DataFrame(
                    {
                        "row": rows,
                        "channel": pl.Series([channel.value] * rows.len(), dtype=pl.Utf8),
                        "at_us": pl.Series([_us(at)] * rows.len(), dtype=pl.Int64),
                    }
                )
            )
    empty = pl.DataFrame(schema={"row": pl.Int64, "channel": pl.Utf8, "at_us": pl.Int64})
    found = pl.concat([empty, *[p.cast(empty.schema) for p in parts]], how="vertical")
    return found, norm["contact"].alias("permis_contact")


def _us(at: datetime) -> int:
    return int(at.timestamp() * 1_000_000)


def score(
    model: RelevanceModel,
    table: pl.DataFrame,
    found: pl.DataFrame,
    contacts: pl.Series,
    history: dict[str, list[Attempt]],
) -> pl.DataFrame:
    """``found`` with ``expected``: the model on the row's columns and its history features."""
    import polars as pl

    keys = contacts.gather(found["row"]).fill_null("").to_list()
    queries = [
        Query(k, c, t)
        for k, c, t in zip(keys, found["channel"].to_list(), found["at_us"].to_list(), strict=True)
    ]
    own = table.drop([c for c in table.columns if c in {"channel", "weekday", "hour"}])
    features = pl.concat(
        [own.gather(found["row"]), feature_table(history, queries)], how="horizontal"
    )
    return found.with_columns(pl.Series("expected", model.predict(features), dtype=pl.Float64))


def choose(scored: pl.DataFrame, request: PlanRequest) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Each row's best (channel, slot), then the ``budget`` best rows (ties: file order)."""
    import polars as pl

    order = {c.value: i for i, c in enumerate(request.channels)}
    ranked = scored.with_columns(
        pl.col("channel").replace_strict(order, return_dtype=pl.Int64).alias("channel_rank")
    ).sort(["row", "expected", "channel_rank", "at_us"], descending=[False, True, False, False])
    best = ranked.unique("row", keep="first", maintain_order=True)
    picked = best.sort(["expected", "row"], descending=[True, False]).head(request.budget)
    return best, picked


def plan(
    db: Database,
    rules: RulePack | Rulebook,
    path: Path,
    request: PlanRequest,
    model: RelevanceModel,
    history: list[Attempt],
    policy: Policy = EMPTY_POLICY,
) -> tuple[pl.DataFrame, PlanSummary]:
    """The plan (``PLAN_COLUMNS``, best first) and its summary."""
    import polars as pl

    if request.budget < 0:
        raise UsageError("--budget must be zero or more")
    if not request.channels:
        raise UsageError("--channels: at least one channel")
    started = time.perf_counter()
    table, column = read_table(path, request.column)
    summary = PlanSummary(budget=request.budget, slots=len(slots(request.start, request.end)))
    found, contacts = candidates(db, rules, table, column, request, policy, summary)
    scored = score(model, table, found, contacts, by_key(history))
    best, picked = choose(scored, request)
    summary.input_rows = table.height
    summary.invalid = int(contacts.is_null().sum())
    summary.allowed_rows = best.height
    summary.planned = picked.height
    summary.contacts_avoided = table.height - picked.height
    summary.expected_successes_kept = float(picked["expected"].sum())
    summary.expected_successes_all = float(best["expected"].sum())
    summary.planned_by_channel = dict(picked.group_by("channel").len().iter_rows())
    blast = found.unique(["row", "channel"]).group_by("channel").len()
    summary.saved = {c: n - summary.planned_by_channel.get(c, 0) for c, n in blast.iter_rows()}
    summary.rules_version = rules.version(
        datetime.combine(request.start, datetime.min.time(), LOCAL)
    )
    summary.seconds = time.perf_counter() - started
    lines = table["permis_line"] if "permis_line" in table.columns else None
    out = picked.with_row_index("rank", offset=1).select(
        pl.col("rank").cast(pl.Int64),
        (lines.gather(picked["row"]) if lines is not None else picked["row"] + 1).alias(
            "permis_line"
        ),
        contacts.gather(picked["row"]).alias("permis_contact"),
        pl.col("channel"),
        _iso(pl.col("at_us")).alias("at"),
        _iso(pl.col("at_us") + int(SLOT.total_seconds() * 1_000_000)).alias("until"),
        pl.col("expected").round(6),
    )
    return out, summary


def _iso(expr: pl.Expr) -> pl.Expr:
    import polars as pl

    local = pl.from_epoch(expr, time_unit="us").dt.replace_time_zone("UTC")
    return local.dt.convert_time_zone(str(LOCAL)).dt.strftime("%Y-%m-%dT%H:%M:%S%:z")
