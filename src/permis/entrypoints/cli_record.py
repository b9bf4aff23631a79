"""``permis record ...``: append to the register (one transaction per command)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from permis.entrypoints.cli_common import (
    At,
    Contact,
    JsonOpt,
    KeyOpt,
    PrincipalOpt,
    ProcessorOpt,
    build_app,
    emit,
    parse_enum,
    parse_scope,
    parse_time,
)
from permis.errors import UsageError

record_app = typer.Typer(help="Append to the register.", no_args_is_help=True)

# -- record --------------------------------------------------------------------------------------


def _recorded(result: Any, as_json: bool) -> None:
    from permis.entrypoints.render import recorded_text

    emit(result.to_dict(), as_json, recorded_text(result))


def _proof(value: str | None) -> str | None:
    if value is None or not value.startswith("@"):
        return value
    path = Path(value[1:])
    if not path.is_file():
        raise UsageError(f"--proof: no such file: {path}")
    return path.read_text(encoding="utf-8")


@record_app.command("consent")
def record_consent(
    contact: Contact,
    channel: Annotated[str, typer.Option("--channel")],
    source: Annotated[
        str, typer.Option("--source", help="agent, sms, email, web, post, complaint, api, import.")
    ],
    purpose: Annotated[str, typer.Option("--purpose")] = "prospecting",
    at: At = None,
    proof: Annotated[
        str | None, typer.Option("--proof", help="Text shown to the person, or @FILE.")
    ] = None,
    proof_version: Annotated[
        str | None, typer.Option("--proof-version", help="Form or script version.")
    ] = None,
    expires: Annotated[str | None, typer.Option("--expires")] = None,
    recorded_by: Annotated[
        str | None, typer.Option("--recorded-by", help="Who recorded it.")
    ] = None,
    principal: PrincipalOpt = None,
    idempotency_key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record a consent, with its proof."""
    from permis.domain.model import Channel, Source

    kwargs = dict(
        principal=principal,
        contact=contact,
        channel=parse_enum(Channel, channel, "--channel"),
        source=parse_enum(Source, source, "--source"),
        purpose=purpose,
        at=parse_time(at),
        proof=_proof(proof),
        proof_version=proof_version,
        expires=parse_time(expires, "--expires"),
        actor=recorded_by,
        idempotency_key=idempotency_key,
    )
    _recorded(build_app().register.record_consent(**kwargs), as_json)


@record_app.command("objection")
def record_objection(
    contact: Contact,
    source: Annotated[str, typer.Option("--source")],
    channel: Annotated[str, typer.Option("--channel", help="A channel or all.")] = "all",
    purpose: Annotated[str, typer.Option("--purpose", help="A purpose or all.")] = "all",
    at: At = None,
    recorded_by: Annotated[str | None, typer.Option("--recorded-by")] = None,
    principal: PrincipalOpt = None,
    idempotency_key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record an objection (an opt-out); it never expires on its own."""
    from permis.domain.model import Channel, Source

    kwargs = dict(
        principal=principal,
        contact=contact,
        source=parse_enum(Source, source, "--source"),
        channel=parse_scope(Channel, channel, "--channel"),
        purpose=purpose,
        at=parse_time(at),
        actor=recorded_by,
        idempotency_key=idempotency_key,
    )
    _recorded(build_app().register.record_objection(**kwargs), as_json)


@record_app.command("refusal")
def record_refusal(
    contact: Contact,
    at: At = None,
    processor: ProcessorOpt = None,
    principal: PrincipalOpt = None,
    idempotency_key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record a refusal said during a call."""
    kwargs = dict(
        principal=principal,
        contact=contact,
        at=parse_time(at),
        processor=processor,
        actor=processor,
        idempotency_key=idempotency_key,
    )
    _recorded(build_app().register.record_refusal(**kwargs), as_json)


@record_app.command("contract")
def record_contract(
    contact: Contact,
    start: Annotated[str, typer.Option("--start")],
    end: Annotated[str | None, typer.Option("--end")] = None,
    subject: Annotated[
        str | None, typer.Option("--object", help="What the contract is about.")
    ] = None,
    principal: PrincipalOpt = None,
    idempotency_key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record a contract (the basis of the existing-customer exceptions)."""
    begin = parse_time(start, "--start")
    assert begin is not None
    kwargs = dict(
        principal=principal,
        contact=contact,
        start=begin,
        end=parse_time(end, "--end"),
        subject=subject,
        idempotency_key=idempotency_key,
    )
    _recorded(build_app().register.record_contract(**kwargs), as_json)


@record_app.command("attempt")
def record_attempt(
    contact: Contact,
    channel: Annotated[str, typer.Option("--channel")],
    at: At = None,
    processor: ProcessorOpt = None,
    outcome: Annotated[
        str | None,
        typer.Option(
            "--outcome",
            help="answered, no_answer, busy, voicemail, refused, sent, delivered, failed.",
        ),
    ] = None,
    campaign: Annotated[
        str | None, typer.Option("--campaign", help="The campaign (for per-campaign caps).")
    ] = None,
    principal: PrincipalOpt = None,
    idempotency_key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record a contact made or tried."""
    from permis.domain.model import Channel, Outcome

    kwargs = dict(
        principal=principal,
        contact=contact,
        channel=parse_enum(Channel, channel, "--channel"),
        at=parse_time(at),
        processor=processor,
        actor=processor,
        outcome=parse_enum(Outcome, outcome, "--outcome") if outcome else None,
        idempotency_key=idempotency_key,
        campaign=campaign,
    )
    _recorded(build_app().register.record_attempt(**kwargs), as_json)


@record_app.command("budget")
def record_budget(
    contact: Contact,
    channel: Annotated[str, typer.Option("--channel", help="A channel or all.")],
    maximum: Annotated[int, typer.Option("--max", help="At most this many contacts.")],
    per: Annotated[str, typer.Option("--per", help="week, month or year.")],
    at: At = None,
    principal: PrincipalOpt = None,
    idempotency_key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record the person's own budget for a channel (or all channels)."""
    from permis.domain.model import Channel, Period

    kwargs = dict(
        principal=principal,
        contact=contact,
        channel=parse_scope(Channel, channel, "--channel"),
        maximum=maximum,
        per=parse_enum(Period, per, "--per"),
        at=parse_time(at),
        idempotency_key=idempotency_key,
    )
    _recorded(build_app().register.record_budget(**kwargs), as_json)
