"""Bulk scrub: a campaign file in, the allowed rows and the rejects out, same answers as ``decide``.

The decision for a row depends on the row's contact point only through a handful of attributes
(kind, country, region, time zones, which opposition lists hold it) unless the register holds
facts about it. So the pipeline is:

1. normalise the contact column, vectorised (``services.normalise``);
2. look the rows up in the register's contact points with facts, by value (a phone number as
   the integer of its E.164 digits, by bisection in a sorted column, the batch's numbers
   sorted first so that the searches stay in cache; e-mails as text): each gets its fact
   signature id (``scrub_state``), 0 without facts; the opposition lists the same way;
3. call ``decide`` once per distinct signature (kind, country, region, zones, lists, facts:
   usually a few hundred for millions of rows) and broadcast the answer with a join on
   integers.

Batches flow through three threads (``services.pipeline``): one reads and normalises (starting
while the register loads), this one decides, one writes. ``PERMIS_STAGES=1`` prints the time
spent per stage (``services.stages``).

Every answer therefore comes from the one ``decide``; a test checks row by row that the scrub and
the single check agree. Every input row is accounted for: allowed + refused + invalid = input rows,
where invalid counts rows that could not be read or whose contact point could not be parsed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from permis.adapters import files
from permis.adapters.db.database import Database
from permis.domain.contact import ContactKind, ContactPoint
from permis.domain.decide import decide
from permis.domain.model import (
    DEFAULT_PURPOSE,
    Audience,
    Channel,
    CheckRequest,
    ReasonCode,
    Sector,
)
from permis.domain.pressure import Policy
from permis.domain.rules.base import RulePack
from permis.domain.rules.registry import Rulebook, as_rulebook
from permis.services.normalise import normalise_phones
from permis.services.pipeline import Background, Prefetch
from permis.services.policy import policy_in_force
from permis.services.scrub_state import RegisterState, load_state
from permis.services.sorted_columns import Probe, phone_numbers
from permis.services.stages import report, stage

INVALID = ReasonCode.INVALID_CONTACT.value
MAX_BROKEN_LISTED = 1000
PREFETCH = 3
"""Batches read and normalised ahead of the decisions (about 150 MB each for a CSV batch)."""
Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class ScrubRequest:
    channel: Channel
    at: datetime
    principal: str | None = None
    processor: str | None = None
    purpose: str = DEFAULT_PURPOSE
    audience: Audience = Audience.CONSUMER
    sector: Sector | None = None
    column: str | None = None
    campaign: str | None = None


@dataclass(slots=True)
class ScrubSummary:
    input_rows: int = 0
    allowed: int = 0
    refused: int = 0
    invalid: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    rules_version: str = ""
    column: str = ""
    decisions: int = 0
    broken_rows: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        rate = self.input_rows / self.seconds if self.seconds > 0 else 0.0
        return {
            "input_rows": self.input_rows,
            "allowed": self.allowed,
            "refused": self.refused,
            "invalid": self.invalid,
            "by_reason": dict(sorted(self.by_reason.items())),
            "seconds": round(self.seconds, 3),
            "rows_per_second": round(rate, 1),
            "rules_version": self.rules_version,
            "column": self.column,
            "decisions": self.decisions,
            "broken_rows": self.broken_rows,
        }


# ---------------------------------------------------------------------------------------------
# the column of decisions
# ---------------------------------------------------------------------------------------------

SIGNATURE = ["permis_kind", "country", "region", "timezones", "listed", "sig"]
"""Everything a decision depends on besides the request: the contact point's attributes, the
lists holding it, and its facts reduced to their signature (``scrub_facts``)."""


def normalise_contacts(raw: pl.Series) -> pl.DataFrame:
    """Phones vectorised, e-mails (rare in call files) one distinct value at a time."""
    from permis.domain.contact import parse_email
    from permis.errors import InvalidContact

    text = raw.cast(pl.Utf8).alias("raw")
    is_email = text.str.contains("@", literal=True).fill_null(False)
    if not is_email.any():  # a call file: no e-mail, no columns to merge (as below, cheaper)
        return normalise_phones(text).with_columns(
            pl.lit(ContactKind.PHONE.value).alias("permis_kind"),
            pl.col("timezones").fill_null(""),
        )
    phones = normalise_phones(text.zip_with(~is_email, pl.Series([None], dtype=pl.Utf8)))
    emails: dict[str, str | None] = {}
    for value in text.filter(is_email).unique().to_list():
        try:
            emails[value] = parse_email(value).value
        except InvalidContact:
            emails[value] = None
    email_values = text.replace_strict(emails, default=None, return_dtype=pl.Utf8)
    flag = pl.lit(is_email)
    return phones.with_columns(
        pl.when(flag).then(pl.lit(email_values)).otherwise(pl.col("contact")).alias("contact"),
        pl.when(flag)
        .then(pl.lit(ContactKind.EMAIL.value))
        .otherwise(pl.lit(ContactKind.PHONE.value))
        .alias("permis_kind"),
        pl.when(flag)
        .then(pl.lit(""))
        .otherwise(pl.col("timezones").fill_null(""))
        .alias("timezones"),
    )


class Decider:
    """Reason codes (``""`` when allowed) for normalised rows: ``decide`` once per signature."""

    def __init__(
        self,
        state: RegisterState,
        rules: RulePack | Rulebook,
        policy: Policy,
        request: ScrubRequest,
        sector: Sector,
    ) -> None:
        self.state = state
        self.rules = as_rulebook(rules)
        self.override = self.rules.override_for(state.principal.name)
        self.used: set[str] = set()  # the packs that decided some row
        self.policy = policy
        self.template = CheckRequest(
            None,
            request.channel,
            request.at,
            request.purpose,
            request.audience,
            sector,
            request.processor,
            request.campaign,
        )
        self._codes: dict[tuple[Any, ...], str] = {}
        self.decisions = 0

    def codes(self, row: tuple[Any, ...]) -> str:
        found = self._codes.get(row)
        if found is None:
            kind, country, region, zones, listed, signature = row
            point = ContactPoint(
                ContactKind(kind),
                "",
                country,
                region,
                tuple(z for z in zones.split(",") if z),
                None,
            )
            facts = self.state.facts_for(signature, listed)
            # the pack is chosen from the row's kind and country, both in the signature
            pack = self.rules.pack_for(point, self.override)
            self.used.add(pack.name)
            decision = decide(replace(self.template, contact=point), facts, pack, self.policy)
            found = self._codes[row] = "|".join(decision.codes)
            self.decisions += 1
        return found

    def decide_frame(self, frame: pl.DataFrame) -> pl.Series:
        """Reason codes for every row of ``frame`` (normalised, with ``SIGNATURE`` columns).

        The text columns are compared as their categorical codes (integers), so finding the
        distinct signatures and joining their answers back costs no string hashing."""
        ints = frame.select(
            *(pl.col(c).cast(pl.Categorical).to_physical() for c in SIGNATURE[:4]),
            *SIGNATURE[4:],
        )
        valid = frame["contact"].is_not_null()
        keys = ints.with_row_index("row").filter(valid).unique(subset=SIGNATURE, keep="any")
        rows = frame.select(SIGNATURE)[keys["row"]]
        decided = keys.drop("row").with_columns(
            pl.Series("codes", [self.codes(k) for k in rows.iter_rows()], dtype=pl.Utf8)
        )
        joined = ints.join(
            decided, on=SIGNATURE, how="left", nulls_equal=True, maintain_order="left"
        )
        codes = pl.when(valid).then(joined["codes"]).otherwise(pl.lit(INVALID))
        return pl.select(codes.alias("permis_reasons")).to_series()


# ---------------------------------------------------------------------------------------------
# the file pipeline
# ---------------------------------------------------------------------------------------------


def open_decider(
    db: Database, rules: RulePack | Rulebook, request: ScrubRequest, policy: Policy | None
) -> Decider:
    """The register as of ``request.at``, read in bulk, ready to decide rows (the scrub, the
    planner). ``policy`` None: the principal's policy in force, as the gate does."""
    if policy is None:
        policy = policy_in_force(db, request.principal)
    state = load_state(db, request.principal, as_rulebook(rules).union(), request, policy)
    sector = request.sector or Sector(state.principal.sector)
    return Decider(state, rules, policy, request, sector)


