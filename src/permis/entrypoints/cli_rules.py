"""``permis campaign check`` and ``permis whatif``: thin doors over ``domain.campaign`` and
``services.whatif``. ``register(app)`` adds them to the main program (imports stay lazy)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from permis.entrypoints.cli_common import (
    At,
    JsonOpt,
    PrincipalOpt,
    ProcessorOpt,
    build_app,
    emit,
    parse_enum,
    parse_time,
)
from permis.errors import UsageError

campaign_app = typer.Typer(
    help="Checks on a campaign itself: sender, opt-out.", no_args_is_help=True
)


@campaign_app.command("check")
def campaign_check(
    channel: Annotated[str, typer.Option("--channel", help="automated_call, call, sms or email.")],
    sender: Annotated[
        str, typer.Option("--sender", help="The number (or SMS sender) the campaign shows.")
    ],
    message: Annotated[
        Path | None,
        typer.Option("--message", help="The SMS text, or the e-mail with its headers."),
    ] = None,
    at: At = None,
    as_json: JsonOpt = False,
) -> None:
    """Check a campaign's sender and message. Exit 0 allowed, 1 refused, 2 a malformed command."""
    from permis.domain.campaign import check_campaign
    from permis.domain.model import Channel

    text = None
    if message is not None:
        try:
            text = message.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise UsageError(f"--message: cannot read {message.name}: {exc.strerror}") from None
    result = check_campaign(
        parse_enum(Channel, channel, "--channel"),
        sender,
        text,
        parse_time(at) or datetime.now(UTC),
    )
    lines = [f"{'allowed' if result.allowed else 'refused'}: {result.channel} from {result.sender}"]
    lines += [f"  {r.code}  {r.message}  [{r.rule}; {r.reference}]" for r in result.reasons]
    emit(result.to_dict(), as_json, "\n".join(lines))
    raise typer.Exit(0 if result.allowed else 1)


def whatif(
    file: Annotated[Path, typer.Argument(help="CSV (any delimiter/encoding), Parquet or XLSX.")],
    on: Annotated[
        str,
        typer.Option("--on", help="The other date (YYYY-MM-DD, same time of day) or ISO time."),
    ],
    rules: Annotated[
        str | None,
        typer.Option(
            "--rules",
            help="PACK@DATE: that pack, as in force on DATE, for every row; all@DATE: every"
            " pack as in force on DATE.",
        ),
    ] = None,
    channel: Annotated[str, typer.Option("--channel", help="The campaign's channel.")] = "call",
    at: At = None,
    column: Annotated[
        str | None, typer.Option("--column", help="The contact column (default: detected).")
    ] = None,
    principal: PrincipalOpt = None,
    processor: ProcessorOpt = None,
    purpose: Annotated[str, typer.Option("--purpose")] = "prospecting",
    audience: Annotated[str, typer.Option("--audience")] = "consumer",
    as_json: JsonOpt = False,
) -> None:
    """Scrub FILE now (or --at) and on another date: what changes, and why."""
    from permis.domain.model import Audience, Channel
    from permis.services.scrub import ScrubRequest
    from permis.services.whatif import parse_on, run_whatif, whatif_text

    if not file.is_file():
        raise UsageError(f"no such file: {file.name}")
    request = ScrubRequest(
        channel=parse_enum(Channel, channel, "--channel"),
        at=parse_time(at) or datetime.now(UTC),
        principal=principal,
        processor=processor,
        purpose=purpose,
        audience=parse_enum(Audience, audience, "--audience"),
        column=column,
    )
    application = build_app()
    try:
        result = run_whatif(
            application.db,
            application.gate.rules,
            file,
            request,
            parse_on(on, request.at),
            rules,
        )
    finally:
        application.close()
    emit(result.to_dict(), as_json, whatif_text(result))


def register(app: typer.Typer) -> None:
    """Add ``campaign`` (with ``check``) and ``whatif`` to the main program."""
    app.add_typer(campaign_app, name="campaign")
    app.command("whatif")(whatif)
