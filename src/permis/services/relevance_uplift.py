"""The Hillstrom guard: which message, or none, on a randomised experiment (docs/relevance.md).

One model (segment as a feature) is fitted on a random half of the 64,000 customers and judged on
the other half, where the e-mail each customer got was drawn at random (about 1/3 each):

- *message per person*: send each customer the message with the higher predicted visit
  probability; its visit rate is estimated on the held-out customers who happened to get that
  very message, weighted by how many customers the choice sends it to. The guard: it is never
  below the best single message (chosen on the training half) sent to everyone.
- *budgeted targeting*: with room for a share of the customers only, e-mail those with the
  highest predicted uplift (predicted visit with their message minus without any); the
  incremental visits it yields on held-out data (visit rate of the targeted who got their
  message minus the targeted who got none) are never below a random selection of the same size.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from permis.services import relevance as rel
from permis.services.relevance_data import HILLSTROM, HILLSTROM_SPEC

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

    from permis.services.relevance_eval import Evaluation

MESSAGES = ("Mens E-Mail", "Womens E-Mail")
NONE = "No E-Mail"
BUDGETS = (10, 20, 30, 50)
INFINITY = float("inf")
MARGINS = (0.0, 0.005, 0.01, 0.02, 0.04, INFINITY)
"""Predicted gains a switch from the best single message must exceed; chosen on validation."""
VALID_SHARE = 0.3
CONFIDENCE = 2.0
"""Standard errors a validation gain must reach before the policy leaves the best single."""


def _with_segment(table: pl.DataFrame, segment: str) -> pl.DataFrame:
    import polars as pl

    return table.with_columns(pl.lit(segment).alias("segment"))


def split(table: pl.DataFrame, seed: int, share: float = 0.5) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows to learn from and ``share`` of them held out, drawn at random (the seed decides)."""
    import numpy as np

    order = np.random.default_rng(seed).permutation(table.height)
    cut = table.height - int(table.height * share)
    return table[np.sort(order[:cut])], table[np.sort(order[cut:])]


def _predict(model: rel.RelevanceModel, table: pl.DataFrame) -> dict[str, np.ndarray]:
    return {s: model.predict(_with_segment(table, s)) for s in (*MESSAGES, NONE)}


def choose(predicted: dict[str, np.ndarray], best_single: str, margin: float) -> np.ndarray:
    """Each person's message: the best single one unless another is predicted ``margin`` better."""
    import numpy as np

    choice = np.full(predicted[best_single].size, best_single, dtype=object)
    gain = np.zeros(choice.size)
    for message in MESSAGES:
        better = predicted[message] - predicted[best_single]
        switch = (better > margin) & (better > gain)
        choice[switch] = message
        gain[switch] = better[switch]
    return choice


def policy_value(table: pl.DataFrame, choice: np.ndarray) -> float:
    """Visit rate if each person got ``choice``: estimated on those who got it by chance."""
    import numpy as np

    visit = table["visit"].to_numpy().astype(np.float64)
    got = table["segment"].to_numpy()
    value = 0.0
    for message in MESSAGES:
        chosen = choice == message
        matched = chosen & (got == message)
        if chosen.any() and matched.any():
            value += float(chosen.mean() * visit[matched].mean())
    return value


