"""``permis processors``, ``dispatch``, ``deliveries``, ``violations``, ``suppressions``:
how opt-outs reach every processor, and the proof that they did."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from permis.entrypoints.cli_common import JsonOpt, PrincipalOpt, build_app, emit

processors_app = typer.Typer(
    help="Who contacts on the principal's behalf, and how opt-outs reach them.",
    no_args_is_help=True,
)
deliveries_app = typer.Typer(help="Deliveries of opt-outs: lag, overdue.", no_args_is_help=True)
suppressions_app = typer.Typer(help="Suppression files for processors.", no_args_is_help=True)


@processors_app.command("add")
def processors_add(
    name: str,
    channels: Annotated[
        str, typer.Option("--channels", help="Comma-separated channels, or all.")
    ] = "all",
    webhook: Annotated[
        str | None, typer.Option("--webhook", help="http(s) URL receiving signed opt-outs.")
    ] = None,
    secret: Annotated[
        str | None,
        typer.Option("--secret", help="whsec_ + base64 (24-64 bytes); generated if omitted."),
    ] = None,
    stream: Annotated[
        str | None, typer.Option("--stream", help="NATS JetStream subject to publish on.")
    ] = None,
    feed: Annotated[
        bool, typer.Option("--feed", help="Reads the pull feed /v1/suppressions/changes.")
    ] = False,
    files: Annotated[
        str | None, typer.Option("--files", help="Daily suppression files: csv or hashes.")
    ] = None,
    principal: PrincipalOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Register (or update) a processor, its channels and how opt-outs reach it."""
    from permis.services.processors import Processors

    application = build_app()
    scope = [c.strip() for c in channels.split(",") if c.strip()]
    done = Processors(application.db, application.clock).add(
        principal,
        name,
        scope,
        webhook=webhook,
        secret=secret,
        stream=stream,
        feed=feed,
        files=files,
    )
    forms = ", ".join(f.value for f in done.processor.forms)
    text = f"processor {name!r} registered for {done.processor.channels}; receives by {forms}"
    if done.secret:
        text += f"\nwebhook secret (shown once, give it to the receiver): {done.secret}"
    emit(done.to_dict(), as_json, text)


@processors_app.command("list")
def processors_list(principal: PrincipalOpt = None, as_json: JsonOpt = False) -> None:
    """The processors of the principal, and how each receives opt-outs."""
    from permis.services.processors import Processors

    application = build_app()
    rows = Processors(application.db, application.clock).list(principal)
    data = {"processors": [p.to_dict() for p in rows]}
    lines = []
    for p in rows:
        state = "active" if p.active else "inactive"
        if p.webhook_disabled_at is not None:
            state += f", WEBHOOK DISABLED ({p.disabled_reason})"
        forms = ",".join(f.value for f in p.forms)
        lines.append(f"{p.name:20} {p.channels:30} {forms:22} {state}")
    emit(data, as_json, "\n".join(lines) or "no processors")


def dispatch(
    once: Annotated[
        bool, typer.Option("--once", help="Deliver what is due now, then exit.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Deliver opt-outs to processors (webhooks, NATS) until stopped, or once."""
    import asyncio

    from permis.services.propagation import Dispatcher

    application = build_app()
    dispatcher = Dispatcher(application.db, application.clock, application.settings)

    async def main() -> dict[str, Any]:
        try:
            if once:
                return (await dispatcher.drain()).to_dict()
            stop = asyncio.Event()
            _on_signals(stop)
            await dispatcher.run(stop)
            return {"stopped": True}
        finally:
            await dispatcher.aclose()

    data = asyncio.run(main())
    text = ", ".join(f"{k} {v}" for k, v in data.items())
    emit(data, as_json, text)


def _on_signals(stop: Any) -> None:
    import asyncio
    import signal

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)


def _deliveries() -> Any:
    from permis.services.deliveries import Deliveries

    application = build_app()
    overdue = application.settings.delivery_overdue_seconds
    return Deliveries(application.db, application.clock, overdue)


@deliveries_app.command("lag")
def deliveries_lag(principal: PrincipalOpt = None, as_json: JsonOpt = False) -> None:
    """Per processor and form: deliveries, pending, acknowledged, lags, overdue."""
    rows = _deliveries().lag(principal)
    lines = [
        f"{r['processor']:16} {r['form']:8} {r['deliveries']:>7} sent {r['pending']:>6} pending "
        f"{r['acknowledged']:>7} acked  delivery max {r['delivery_lag_max_seconds']} s  "
        f"ack max {r['ack_lag_max_seconds']} s  overdue {r['overdue']}"
        + ("  RECEIVER DISABLED" if r["receiver_disabled"] else "")
        for r in rows
    ]
    emit({"lag": rows}, as_json, "\n".join(lines) or "no deliveries")


@deliveries_app.command("overdue")
def deliveries_overdue(principal: PrincipalOpt = None, as_json: JsonOpt = False) -> None:
    """Deliveries not acknowledged in time (PERMIS_DELIVERY_OVERDUE_SECONDS), and why."""
    rows = _deliveries().overdue(principal)
    lines = [
        f"{r['delivery']}  {r['processor']:16} {r['form']:8} {r['age_seconds']:>10} s  {r['why']}"
        for r in rows
    ]
    emit({"overdue": rows}, as_json, "\n".join(lines) or "nothing overdue")


@deliveries_app.command("ack")
def deliveries_ack(
    delivery: Annotated[str, typer.Argument(help="The delivery id (webhook-id).")],
    principal: PrincipalOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record a processor's acknowledgement received by other means (mail, phone)."""
    data = _deliveries().acknowledge(principal, delivery)
    emit(data, as_json, f"delivery {delivery} acknowledged at {data['acked_at']}")


def violations(principal: PrincipalOpt = None, as_json: JsonOpt = False) -> None:
    """Attempts made after an objection reached their processor (or should have)."""
    from permis.services.violations import list_violations

    application = build_app()
    rows = list_violations(application.db, application.clock, principal)
    lines = [
        f"{r['attempt_at'][:16]}  {r['processor'] or '(no processor)':16} {r['channel']:8} "
        f"{r['delay']} after the objection"
        + (f" (delivered {r['delivered_at'][:19]})" if r["delivered_at"] else " (not delivered)")
        for r in rows
    ]
    emit({"violations": rows}, as_json, "\n".join(lines) or "no violations")


@suppressions_app.command("export")
def suppressions_export(
    processor: Annotated[str, typer.Option("--processor", help="The processor it is for.")],
    out: Annotated[Path, typer.Option("--out", help="The CSV file to write.")],
    file_format: Annotated[
        str | None, typer.Option("--format", help="csv or hashes (default: its setting).")
    ] = None,
    principal: PrincipalOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write a processor's suppression file: every objection that concerns its channels."""
    from permis.services.suppressions import export

    application = build_app()
    data = export(application.db, application.clock, principal, processor, out, file_format)
    emit(data, as_json, f"{data['rows']} suppressions written to {out} ({data['format']})")


def register(app: typer.Typer) -> None:
    app.add_typer(processors_app, name="processors")
    app.command()(dispatch)
    app.add_typer(deliveries_app, name="deliveries")
    app.command()(violations)
    app.add_typer(suppressions_app, name="suppressions")
