"""``permis model train|evaluate|report`` and ``permis plan``: relevance and sobriety.

Registered on the main app by ``register(app)``. scikit-learn and Polars are imported inside the
commands only: ``permis check`` never pays for them.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from permis.entrypoints.cli_common import (
    JsonOpt,
    PrincipalOpt,
    ProcessorOpt,
    build_app,
    emit,
    parse_enum,
)
from permis.errors import UsageError

model_app = typer.Typer(help="The relevance model: train, evaluate, report.", no_args_is_help=True)

SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed (same seed, same model).")]
DatasetOpt = Annotated[
    str, typer.Option("--dataset", help="bank-marketing or hillstrom (PERMIS_DATA_DIR).")
]
ProtocolOpt = Annotated[str, typer.Option("--protocol", help="rolling or cv (bank-marketing).")]


def register(app: typer.Typer) -> None:
    """Add ``model`` and ``plan`` to the ``permis`` app."""
    app.add_typer(model_app, name="model")
    app.command("plan")(plan)


# -- model ---------------------------------------------------------------------------------------


@model_app.command("train")
def train(
    file: Annotated[
        Path | None, typer.Argument(help="A table with a target column (default: the register).")
    ] = None,
    target: Annotated[str, typer.Option("--target", help="The outcome column of FILE.")] = "y",
    out: Annotated[Path, typer.Option("--out", help="Where to write the model.")] = Path(
        "permis-model.pkl"
    ),
    principal: PrincipalOpt = None,
    seed: SeedOpt = 0,
    as_json: JsonOpt = False,
) -> None:
    """Train on the register's attempt history, or on FILE (every column but the target,
    minus those known only after the contact)."""
    from permis.services import relevance as rel

    if file is None:
        from permis.services.relevance_features import (
            REGISTER_SPEC,
            register_attempts,
            training_table,
        )

        table = training_table(register_attempts(build_app().db, principal))
        model = rel.fit(table, REGISTER_SPEC, seed, "register")
    else:
        table = _read(file)
        model = rel.fit(table, file_spec(table, target), seed, file.name)
    rel.save(model, out)
    data = {
        "model": str(out),
        "source": model.source,
        "rows": model.rows,
        "positives": model.positives,
        "features": list(model.spec.columns),
        "seed": seed,
    }
    emit(data, as_json, f"model trained on {model.rows} rows ({model.positives} successes): {out}")


@model_app.command("evaluate")
def evaluate(
    dataset: DatasetOpt = "bank-marketing",
    protocol: ProtocolOpt = "rolling",
    seed: SeedOpt = 0,
    report: Annotated[
        Path | None, typer.Option("--report", help="Also write the HTML report page.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Measure the model on public data: AUC, ALIFT, successes reached in the top 10/20/50%."""
    from permis.services.relevance_eval import evaluate_dataset

    result = evaluate_dataset(dataset, protocol, seed)
    if report is not None:
        from permis.entrypoints.report import write_report

        write_report(report, result, None)
    emit(result.to_dict(), as_json, _evaluation_text(result.to_dict()))


@model_app.command("report")
def model_report(
    out: Annotated[Path, typer.Option("--out", help="The HTML page to write.")] = Path(
        "relevance-report.html"
    ),
    dataset: DatasetOpt = "bank-marketing",
    protocol: ProtocolOpt = "rolling",
    seed: SeedOpt = 0,
) -> None:
    """Write the HTML report: cumulative gains (model, random, best) and the figures."""
    from permis.entrypoints.report import write_report
    from permis.services.relevance_eval import evaluate_dataset

    write_report(out, evaluate_dataset(dataset, protocol, seed), None)
    typer.echo(f"report written to {out}")


def _evaluation_text(data: dict[str, Any]) -> str:
    lines = [
        f"{data['dataset']} ({data['protocol']}, seed {data['seed']}): "
        f"{data['rows']} rows, {data['positives']} successes",
        f"  AUC    {data['auc']:.3f}",
        f"  ALIFT  {data['alift']:.3f}  (random 0.5, best {data['alift_best']:.3f})",
    ]
    for share, value in data["top"].items():
        best = 100 * data["best"][share]
        lines.append(f"  top {share:>4}: {100 * value:5.1f}% of successes (best {best:.1f}%)")
    if "paper" in data:
        paper = data["paper"]
        lines.append(
            f"  paper's NN: AUC {paper['auc']}, ALIFT {paper['alift']}, top 50% "
            f"{100 * paper['top']['50%']:.1f}%"
        )
    if "guard" in data:
        message, targeting = data["guard"]["message"], data["guard"]["targeting"]
        lines.append(
            f"  message per person: visit {message['per_person_visit_rate']:.4f} vs best single "
            f"{message['best_single_visit_rate']:.4f} ({'ok' if message['not_worse'] else 'WORSE'})"
        )
        for row in targeting["budgets"]:
            lines.append(
                f"  budget {row['budget']:>4}: {row['targeted_per_1000']} extra visits per 1000 "
                f"targeted vs {row['random_per_1000']} at random"
            )
    lines.append(f"  {data['fits']} fit(s) in {data['seconds']} s")
    return "\n".join(lines)