def switch_gain(table: pl.DataFrame, choice: np.ndarray, best_single: str) -> tuple[float, float]:
    """The visit-rate gain of ``choice`` over the best single message, and its standard error:
    only the switched customers differ, compared with those of them who got the best single."""
    import numpy as np

    visit = table["visit"].to_numpy().astype(np.float64)
    got = table["segment"].to_numpy()
    switched = choice != best_single
    share = float(switched.mean())
    if share == 0:
        return 0.0, 0.0
    gain, variance = 0.0, 0.0
    for message in MESSAGES:
        if message == best_single:
            continue
        here = choice == message
        a, b = visit[here & (got == message)], visit[here & (got == best_single)]
        if a.size < 2 or b.size < 2:
            return 0.0, float("inf")
        weight = float(here.mean())
        gain += weight * (a.mean() - b.mean())
        variance += weight**2 * (a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    return gain, float(np.sqrt(variance))


def pick_margin(valid: pl.DataFrame, predicted: dict[str, np.ndarray], best_single: str) -> float:
    """The margin whose switches gained the most on the validation part, if that gain is at
    least ``CONFIDENCE`` standard errors; otherwise infinity: the best single message for all."""
    best, chosen = 0.0, INFINITY
    for margin in MARGINS[:-1]:
        gain, error = switch_gain(valid, choose(predicted, best_single, margin), best_single)
        if gain > CONFIDENCE * error and gain > best:
            best, chosen = gain, margin
    return chosen


def message_choice(
    held: pl.DataFrame, predicted: dict[str, np.ndarray], best_single: str, margin: float
) -> dict[str, Any]:
    """The visit rate of choosing the message per person, against the best single message."""
    choice = choose(predicted, best_single, margin)
    value = policy_value(held, choice)
    got = held["segment"].to_numpy()
    single = float(held["visit"].to_numpy()[got == best_single].mean())
    return {
        "per_person_visit_rate": round(value, 5),
        "best_single_message": best_single,
        "best_single_visit_rate": round(single, 5),
        "margin": None if margin == INFINITY else margin,
        "share_sent_each": {m: round(float((choice == m).mean()), 4) for m in MESSAGES},
        "not_worse": bool(value >= single),
    }


def budgeted(
    held: pl.DataFrame, predicted: dict[str, np.ndarray], choice: np.ndarray
) -> dict[str, Any]:
    """Incremental visits per 1,000 customers targeted: by predicted uplift vs at random."""
    import numpy as np

    visit = held["visit"].to_numpy().astype(np.float64)
    got = held["segment"].to_numpy()
    with_message = np.where(choice == MESSAGES[0], predicted[MESSAGES[0]], predicted[MESSAGES[1]])
    uplift = with_message - predicted[NONE]
    order = np.argsort(-uplift, kind="stable")
    emailed, control = got != NONE, got == NONE
    random_uplift = float(visit[emailed].mean() - visit[control].mean())
    rows = []
    for percent in BUDGETS:
        picked = np.zeros(held.height, dtype=bool)
        picked[order[: held.height * percent // 100]] = True
        treated = picked & (got == choice)
        untreated = picked & control
        targeted = float(visit[treated].mean() - visit[untreated].mean())
        rows.append(
            {
                "budget": f"{percent}%",
                "targeted_per_1000": round(1000 * targeted, 2),
                "random_per_1000": round(1000 * random_uplift, 2),
                "not_worse": bool(targeted >= random_uplift),
            }
        )
    return {"budgets": rows, "not_worse": all(r["not_worse"] for r in rows)}


def evaluate_hillstrom(table: pl.DataFrame, seed: int = 0) -> Evaluation:
    import numpy as np

    from permis.services.relevance_eval import Evaluation

    started = time.perf_counter()
    train, held = split(table, seed)
    fit_part, valid = split(train, seed + 1, VALID_SHARE)
    model = rel.fit(fit_part, HILLSTROM_SPEC, seed)
    got = train["segment"].to_numpy()
    visits = train["visit"].to_numpy()
    best_single = max(MESSAGES, key=lambda m: float(visits[got == m].mean()))
    margin = pick_margin(valid, _predict(model, valid), best_single)
    predicted = _predict(model, held)
    target = held["visit"].to_numpy().astype(np.int8)
    guard = {
        "outcome": "visit within two weeks",
        "train_rows": train.height,
        "held_out_rows": held.height,
        "message": message_choice(held, predicted, best_single, margin),
        "targeting": budgeted(held, predicted, choose(predicted, best_single, margin)),
    }
    scores = model.predict(held)
    return Evaluation(
        HILLSTROM,
        "held-out",
        seed,
        rel.metrics(target, scores),
        1,
        time.perf_counter() - started,
        {"held_out_share": 0.5, "validation_share_of_training": VALID_SHARE},
        gains=rel.gains_points(target, scores),
        guard=guard,
    )
