"""The ``permis`` command line: a thin door over the library (Typer).

Exit codes: 0 done (or allowed), 1 refused (``check``) or invalid contact point, 2 a malformed
command (one line on stderr, nothing written), 3 the register cannot be used as it is.
Imports are kept lazy: a whole ``permis check`` process must answer within 300 ms.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from permis.errors import InvalidTime, PermisError, UsageError

app = typer.Typer(
    name="permis",
    help="Permis: the permission register and contact gate for outbound prospecting.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
record_app = typer.Typer(help="Append to the register.", no_args_is_help=True)
processors_app = typer.Typer(help="Who contacts on the principal's behalf.", no_args_is_help=True)
audit_app = typer.Typer(help="Audit the register.", no_args_is_help=True)
app.add_typer(record_app, name="record")
app.add_typer(processors_app, name="processors")
app.add_typer(audit_app, name="audit")

E = TypeVar("E", bound=StrEnum)

# -- shared options ------------------------------------------------------------------------------
Contact = Annotated[
    str, typer.Option("--contact", help="Phone number in any written form, or e-mail.")
]
At = Annotated[str | None, typer.Option("--at", help="ISO 8601 time with offset; default now.")]
PrincipalOpt = Annotated[
    str | None, typer.Option("--principal", help="Principal (default: the only one).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
KeyOpt = Annotated[
    str | None, typer.Option("--idempotency-key", help="A repeat with the same key is a no-op.")
]
ProcessorOpt = Annotated[str | None, typer.Option("--processor", help="Processor acting.")]


def parse_time(text: str | None, option: str = "--at") -> datetime | None:
    """ISO 8601 with an explicit offset; a time without one is refused (no guessing)."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidTime(f"{option}: not an ISO 8601 time: {text!r}") from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidTime(f"{option}: the time has no UTC offset (write e.g. {text}+01:00)")
    return value


def parse_enum(kind: type[E], value: str, option: str) -> E:
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(m.value for m in kind)
        raise UsageError(f"{option}: unknown value {value!r} (one of: {choices})") from None


def parse_scope(kind: type[E], value: str, option: str) -> str:
    """A channel (or purpose) value, or ``all``."""
    return "all" if value == "all" else parse_enum(kind, value, option).value


def emit(data: dict[str, Any], as_json: bool, text: str) -> None:
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        typer.echo(text)


def _app() -> Any:
    from permis.bootstrap import build

    return build()


# -- init ----------------------------------------------------------------------------------------


@app.command()
def init(
    principal: Annotated[str, typer.Option("--principal", help="Principal to create.")] = "default",
    sector: Annotated[
        str,
        typer.Option("--sector", help="general, energy_renovation, home_adaptation, cpf_training."),
    ] = "general",
) -> None:
    """Create or upgrade the register (./permis.db by default; PERMIS_DATABASE_URL otherwise)."""
    from permis.bootstrap import init_register
    from permis.config import Settings, mask_url
    from permis.domain.model import Sector

    parse_enum(Sector, sector, "--sector")
    settings = Settings.from_env()
    init_register(settings, principal, sector).close()
    typer.echo(f"register ready at {mask_url(settings.database_url)} (principal {principal!r})")


# -- check ---------------------------------------------------------------------------------------


