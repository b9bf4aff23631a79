"""The data the relevance model learns from, and the guard against features from the future.

Two public data sets (``PERMIS_DATA_DIR``, by default ``<repo>/../shared/data``, then
``/work/shared/data``):

- ``bank-marketing/bank-additional-full.csv``: 41,188 phone calls of a Portuguese bank, in time
  order (Moro, Cortez and Rita 2014). ``duration`` is known only after the call: never a feature.
- ``hillstrom/hillstrom.csv``: 64,000 customers randomly sent a men's e-mail, a women's e-mail or
  nothing (Hillstrom 2008): a real experiment for *which message, or none*.

A feature is a column with a *known-at* label: ``before`` (known before the contact is made) or
``after`` (known only once it is made: the call's duration, its outcome). ``guard`` refuses any
``after`` column and the target itself; ``screen`` flags a column that alone ranks the outcome
almost perfectly (an undeclared leak).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from permis.errors import PermisError, UsageError

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

DATA_ENV = "PERMIS_DATA_DIR"
BANK = "bank-marketing"
HILLSTROM = "hillstrom"
BANK_FILE = "bank-additional-full.csv"
HILLSTROM_FILE = "hillstrom.csv"
LEAK_AUC = 0.95
"""A single column that ranks the outcome with an AUC above this is taken for a leak."""

AFTER_CONTACT = frozenset({"duration", "outcome", "answered", "converted", "conversion", "spend"})
"""Column names known only after the contact (or the outcome itself): never features."""


class DataMissing(PermisError):
    """A public data set the evaluation needs is not where the settings say."""

    code = "DATA_MISSING"
    exit_code = 3


class LeakRefused(UsageError):
    """A feature would use the outcome or something known only after the contact."""

    code = "LEAK_REFUSED"


# -- where the data lives ------------------------------------------------------------------------


def data_dir(environ: dict[str, str] | None = None) -> Path:
    """``PERMIS_DATA_DIR``, else ``<repo root>/../shared/data``, else ``/work/shared/data``."""
    env = os.environ if environ is None else environ
    configured = env.get(DATA_ENV)
    if configured:
        return Path(configured)
    repo_root = Path(__file__).resolve().parents[3]
    for candidate in (repo_root.parent / "shared" / "data", Path("/work/shared/data")):
        if candidate.is_dir():
            return candidate
    return repo_root.parent / "shared" / "data"


def dataset_path(name: str, environ: dict[str, str] | None = None) -> Path:
    files = {BANK: BANK_FILE, HILLSTROM: HILLSTROM_FILE}
    if name not in files:
        raise UsageError(f"--dataset: unknown data set {name!r} (one of: {', '.join(files)})")
    path = data_dir(environ) / name / files[name]
    if not path.is_file():
        raise DataMissing(
            f"data set {name} not found at {path}: set {DATA_ENV} to the folder holding "
            f"{name}/{files[name]} (see docs/relevance.md)"
        )
    return path


# -- feature specifications ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """Which columns feed the model, of which kind, and what is predicted."""

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    target: str
    known_after: frozenset[str] = field(default_factory=lambda: AFTER_CONTACT)

    @property
    def columns(self) -> tuple[str, ...]:
        return self.numeric + self.categorical


def guard(spec: FeatureSpec) -> None:
    """Refuse a spec that uses the target or a column known only after the contact."""
    leaks = sorted(
        c for c in spec.columns if c == spec.target or c.strip().lower() in spec.known_after
    )
    if leaks:
        raise LeakRefused(
            f"refused feature(s) {', '.join(leaks)}: known only after the contact "
            "or the outcome itself (docs/relevance.md, leak guard)"
        )


def screen(matrix: np.ndarray, target: np.ndarray, names: tuple[str, ...]) -> None:
    """Refuse any single column that ranks the outcome with an AUC above ``LEAK_AUC``."""
    import numpy as np
    from sklearn.metrics import roc_auc_score

    if target.min() == target.max():
        return
    for index, name in enumerate(names):
        column = matrix[:, index]
        known = ~np.isnan(column)
        if known.sum() < 2 or target[known].min() == target[known].max():
            continue
        auc = float(roc_auc_score(target[known], column[known]))
        if max(auc, 1 - auc) > LEAK_AUC:
            raise LeakRefused(
                f"refused feature {name}: alone it ranks the outcome with AUC "
                f"{max(auc, 1 - auc):.3f} > {LEAK_AUC} (a leak: docs/relevance.md)"
            )


# -- the two data sets ---------------------------------------------------------------------------

BANK_SPEC = FeatureSpec(
    numeric=(
        "age",
        "campaign",
        "pdays",
        "previous",
        "emp.var.rate",
        "cons.price.idx",
        "cons.conf.idx",
        "euribor3m",
        "nr.employed",
    ),
    categorical=(
        "job",
        "marital",
        "education",
        "default",
        "housing",
        "loan",
        "contact",
        "month",
        "day_of_week",
        "poutcome",
    ),
    target="y",
)
"""Every column of bank-additional-full but ``duration`` (known after the call) and ``y``."""

HILLSTROM_SPEC = FeatureSpec(
    numeric=("recency", "history", "mens", "womens", "newbie"),
    categorical=("zip_code", "channel", "segment"),
    target="visit",
)
"""The customer's past (all before the e-mail) and the message sent (``segment``)."""

_CACHE: dict[Path, Any] = {}


def load_csv(path: Path, separator: str) -> pl.DataFrame:
    """A whole data set, read once per process (tests and benchmarks reuse it)."""
    import polars as pl

    found = _CACHE.get(path)
    if found is None:
        found = _CACHE[path] = pl.read_csv(path, separator=separator, infer_schema_length=None)
    table: pl.DataFrame = found
    return table


def load_bank(environ: dict[str, str] | None = None) -> pl.DataFrame:
    """bank-additional-full with ``y`` as 0/1, in its time order."""
    import polars as pl

    table = load_csv(dataset_path(BANK, environ), ";")
    return table.with_columns((pl.col("y") == "yes").cast(pl.Int8).alias("y"))


def load_hillstrom(environ: dict[str, str] | None = None) -> pl.DataFrame:
    return load_csv(dataset_path(HILLSTROM, environ), ",")