def probe_of(norm: pl.DataFrame) -> Probe:
    """The numbers of normalised rows, sorted once for every look-up of the batch."""
    return Probe.of(phone_numbers(norm["contact"]))


def decide_normalised(
    decider: Decider, norm: pl.DataFrame, probe: Probe | None = None
) -> pl.Series:
    """Reason codes ("" when allowed) for normalised rows (``normalise_contacts``; ``probe``:
    their ``probe_of``, when already made): the lists holding each number, its facts' signature
    (erased contact points found by their keyed hash), then ``decide`` once per distinct
    signature."""
    state = decider.state
    with stage("lists"):
        probe = probe_of(norm) if probe is None else probe
        listed = state.listed(probe)
    with stage("join facts"):
        sig = state.signature_ids(norm["contact"], probe)
    with stage("decide"):
        return decider.decide_frame(norm.with_columns(listed, sig))


@dataclass(frozen=True, slots=True)
class _Prepared:
    batch: files.Batch
    column: str  # the contact column
    norm: pl.DataFrame  # its values normalised (``normalise_contacts``)
    probe: Probe  # their numbers sorted (``probe_of``)


def _prepare(batches: Iterator[files.Batch], requested: str | None) -> Iterator[_Prepared]:
    """The batches read, their contact column normalised and its numbers sorted: the work that
    needs no register, done in the reader thread (while the register loads, and then beside
    the decisions)."""
    column = ""
    for batch in batches:
        column = column or files.guess_contact_column(batch.table, requested)
        with stage("normalise"):
            norm = normalise_contacts(batch.table[column])
            probe = probe_of(norm)
        yield _Prepared(batch, column, norm, probe)


