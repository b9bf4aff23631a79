"""What-if: the same file scrubbed at two instants (or under the rules of another date), and what
changed: the counts per reason before and after, and the rows that flip, with their reasons.

There is no second rules engine: both sides are ``services.scrub.run_scrub`` (so ``decide``),
into a temporary directory; the two outputs are read back and joined on the input line.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import polars as pl

from permis.adapters import files
from permis.adapters.db.database import Database
from permis.domain.contact import mask
from permis.domain.rules.base import LEGAL_ZONE, RulePack
from permis.domain.rules.registry import Rulebook, as_rulebook, parse_pack_on
from permis.errors import UsageError
from permis.services.scrub import ScrubRequest, ScrubSummary, run_scrub

LINE = "permis_line"
MAX_ROWS_SHOWN = 50


@dataclass
class WhatIf:
    file: str
    before_at: datetime
    after_at: datetime
    before: ScrubSummary
    after: ScrubSummary
    rules: str | None = None
    to_refused: int = 0
    to_allowed: int = 0
    other_reasons: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)

    def by_reason(self) -> dict[str, dict[str, int]]:
        codes = sorted(set(self.before.by_reason) | set(self.after.by_reason))
        found = {}
        for code in codes:
            old, new = self.before.by_reason.get(code, 0), self.after.by_reason.get(code, 0)
            found[code] = {"before": old, "after": new, "change": new - old}
        return found

    def to_dict(self) -> dict[str, Any]:
        before, after = self.before.to_dict(), self.after.to_dict()
        return {
            "file": self.file,
            "before": {"at": self.before_at.isoformat(), **before},
            "after": {"at": self.after_at.isoformat(), "rules": self.rules, **after},
            "by_reason": self.by_reason(),
            "flips": {
                "to_refused": self.to_refused,
                "to_allowed": self.to_allowed,
                "other_reasons": self.other_reasons,
            },
            "rows": self.rows,
        }


def parse_on(text: str, baseline: datetime) -> datetime:
    """``--on``: an ISO 8601 time with offset, or a date at the baseline's Paris wall-clock time
    (the same hour of the day, so that the calling hours compare like with like)."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            clock = baseline.astimezone(LEGAL_ZONE).time()
            return datetime.combine(day, time(clock.hour, clock.minute), LEGAL_ZONE)
        value = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--on: not a date or ISO 8601 time: {text!r}") from None
    if value.tzinfo is None:
        raise UsageError("--on: the time has no UTC offset")
    return value


def rules_for(book: Rulebook, text: str | None) -> Rulebook:
    """``--rules``: ``all@DATE`` freezes every pack (chosen per country as usual) on DATE;
    ``PACK@DATE`` makes that pack, frozen on DATE, decide every row; ``PACK`` alone, as today."""
    if text is None:
        return book
    name, sep, day = text.partition("@")
    if name.strip().lower() == "all":
        try:
            frozen = date.fromisoformat(day.strip()) if sep else None
        except ValueError:
            raise UsageError(f"--rules: not PACK@YYYY-MM-DD: {text!r}") from None
        packs = tuple(p.on(frozen) if frozen else p for p in book.packs)
        return replace(book, packs=packs)
    return as_rulebook(parse_pack_on(text, book))


def run_whatif(
    db: Database,
    rules: RulePack | Rulebook,
    path: Path,
    request: ScrubRequest,
    on: datetime,
    after_rules: str | None = None,
) -> WhatIf:
    """Scrub ``path`` at ``request.at`` and at ``on`` (under ``after_rules``), and compare."""
    book = as_rulebook(rules)
    later = rules_for(book, after_rules)
    with tempfile.TemporaryDirectory(prefix="permis-whatif-") as tmp:
        folder = Path(tmp)
        suffix = path.suffix or ".csv"
        sides = []
        for side, (at, pack) in {"before": (request.at, book), "after": (on, later)}.items():
            ok, ko = folder / f"{side}.ok{suffix}", folder / f"{side}.ko{suffix}"
            summary = run_scrub(db, pack, path, replace(request, at=at), ok, ko)
            sides.append((summary, _reasons_by_line(ok, ko)))
    (before, old), (after, new) = sides
    result = WhatIf(path.name, request.at, on, before, after, after_rules)
    _compare(result, old, new)
    return result


def _reasons_by_line(allowed: Path, rejects: Path) -> pl.DataFrame:
    """line, contact, reasons ("" when allowed) of every row of a scrub's two outputs."""
    frames = []
    for path in (allowed, rejects):
        info = files.sniff(path)
        for batch in files.read_batches(path, info):
            table = batch.table
            line = max((c for c in table.columns if c.startswith(f"{LINE}_previous")), key=len)
            reasons = pl.col("permis_reasons") if "permis_reasons" in table.columns else pl.lit("")
            frames.append(
                table.select(
                    pl.col(line).cast(pl.Int64).alias("line"),
                    pl.col("permis_contact").cast(pl.Utf8).alias("contact"),
                    reasons.cast(pl.Utf8).fill_null("").alias("reasons"),
                )
            )
    return pl.concat(frames) if frames else pl.DataFrame()


def _compare(result: WhatIf, old: pl.DataFrame, new: pl.DataFrame) -> None:
    joined = old.join(new, on="line", how="inner", suffix="_after").sort("line")
    changed = joined.filter(pl.col("reasons") != pl.col("reasons_after"))
    result.to_refused = changed.filter(pl.col("reasons") == "").height
    result.to_allowed = changed.filter(pl.col("reasons_after") == "").height
    result.other_reasons = changed.height - result.to_refused - result.to_allowed
    for line, contact, before, after in (
        changed.select("line", "contact", "reasons", "reasons_after")
        .head(MAX_ROWS_SHOWN)
        .iter_rows()
    ):
        result.rows.append(
            {
                "line": line,
                "contact": mask(contact) if contact else None,
                "before": before.split("|") if before else [],
                "after": after.split("|") if after else [],
            }
        )


def whatif_text(result: WhatIf) -> str:
    b, a = result.before, result.after
    lines = [
        f"what-if on {result.file}: {b.input_rows} rows",
        f"  before  {result.before_at.isoformat()}  rules {b.rules_version}",
        f"  after   {result.after_at.isoformat()}  rules {a.rules_version}"
        + (f" (--rules {result.rules})" if result.rules else ""),
        "",
        f"{'':<26}{'before':>10}{'after':>10}{'change':>10}",
    ]
    for name, old, new in (
        ("allowed", b.allowed, a.allowed),
        ("refused", b.refused, a.refused),
        ("invalid", b.invalid, a.invalid),
    ):
        lines.append(f"{name:<26}{old:>10}{new:>10}{new - old:>+10}")
    lines.append("by reason:")
    for code, counts in result.by_reason().items():
        lines.append(
            f"  {code:<24}{counts['before']:>10}{counts['after']:>10}{counts['change']:>+10}"
        )
    lines += [
        "",
        f"rows that flip: {result.to_refused} now refused, {result.to_allowed} now allowed,"
        f" {result.other_reasons} refused for other reasons",
    ]
    for row in result.rows:
        before = "|".join(row["before"]) or "allowed"
        after = "|".join(row["after"]) or "allowed"
        lines.append(f"  line {row['line']:<8} {row['contact'] or '-':<16} {before} -> {after}")
    if result.to_refused + result.to_allowed + result.other_reasons > len(result.rows):
        lines.append(f"  (the first {len(result.rows)} shown)")
    return "\n".join(lines)
