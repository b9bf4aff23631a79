"""Relevance without the public data: metrics, the leak guard, history features, the model."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from permis.services import relevance as rel
from permis.services.relevance_data import (
    BANK_SPEC,
    HILLSTROM_SPEC,
    FeatureSpec,
    LeakRefused,
    data_dir,
    dataset_path,
    guard,
)
from permis.services.relevance_features import (
    REGISTER_SPEC,
    Attempt,
    Query,
    by_key,
    feature_table,
    training_table,
)


def us(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1_000_000)


# -- metrics -------------------------------------------------------------------------------------


def test_alift_is_half_at_random_and_one_minus_half_the_rate_at_best() -> None:
    target = np.array([1, 0, 0, 1, 0, 0, 0, 0, 0, 0])
    best = rel.alift(target, target.astype(float))
    # perfect order: the gains curve rises to 1 over the first 20% then stays there
    assert best == pytest.approx(1 - 0.2 / 2)
    worst = rel.alift(target, -target.astype(float))
    assert worst == pytest.approx(0.2 / 2)
    rng = np.random.default_rng(0)
    big = (rng.random(200_000) < 0.1).astype(np.int8)
    assert rel.alift(big, rng.random(big.size)) == pytest.approx(0.5, abs=0.01)


def test_top_shares_and_the_best_achievable() -> None:
    target = np.array([0, 1, 0, 1, 0, 0, 0, 0, 0, 1])
    score = np.linspace(1, 0, 10)  # rank = position
    assert rel.top_share(target, score, 10) == pytest.approx(0.0)
    assert rel.top_share(target, score, 20) == pytest.approx(1 / 3)
    assert rel.top_share(target, score, 50) == pytest.approx(2 / 3)
    assert rel.best_share(target, 10) == pytest.approx(1 / 3)
    assert rel.best_share(target, 50) == 1.0
    m = rel.metrics(target, score)
    assert m.to_dict()["top"] == {"10%": 0.0, "20%": 0.3333, "50%": 0.6667}
    assert m.auc == pytest.approx(
        sum(
            score[i] > score[j] for i in range(10) for j in range(10) if target[i] and not target[j]
        )
        / 21
    )


def test_gains_points_start_at_zero_and_end_at_one() -> None:
    target = np.array([1, 0, 1, 0])
    points = rel.gains_points(target, np.array([0.9, 0.8, 0.1, 0.2]), points=4)
    assert points[0] == [0.0, 0.0, 0.0]
    assert points[-1] == [1.0, 1.0, 1.0]
    assert points[1] == [0.25, 0.5, 0.5]


# -- the leak guard ------------------------------------------------------------------------------


def test_the_bank_features_leave_out_duration_and_the_outcome() -> None:
    assert "duration" not in BANK_SPEC.columns
    assert "y" not in BANK_SPEC.columns
    guard(BANK_SPEC)
    guard(HILLSTROM_SPEC)
    guard(REGISTER_SPEC)
    assert not {"visit", "conversion", "spend"} & set(HILLSTROM_SPEC.columns)


def test_a_spec_with_duration_or_the_target_is_refused() -> None:
    with pytest.raises(LeakRefused, match="duration"):
        guard(FeatureSpec((*BANK_SPEC.numeric, "duration"), BANK_SPEC.categorical, "y"))
    with pytest.raises(LeakRefused, match="y"):
        guard(FeatureSpec(("age",), ("y",), "y"))


def synthetic(rows: int = 4000, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows)
    kind = rng.choice(["a", "b", "c"], size=rows)
    p = 1 / (1 + np.exp(-(x + (kind == "a"))))
    y = (rng.random(rows) < p).astype(np.int8)
    return pl.DataFrame({"x": x, "kind": kind, "y": y})


def test_a_column_that_ranks_the_outcome_almost_perfectly_is_refused_as_a_leak() -> None:
    table = synthetic()
    leaky = table.with_columns((pl.col("y") * 10 + pl.col("x") * 0.01).alias("talk_time"))
    with pytest.raises(LeakRefused, match="talk_time"):
        rel.fit(leaky, FeatureSpec(("x", "talk_time"), ("kind",), "y"))
    model = rel.fit(table, FeatureSpec(("x",), ("kind",), "y"))  # the honest one trains
    assert 0.6 < rel.metrics(table["y"].to_numpy(), model.predict(table)).auc < 0.9


# -- the model -----------------------------------------------------------------------------------


def test_same_seed_same_model_and_a_saved_model_predicts_the_same(tmp_path: Path) -> None:
    table = synthetic()
    spec = FeatureSpec(("x",), ("kind",), "y")
    first, second = rel.fit(table, spec, seed=5), rel.fit(table, spec, seed=5)
    assert first.to_bytes() == second.to_bytes()
    rel.save(first, tmp_path / "m.pkl")
    loaded = rel.load(tmp_path / "m.pkl")
    assert (loaded.predict(table) == first.predict(table)).all()
    unseen = pl.DataFrame({"x": [0.0, None], "kind": ["zzz", None]})  # unknown and missing
    assert np.isfinite(loaded.predict(unseen)).all()


def test_a_file_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    from permis.errors import UsageError

    (tmp_path / "m.pkl").write_bytes(b"not a pickle")
    with pytest.raises(UsageError):
        rel.load(tmp_path / "m.pkl")


def test_one_outcome_only_cannot_train() -> None:
    from permis.errors import UsageError

    table = synthetic().with_columns(pl.lit(0, dtype=pl.Int8).alias("y"))
    with pytest.raises(UsageError, match="both successes and failures"):
        rel.fit(table, FeatureSpec(("x",), ("kind",), "y"))


# -- history features: nothing from the contact itself or after it -------------------------------

HISTORY = [
    Attempt("+33612345678", "call", us("2026-10-05T10:15:00+02:00"), "answered"),
    Attempt("+33612345678", "sms", us("2026-10-06T11:00:00+02:00"), "delivered"),
    Attempt("+33612345678", "call", us("2026-10-12T10:30:00+02:00"), "no_answer"),
]
QUERY = Query("+33612345678", "call", us("2026-10-19T10:05:00+02:00"))


def test_history_features_are_what_came_before() -> None:
    row = feature_table(by_key(HISTORY), [QUERY]).row(0, named=True)
    assert row["prior_attempts"] == 3
    assert row["prior_attempts_channel"] == 2
    assert row["prior_successes"] == 1
    assert row["success_rate"] == pytest.approx(1 / 3)
    assert row["days_since_last_success"] == pytest.approx(13 + (23 + 50 / 60) / 24)
    assert row["days_since_last"] == pytest.approx(6 + (23 + 35 / 60) / 24)
    assert row["success_rate_weekday"] == pytest.approx(0.5)  # two Mondays, one answered
    assert row["success_rate_hour"] == pytest.approx(0.5)  # two at 10h, one answered
    assert (row["channel"], row["weekday"], row["hour"]) == ("call", "Mon", "10h")


def test_no_feature_uses_the_outcome_or_anything_after_the_contact_time() -> None:
    """Add attempts at and after the query, flip their outcomes: not one feature moves."""
    before = feature_table(by_key(HISTORY), [QUERY])
    future = [
        Attempt(QUERY.key, "call", QUERY.at_us, "answered"),  # the contact itself
        Attempt(QUERY.key, "call", QUERY.at_us + 1, "answered"),
        Attempt(QUERY.key, "sms", QUERY.at_us + 86_400_000_000, "answered"),
    ]
    for outcome in ("answered", "refused", None):
        changed = [Attempt(a.key, a.channel, a.at_us, outcome) for a in future]
        after = feature_table(by_key(HISTORY + changed), [QUERY])
        assert after.equals(before)


def test_a_training_row_never_sees_its_own_outcome() -> None:
    table = training_table(HISTORY)
    flipped = training_table(
        [*HISTORY[:2], Attempt(HISTORY[2].key, "call", HISTORY[2].at_us, "answered")]
    )
    features = list(REGISTER_SPEC.columns)
    assert table.select(features).equals(flipped.select(features))
    assert table["success"].to_list() == [1, 0, 0]
    assert flipped["success"].to_list() == [1, 0, 1]


# -- where the data lives ----------------------------------------------------------------------------


def test_the_data_folder_comes_from_the_setting_first(tmp_path: Path) -> None:
    assert data_dir({"PERMIS_DATA_DIR": str(tmp_path)}) == tmp_path
    default = data_dir({})
    assert default.name == "data" and default.parent.name == "shared"


def test_a_missing_data_set_fails_with_the_setting_to_fix(tmp_path: Path) -> None:
    from permis.services.relevance_data import DataMissing

    with pytest.raises(DataMissing, match="PERMIS_DATA_DIR"):
        dataset_path("bank-marketing", {"PERMIS_DATA_DIR": str(tmp_path)})


# -- the message guard on a synthetic experiment -----------------------------------------------------


def experiment(rows: int, lift: float, seed: int = 0) -> pl.DataFrame:
    """A randomised e-mail test where each message works only on its own buyers (``lift``)."""
    rng = np.random.default_rng(seed)
    mens = rng.integers(0, 2, rows)
    segment = rng.choice(["Mens E-Mail", "Womens E-Mail", "No E-Mail"], rows)
    p = 0.1 + lift * ((segment == "Mens E-Mail") & (mens == 1))
    p = p + lift * ((segment == "Womens E-Mail") & (mens == 0))
    return pl.DataFrame(
        {
            "recency": rng.integers(1, 13, rows),
            "history": rng.gamma(2, 100, rows).round(2),
            "mens": mens,
            "womens": 1 - mens,
            "newbie": rng.integers(0, 2, rows),
            "zip_code": rng.choice(["Urban", "Rural"], rows),
            "channel": rng.choice(["Web", "Phone"], rows),
            "segment": segment,
            "visit": (rng.random(rows) < p).astype(np.int8),
        }
    )


def test_the_message_guard_switches_when_it_pays_and_not_when_it_does_not() -> None:
    from permis.services.relevance_uplift import evaluate_hillstrom

    paying = evaluate_hillstrom(experiment(12_000, 0.2), seed=0).guard["message"]
    assert paying["margin"] is not None  # a real per-person policy was chosen
    assert 0.3 < paying["share_sent_each"]["Womens E-Mail"] < 0.7
    assert paying["per_person_visit_rate"] > paying["best_single_visit_rate"] + 0.05
    flat = evaluate_hillstrom(experiment(12_000, 0.0), seed=0).guard["message"]
    assert flat["margin"] is None  # nothing to gain: the best single message for everyone
    assert flat["per_person_visit_rate"] == flat["best_single_visit_rate"]


def test_a_feature_never_known_in_training_does_not_break_the_fit() -> None:
    table = synthetic().with_columns(pl.lit(None, dtype=pl.Float64).alias("days_since"))
    model = rel.fit(table, FeatureSpec(("x", "days_since"), ("kind",), "y"))
    later = table.with_columns(pl.lit(3.0).alias("days_since"))
    assert np.isfinite(model.predict(later)).all()


def test_the_report_escapes_what_it_is_given() -> None:
    from permis.entrypoints.report import render

    keys = ("input_rows", "allowed_rows", "budget", "planned", "contacts_avoided")
    plan = {k: "<script>x</script>" for k in keys} | {
        "expected_successes_kept": 1.5,
        "expected_successes_all": 2.5,
        "calls_saved": 3,
        "messages_saved": 4,
    }
    page = render(None, plan)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<svg" not in page  # no evaluation, no chart