def _decide_batch(decider: Decider, prepared: _Prepared) -> pl.DataFrame:
    """The batch with ``permis_contact`` and ``permis_reasons`` ("" when allowed)."""
    table, norm = prepared.batch.table, prepared.norm
    reasons = decide_normalised(decider, norm, prepared.probe)
    return table.with_columns(
        norm["contact"].alias("permis_contact"), reasons.alias("permis_reasons")
    )


def _account(summary: ScrubSummary, decided: pl.DataFrame) -> None:
    reasons = decided["permis_reasons"]
    invalid = int((decided["permis_contact"].is_null()).sum())
    allowed = int((reasons == "").sum())
    summary.input_rows += decided.height
    summary.invalid += invalid
    summary.allowed += allowed
    summary.refused += decided.height - allowed - invalid
    for codes, rows in reasons.filter(reasons != "").value_counts().iter_rows():
        for code in set(codes.split("|")):  # a few distinct strings, not one per row
            summary.by_reason[code] = summary.by_reason.get(code, 0) + int(rows)


def _broken_rows(summary: ScrubSummary, batch: files.Batch, schema: pl.Schema) -> pl.DataFrame:
    """Rows that could not be read: counted invalid, listed, and written to the rejects."""
    for broken in batch.broken:
        if len(summary.broken_rows) < MAX_BROKEN_LISTED:
            summary.broken_rows.append({"line": broken.line, "reason": broken.reason})
    count = len(batch.broken)
    summary.input_rows += count
    summary.invalid += count
    if count:
        summary.by_reason[INVALID] = summary.by_reason.get(INVALID, 0) + count
    frame = pl.DataFrame([pl.Series(c, [None] * count, dtype=t) for c, t in schema.items()])
    return frame.with_columns(
        pl.Series("permis_line", [b.line for b in batch.broken], dtype=schema["permis_line"]),
        pl.lit(INVALID, dtype=pl.Utf8).alias("permis_reasons"),
    )