def file_spec(table: Any, target: str) -> Any:
    """Every column of a training file but the target: text is categorical, the rest numeric.
    Columns known only after the contact are refused by ``fit`` (the leak guard), not dropped."""
    import polars as pl

    from permis.services.relevance_data import FeatureSpec

    if target not in table.columns:
        raise UsageError(f"--target: no column {target!r} in the file")
    numeric, categorical = [], []
    for name, kind in table.schema.items():
        if name in {target, "permis_line"}:
            continue
        as_number = table[name].cast(pl.Float64, strict=False) if kind == pl.Utf8 else None
        if kind.is_numeric() or (as_number is not None and as_number.null_count() == 0):
            numeric.append(name)
        else:
            categorical.append(name)
    return FeatureSpec(tuple(numeric), tuple(categorical), target)


def _read(file: Path) -> Any:
    import polars as pl

    from permis.adapters import files

    info = files.sniff(file)
    tables = [batch.table for batch in files.read_batches(file, info)]
    return pl.concat(tables, how="vertical").drop("permis_line", strict=False)


# -- plan ----------------------------------------------------------------------------------------


def plan(
    file: Annotated[Path, typer.Argument(help="The campaign file (CSV, Parquet or XLSX).")],
    budget: Annotated[int, typer.Option("--budget", help="Contacts to plan at most.")],
    channels: Annotated[
        str, typer.Option("--channels", help="Comma-separated: call, sms, email.")
    ] = "call,sms,email",
    start: Annotated[
        str | None, typer.Option("--from", help="First day (YYYY-MM-DD); default tomorrow.")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Last day (YYYY-MM-DD); default --from.")
    ] = None,
    model_file: Annotated[
        Path | None, typer.Option("--model", help="A model from `permis model train`.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="The plan (CSV; default FILE.plan.csv).")
    ] = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="Also write the HTML report page.")
    ] = None,
    column: Annotated[
        str | None, typer.Option("--column", help="The contact column (default: detected).")
    ] = None,
    principal: PrincipalOpt = None,
    processor: ProcessorOpt = None,
    seed: SeedOpt = 0,
    as_json: JsonOpt = False,
) -> None:
    """Plan the best BUDGET contacts the gate allows: channel and time slot for each."""
    from permis.domain.model import Channel
    from permis.services import relevance as rel
    from permis.services.planner import PlanRequest
    from permis.services.planner import plan as make_plan
    from permis.services.relevance_features import (
        REGISTER_SPEC,
        register_attempts,
        training_table,
    )

    first, last = _days(start, end)
    request = PlanRequest(
        budget=budget,
        channels=tuple(
            parse_enum(Channel, c.strip(), "--channels") for c in channels.split(",") if c.strip()
        ),
        start=first,
        end=last,
        principal=principal,
        processor=processor,
        column=column,
    )
    application = build_app()
    history = register_attempts(application.db, principal)
    if model_file is not None:
        model = rel.load(model_file)
    else:
        model = rel.fit(training_table(history), REGISTER_SPEC, seed, "register")
    table, summary = make_plan(
        application.db, application.gate.rules, file, request, model, history
    )
    target = out or file.with_name(f"{file.stem}.plan.csv")
    table.write_csv(target)
    data = {"plan": str(target), **summary.to_dict()}
    if report is not None:
        from permis.entrypoints.report import write_report
        from permis.services.relevance_eval import evaluate_history

        judged = evaluate_history(training_table(history), seed) if model_file is None else None
        write_report(report, judged, data)
    emit(data, as_json, _plan_text(data))


def _days(start: str | None, end: str | None) -> tuple[date, date]:
    from datetime import UTC, datetime, timedelta

    try:
        first = date.fromisoformat(start) if start else datetime.now(UTC).date() + timedelta(days=1)
        last = date.fromisoformat(end) if end else first
    except ValueError:
        raise UsageError("--from/--to: a day is written YYYY-MM-DD") from None
    return first, last


def _plan_text(data: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"planned {data['planned']} of {data['input_rows']} rows (budget {data['budget']}; "
            f"{data['allowed_rows']} allowed by the gate at some slot, {data['invalid']} invalid)",
            f"  contacts avoided: {data['contacts_avoided']}",
            f"  expected successes: {data['expected_successes_kept']} kept, "
            f"{data['expected_successes_all']} if every allowed row were contacted",
            f"  saved: {data['calls_saved']} calls, {data['messages_saved']} messages",
            f"  plan written to {data['plan']}",
        ]
    )
