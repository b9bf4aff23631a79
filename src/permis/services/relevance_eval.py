"""Evaluation protocols on the public data (docs/relevance.md).

- ``rolling``: bank-additional-full in time order; the last 20% of calls are the test; the model
  is refitted every ``step`` calls on the ``window`` calls just before them (a sliding window, as
  in Moro, Cortez and Rita 2014), and scores the next ``step`` calls only.
- ``cv``: stratified 5-fold cross-validation (shuffled with the seed); pooled out-of-fold scores.
- ``hillstrom``: the randomised e-mail experiment as a guard, on a held-out half.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from permis.errors import UsageError
from permis.services import relevance as rel
from permis.services.relevance_data import (
    BANK,
    BANK_SPEC,
    HILLSTROM,
    HILLSTROM_SPEC,
    FeatureSpec,
    load_bank,
    load_hillstrom,
)

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

LEAK_CV_AUC = 0.90
"""Above this cross-validated AUC on the bank data, something known after the call leaked in."""
TEST_SHARE = 0.2
WINDOW = 20_000
STEP = 1_000
FOLDS = 5
PAPER = {
    "source": "Moro, Cortez and Rita (2014), Decision Support Systems 62:22-31, neural network",
    "auc": 0.794,
    "alift": 0.672,
    "top": {"50%": 0.789},
}


@dataclass
class Evaluation:
    dataset: str
    protocol: str
    seed: int
    metrics: rel.Metrics
    fits: int
    seconds: float
    settings: dict[str, Any]
    fold_auc: list[float] = field(default_factory=list)
    gains: list[list[float]] = field(default_factory=list)
    guard: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "dataset": self.dataset,
            "protocol": self.protocol,
            "seed": self.seed,
            **self.metrics.to_dict(),
            "fits": self.fits,
            "seconds": round(self.seconds, 2),
            "settings": self.settings,
        }
        if self.fold_auc:
            data["fold_auc"] = [round(a, 4) for a in self.fold_auc]
        if self.dataset == BANK:
            data["paper"] = PAPER
        if self.guard:
            data["guard"] = self.guard
        return data


def rolling_scores(
    table: pl.DataFrame, spec: Any, seed: int, window: int, step: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """Scores of the last ``TEST_SHARE`` of ``table`` (in its order), refitted every ``step``."""
    import numpy as np

    start = int(table.height * (1 - TEST_SHARE))
    scores = np.zeros(table.height - start)
    fits = 0
    for begin in range(start, table.height, step):
        train = table.slice(max(0, begin - window), begin - max(0, begin - window))
        model = rel.fit(train, spec, seed, screen_leaks=fits == 0)
        block = table.slice(begin, step)
        scores[begin - start : begin - start + block.height] = model.predict(block)
        fits += 1
    target = rel.target_of(table.slice(start), spec)
    return target, scores, fits


def evaluate_rolling(
    table: pl.DataFrame, seed: int = 0, window: int = WINDOW, step: int = STEP
) -> Evaluation:
    started = time.perf_counter()
    target, scores, fits = rolling_scores(table, BANK_SPEC, seed, window, step)
    return Evaluation(
        BANK,
        "rolling",
        seed,
        rel.metrics(target, scores),
        fits,
        time.perf_counter() - started,
        {"test_share": TEST_SHARE, "window": window, "step": step, "test_rows": int(target.size)},
        gains=rel.gains_points(target, scores),
    )


def evaluate_cv(
    table: pl.DataFrame, seed: int = 0, folds: int = FOLDS, spec: FeatureSpec = BANK_SPEC
) -> Evaluation:
    import numpy as np
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    started = time.perf_counter()
    target = rel.target_of(table, spec)
    scores = np.zeros(table.height)
    aucs = []
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fold, (train, test) in enumerate(splitter.split(np.zeros(table.height), target)):
        model = rel.fit(table[train], spec, seed, screen_leaks=fold == 0)
        scores[test] = model.predict(table[test])
        aucs.append(float(roc_auc_score(target[test], scores[test])))
    return Evaluation(
        BANK,
        "cv",
        seed,
        rel.metrics(target, scores),
        folds,
        time.perf_counter() - started,
        {"folds": folds, "stratified": True, "shuffle_seed": seed},
        fold_auc=aucs,
        gains=rel.gains_points(target, scores),
    )


def evaluate_history(table: pl.DataFrame, seed: int = 0) -> Evaluation | None:
    """The register model judged on the last ``TEST_SHARE`` of the attempt history (time order),
    fitted on what came before; None when either part lacks successes or failures."""
    from permis.services.relevance_features import REGISTER_SPEC

    started = time.perf_counter()
    ordered = table.sort("at_us", maintain_order=True)
    cut = int(ordered.height * (1 - TEST_SHARE))
    train, test = ordered.slice(0, cut), ordered.slice(cut)
    target = rel.target_of(test, REGISTER_SPEC)
    known = rel.target_of(train, REGISTER_SPEC)
    if min(target.size, known.size) == 0 or target.min() == target.max():
        return None
    if known.min() == known.max():
        return None
    scores = rel.fit(train, REGISTER_SPEC, seed, "register").predict(test)
    return Evaluation(
        "register",
        "time-ordered holdout",
        seed,
        rel.metrics(target, scores),
        1,
        time.perf_counter() - started,
        {"test_share": TEST_SHARE, "test_rows": int(target.size)},
        gains=rel.gains_points(target, scores),
    )


def evaluate_dataset(dataset: str, protocol: str, seed: int = 0) -> Evaluation:
    if dataset == BANK:
        table = load_bank()
        if protocol == "rolling":
            return evaluate_rolling(table, seed)
        if protocol == "cv":
            return evaluate_cv(table, seed)
        raise UsageError(f"--protocol: unknown protocol {protocol!r} (rolling or cv)")
    if dataset == HILLSTROM:
        from permis.services.relevance_uplift import evaluate_hillstrom

        return evaluate_hillstrom(load_hillstrom(), seed)
    raise UsageError(f"--dataset: unknown data set {dataset!r} ({BANK} or {HILLSTROM})")


__all__ = ["HILLSTROM_SPEC", "Evaluation", "evaluate_cv", "evaluate_dataset", "evaluate_rolling"]