class _Outputs:
    """The allowed and rejects files, opened at the first batch (after every check passed)."""

    def __init__(self, out: Path, rejects: Path, info: files.FileInfo) -> None:
        self.paths, self.info = (out, rejects), info
        self.writers: list[files.Writer] = []
        self.columns: list[str] = []

    def write(self, decided: pl.DataFrame, broken: pl.DataFrame) -> None:
        with stage("write"):
            self._write(decided, broken)

    def _write(self, decided: pl.DataFrame, broken: pl.DataFrame) -> None:
        if not self.writers:
            self.columns = decided.columns
            allowed = [c for c in self.columns if c != "permis_reasons"]
            self.writers = [
                files.open_writer(self.paths[0], allowed, self.info),
                files.open_writer(self.paths[1], self.columns, self.info),
            ]
        ok = decided.filter(pl.col("permis_reasons") == "").drop("permis_reasons")
        ko = decided.filter(pl.col("permis_reasons") != "")
        if broken.height:
            ko = pl.concat([ko, broken], how="vertical")
        self.writers[0].write(ok)
        self.writers[1].write(ko)

    def close(self) -> None:
        for writer in self.writers:
            writer.close()

    def abort(self) -> None:
        for writer in self.writers:
            writer.abort()


def _scrub_batches(
    batches: Prefetch[_Prepared],
    decider: Decider,
    summary: ScrubSummary,
    outputs: _Outputs,
    writes: Background,
    progress: Progress | None,
) -> None:
    """Decides the batches as they come; each one is written in the background."""
    while True:
        with stage("read: wait"):
            prepared = next(batches, None)
        if prepared is None:
            return
        batch, summary.column = prepared.batch, prepared.column
        decided = _decide_batch(decider, prepared)
        with stage("account"):
            _account(summary, decided)
        writes.submit(outputs.write, decided, _broken_rows(summary, batch, decided.schema))
        if progress is not None:
            progress(batch.table.height + len(batch.broken) + batch.blank_lines)


def run_scrub(
    db: Database,
    rules: RulePack | Rulebook,
    path: Path,
    request: ScrubRequest,
    out: Path | None,
    rejects: Path | None,
    policy: Policy | None = None,
    progress: Progress | None = None,
) -> ScrubSummary:
    """Scrub ``path``: allowed rows to ``out``, the others to ``rejects``; nothing is written
    under those names unless the whole file went through."""
    started = time.perf_counter()
    info = files.sniff(path)
    # batches read and normalised ahead, from while the register loads
    batches = Prefetch(_prepare(files.read_batches(path, info), request.column), depth=PREFETCH)
    try:
        with stage("register"):
            decider = open_decider(db, rules, request, policy)
    except BaseException:
        batches.close()
        raise
    summary = ScrubSummary(rules_version=rules.version(request.at))
    outputs = _Outputs(
        out or path.with_name(f"{path.stem}.allowed{path.suffix}"),
        rejects or path.with_name(f"{path.stem}.rejects{path.suffix}"),
        info,
    )
    writes = Background()
    try:
        _scrub_batches(batches, decider, summary, outputs, writes, progress)
        writes.submit(outputs.close)
        with stage("write: wait"):
            writes.finish()
    except BaseException:
        batches.close()
        writes.cancel()
        outputs.abort()
        raise
    summary.decisions = decider.decisions
    summary.rules_version = decider.rules.version(request.at, decider.used)
    summary.seconds = time.perf_counter() - started
    report()
    return summary