@app.command()
def check(
    contact: Contact,
    channel: Annotated[
        str,
        typer.Option("--channel", help="call, automated_call, sms, email, post, messaging, fax."),
    ],
    at: At = None,
    principal: PrincipalOpt = None,
    processor: ProcessorOpt = None,
    purpose: Annotated[str, typer.Option("--purpose")] = "prospecting",
    audience: Annotated[
        str, typer.Option("--audience", help="consumer or professional.")
    ] = "consumer",
    sector: Annotated[
        str | None, typer.Option("--sector", help="Override the principal's sector.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """One decision. Exit 0 allowed, 1 refused, 2 a malformed command."""
    from permis.domain.model import Audience, Channel, Sector
    from permis.services.gate import CheckQuery

    query = CheckQuery(
        contact=contact,
        channel=parse_enum(Channel, channel, "--channel"),
        at=parse_time(at),
        principal=principal,
        processor=processor,
        purpose=purpose,
        audience=parse_enum(Audience, audience, "--audience"),
        sector=parse_enum(Sector, sector, "--sector") if sector else None,
    )
    application = _app()
    decision = application.gate.check(query)
    application.close()
    from permis.entrypoints.render import decision_text

    emit(decision.to_dict(), as_json, decision_text(decision))
    raise typer.Exit(0 if decision.allowed else 1)


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
    _recorded(_app().register.record_consent(**kwargs), as_json)


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
    _recorded(_app().register.record_objection(**kwargs), as_json)


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
    _recorded(_app().register.record_refusal(**kwargs), as_json)


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
    _recorded(_app().register.record_contract(**kwargs), as_json)


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
    )
    _recorded(_app().register.record_attempt(**kwargs), as_json)


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
    _recorded(_app().register.record_budget(**kwargs), as_json)


# -- history, processors, audit, demo --------------------------------------------------------------


@app.command()
def history(contact: Contact, principal: PrincipalOpt = None, as_json: JsonOpt = False) -> None:
    """Every event about one contact point."""
    from permis.entrypoints.render import event_dict, history_text

    events = _app().register.history(principal, contact)
    emit({"events": [event_dict(e) for e in events]}, as_json, history_text(events))


@processors_app.command("add")
def processors_add(
    name: str,
    channels: Annotated[
        str, typer.Option("--channels", help="Comma-separated channels, or all.")
    ] = "all",
    principal: PrincipalOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Register a processor and the channels it may contact on."""
    from permis.domain.model import Channel

    scope = [
        parse_scope(Channel, c.strip(), "--channels") for c in channels.split(",") if c.strip()
    ]
    result = _app().register.add_processor(principal, name, scope)
    emit(result.to_dict(), as_json, f"processor {name!r} registered for {','.join(scope)}")


@processors_app.command("list")
def processors_list(principal: PrincipalOpt = None, as_json: JsonOpt = False) -> None:
    """The processors of the principal."""
    rows = _app().register.processors(principal)
    data = {"processors": [{"name": n, "channels": c, "active": a} for n, c, a in rows]}
    emit(
        data,
        as_json,
        "\n".join(f"{n:20} {c:30} {'active' if a else 'inactive'}" for n, c, a in rows)
        or "no processors",
    )


@audit_app.command("verify")
def audit_verify(as_json: JsonOpt = False) -> None:
    """Walk the hash chain of every principal; exit 1 at the first broken link."""
    from dataclasses import asdict

    from permis.services.audit import verify

    reports = verify(_app().db)
    ok = all(r.ok for r in reports)
    lines = [
        f"principal {r.principal_id}: {r.events} events, "
        + (
            "chain intact"
            if r.ok
            else f"BROKEN at event {r.broken_event_id} (seq {r.broken_seq}): {r.problem}"
        )
        for r in reports
    ]
    emit({"ok": ok, "principals": [asdict(r) for r in reports]}, as_json, "\n".join(lines))
    raise typer.Exit(0 if ok else 1)


@app.command()
def rules(
    markdown: Annotated[bool, typer.Option("--markdown", help="Print docs/rules.md.")] = False,
) -> None:
    """The rules Permis enforces: ids, legal references, channels, dates."""
    from permis.bootstrap import rule_pack
    from permis.config import Settings
    from permis.entrypoints.rulesdoc import rules_markdown, rules_text

    packs = [rule_pack(Settings.from_env())]
    typer.echo(rules_markdown(packs) if markdown else rules_text(packs))


@app.command()
def demo(
    database: Annotated[
        Path | None,
        typer.Option("--database", help="SQLite file to build (default: a new temporary one)."),
    ] = None,
) -> None:
    """Build a demo register and tell the end-to-end story on the embedded SQLite default."""
    from permis.entrypoints.demo import run_demo

    run_demo(database, typer.echo)


# -- the process entry point -----------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; errors are one line on stderr with a stable code."""
    from typer._click.exceptions import ClickException

    command = typer.main.get_command(app)
    try:
        result = command.main(
            list(argv) if argv is not None else sys.argv[1:],
            prog_name="permis",
            standalone_mode=False,
        )
    except ClickException as exc:
        typer.echo(f"error: {exc.format_message()}", err=True)
        return exc.exit_code
    except PermisError as exc:
        typer.echo(f"error [{exc.code}]: {exc.message}", err=True)
        return exc.exit_code
    except typer.Abort:
        typer.echo("aborted", err=True)
        return 1
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
