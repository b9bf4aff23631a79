"""``permis model`` and ``permis plan`` through the entry point, on a real register."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from permis.bootstrap import build
from permis.config import Settings
from tests.integration.test_planner import campaign, generate


@pytest.fixture
def ready(cli, empty_database_url: str):  # type: ignore[no-untyped-def]
    code, out, _ = cli("init", "--principal", "choucroute")
    assert code == 0, out
    app = build(Settings(database_url=empty_database_url))
    contacts = generate(app)
    app.close()
    return cli, contacts


def training_file(path: Path, leak: bool = False) -> Path:
    rng = np.random.default_rng(0)
    x = rng.normal(size=600)
    y = (rng.random(600) < 1 / (1 + np.exp(-2 * x))).astype(int)
    data = {"age": (40 + 10 * x).round(), "town": rng.choice(["Lille", "Metz"], 600), "y": y}
    if leak:
        data["duration"] = y * 300 + rng.integers(0, 20, 600)
    pl.DataFrame(data).write_csv(path, separator=";")
    return path


def test_plan_writes_the_plan_the_summary_and_the_report(ready, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli, contacts = ready
    path = campaign(tmp_path / "campagne.csv", contacts)
    code, out, err = cli(
        "plan",
        str(path),
        "--budget",
        "7",
        "--channels",
        "call,sms",
        "--from",
        "2026-11-03",
        "--json",
        "--out",
        str(tmp_path / "plan.csv"),
        "--report",
        str(tmp_path / "r.html"),
    )
    assert code == 0, err
    summary = json.loads(out)
    assert summary["planned"] == 7
    assert summary["contacts_avoided"] == summary["input_rows"] - 7
    assert set(summary) >= {
        "expected_successes_kept",
        "expected_successes_all",
        "calls_saved",
        "messages_saved",
    }
    plan = pl.read_csv(tmp_path / "plan.csv")
    assert plan.height == 7
    assert plan.columns == [
        "rank",
        "permis_line",
        "permis_contact",
        "channel",
        "at",
        "until",
        "expected",
    ]
    page = (tmp_path / "r.html").read_text()
    assert "Campaign plan" in page and "<script" not in page
    assert "time-ordered holdout" in page  # the register model judged on its latest attempts
    assert page.count("<polyline") == 3


def test_train_on_the_register_then_plan_with_that_model(ready, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli, contacts = ready
    model = tmp_path / "m.pkl"
    code, out, err = cli("model", "train", "--out", str(model), "--json")
    assert code == 0, err
    assert json.loads(out)["source"] == "register"
    path = campaign(tmp_path / "campagne.csv", contacts)
    code, out, err = cli(
        "plan", str(path), "--budget", "3", "--model", str(model), "--from", "2026-11-03", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["planned"] == 3
    assert (tmp_path / "campagne.plan.csv").exists()


def test_train_on_a_file_and_refuse_one_with_duration(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli(
        "model",
        "train",
        str(training_file(tmp_path / "t.csv")),
        "--target",
        "y",
        "--out",
        str(tmp_path / "m.pkl"),
        "--json",
    )
    assert code == 0, err
    assert json.loads(out)["features"] == ["age", "town"]
    code, out, err = cli(
        "model",
        "train",
        str(training_file(tmp_path / "leak.csv", leak=True)),
        "--target",
        "y",
        "--out",
        str(tmp_path / "leak.pkl"),
    )
    assert code == 2
    assert "LEAK_REFUSED" in err and "duration" in err
    assert not (tmp_path / "leak.pkl").exists()


def test_malformed_plans_and_evaluations_are_exit_2(ready, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli, contacts = ready
    path = campaign(tmp_path / "c.csv", contacts)
    for args in (
        ["plan", str(path), "--budget", "-1"],
        ["plan", str(path), "--budget", "3", "--channels", "pigeon"],
        ["plan", str(path), "--budget", "3", "--from", "2026-13-01"],
        ["plan", str(path), "--budget", "3", "--from", "2026-11-05", "--to", "2026-11-01"],
        ["model", "evaluate", "--dataset", "nope"],
        ["model", "evaluate", "--protocol", "nope"],
    ):
        code, _, err = cli(*args)
        assert code == 2, (args, err)
        assert err.startswith("error")


def test_a_missing_data_set_fails_with_exit_3(
    cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PERMIS_DATA_DIR", str(tmp_path))
    code, _, err = cli("model", "evaluate", "--json")
    assert code == 3
    assert "DATA_MISSING" in err and "PERMIS_DATA_DIR" in err


def test_model_report_draws_the_gains_curve(
    cli,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """On a 2,000-row sample of the bank file (the real path, in seconds)."""
    from permis.services.relevance_data import data_dir

    source = data_dir() / "bank-marketing" / "bank-additional-full.csv"
    folder = tmp_path / "data" / "bank-marketing"
    folder.mkdir(parents=True)
    lines = source.read_text().splitlines()
    (folder / "bank-additional-full.csv").write_text("\n".join([lines[0], *lines[1::20]]) + "\n")
    monkeypatch.setenv("PERMIS_DATA_DIR", str(tmp_path / "data"))
    code, _, err = cli("model", "report", "--protocol", "cv", "--out", str(tmp_path / "r.html"))
    assert code == 0, err
    page = (tmp_path / "r.html").read_text()
    assert page.count("<polyline") == 3  # model, random, best possible
    assert "<script" not in page and "http://www.w3.org/2000/svg" in page
    assert "paper (NN)" in page


def test_the_command_line_does_not_import_the_model_libraries() -> None:
    code = (
        "import sys, permis.entrypoints.cli; "
        "print(sorted(m for m in ('sklearn', 'polars', 'jinja2', 'numpy') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
