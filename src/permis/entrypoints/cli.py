"""The ``permis`` command line: a thin door over the library (Typer).

Exit codes: 0 done (or allowed), 1 refused (``check``) or invalid contact point, 2 a malformed
command (one line on stderr, nothing written), 3 the register cannot be used as it is.
Imports are kept lazy: a whole ``permis check`` process must answer within 300 ms.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from permis.entrypoints import (
    cli_api,
    cli_audit,
    cli_links,
    cli_model,
    cli_pressure,
    cli_propagation,
    cli_rules,
)
from permis.entrypoints.cli_common import (
    At,
    Contact,
    JsonOpt,
    PrincipalOpt,
    ProcessorOpt,
    build_app,
    emit,
    parse_enum,
    parse_time,
    write_json,
)
from permis.entrypoints.cli_record import record_app
from permis.errors import PermisError

app = typer.Typer(
    name="permis",
    help="Permis: the permission register and contact gate for outbound prospecting.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
app.add_typer(record_app, name="record")
lists_app = typer.Typer(help="Opposition lists: dated snapshots.", no_args_is_help=True)
app.add_typer(lists_app, name="lists")

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
    campaign: Annotated[
        str | None, typer.Option("--campaign", help="The campaign (for per-campaign caps).")
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
        campaign=campaign,
    )
    application = build_app()
    decision = application.gate.check(query)
    application.close()
    from permis.entrypoints.render import decision_text

    emit(decision.to_dict(), as_json, decision_text(decision))
    raise typer.Exit(0 if decision.allowed else 1)


# -- history, processors, audit, demo --------------------------------------------------------------


@app.command()
def history(contact: Contact, principal: PrincipalOpt = None, as_json: JsonOpt = False) -> None:
    """Every event about one contact point."""
    from permis.entrypoints.render import event_dict, history_text

    events = build_app().register.history(principal, contact)
    emit({"events": [event_dict(e) for e in events]}, as_json, history_text(events))


@lists_app.command("import")
def lists_import(
    name: Annotated[
        str,
        typer.Argument(
            help="bloctel, us-dnc, uk-tps, uk-ctps, ca-dncl, es-robinson, be-dncm, or your own."
        ),
    ],
    file: Annotated[Path, typer.Argument(help="One number a line, in any written form.")],
    as_of: Annotated[
        str, typer.Option("--as-of", help="Date of the snapshot (YYYY-MM-DD or ISO time).")
    ],
    validity_days: Annotated[
        int | None, typer.Option("--validity-days", help="Override the list's validity.")
    ] = None,
    column: Annotated[
        str | None, typer.Option("--column", help="The number column (default: detected).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Load a dated snapshot of an opposition list."""
    from permis.entrypoints.render import progress_bar
    from permis.services.lists import import_list, parse_as_of

    when = parse_as_of(as_of)
    application = build_app()
    with progress_bar(f"importing {file.name}") as advance:
        result = import_list(
            application.db,
            name,
            file,
            when,
            application.clock(),
            validity_days,
            progress=advance,
            column=column,
        )
    text = (
        f"{result.list_name}: {result.numbers} numbers from {result.lines} lines "
        f"({result.invalid} invalid, {result.duplicates} duplicates) in {result.seconds:.1f} s; "
        f"valid until {result.valid_until.isoformat()}"
    )
    emit(result.to_dict(), as_json, text)


@lists_app.command("export")
def lists_export(
    file: Annotated[Path, typer.Argument(help="Where to write the numbers to have cleaned.")],
    principal: PrincipalOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write the principal's numbers, one a line, to send to a list operator for cleaning."""
    from permis.services.lists import export_numbers

    count = export_numbers(build_app().db, principal, file)
    emit({"file": str(file), "numbers": count}, as_json, f"{count} numbers written to {file}")


@lists_app.command("show")
def lists_show(as_json: JsonOpt = False) -> None:
    """The imported snapshots and their validity."""
    from permis.services.lists import snapshots

    rows = snapshots(build_app().db)
    text = "\n".join(
        f"{r['list']:<12} as of {r['as_of']}  until {r['valid_until']}  {r['numbers']} numbers"
        for r in rows
    )
    emit({"snapshots": rows}, as_json, text or "no snapshots")


@app.command()
def rules(
    markdown: Annotated[bool, typer.Option("--markdown", help="Print docs/rules.md.")] = False,
) -> None:
    """The rules Permis enforces: ids, legal references, channels, dates."""
    from permis.bootstrap import rulebook
    from permis.config import Settings
    from permis.entrypoints.rulesdoc import rules_markdown, rules_text

    packs = list(rulebook(Settings.from_env()).packs)
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


JEMALLOC_CONF = "_RJEM_MALLOC_CONF"
"""Read once, when Polars' allocator (jemalloc) starts: set before Polars is imported."""


def _keep_freed_memory() -> None:
    """Polars' allocator keeps the pages it frees for reuse instead of handing them back to the
    system, which would fault them in again for the next batch (measured on the 10 M-row scrub
    of benchmarks/scrub.py, load average 6 to 12: system CPU 12.3-15.2 s -> 6.0-6.2 s, peak
    memory 2.0 -> 2.3-2.8 GiB; the process ends with the scrub). A setting given in the
    environment wins; no effect once Polars is loaded."""
    if "polars" not in sys.modules:
        os.environ.setdefault(JEMALLOC_CONF, "dirty_decay_ms:-1,muzzy_decay_ms:-1")


@app.command()
def scrub(
    file: Annotated[Path, typer.Argument(help="CSV (any delimiter/encoding), Parquet or XLSX.")],
    channel: Annotated[str, typer.Option("--channel", help="The campaign's channel.")],
    at: At = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Allowed rows (default FILE.allowed.EXT).")
    ] = None,
    rejects: Annotated[
        Path | None, typer.Option("--rejects", help="Other rows, with permis_reasons.")
    ] = None,
    column: Annotated[
        str | None, typer.Option("--column", help="The contact column (default: detected).")
    ] = None,
    summary_file: Annotated[
        Path | None,
        typer.Option("--summary", help="Also write the JSON summary to this file."),
    ] = None,
    principal: PrincipalOpt = None,
    processor: ProcessorOpt = None,
    purpose: Annotated[str, typer.Option("--purpose")] = "prospecting",
    audience: Annotated[str, typer.Option("--audience")] = "consumer",
    sector: Annotated[str | None, typer.Option("--sector")] = None,
    campaign: Annotated[
        str | None, typer.Option("--campaign", help="The campaign (for per-campaign caps).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Check a whole campaign file with the same rules as `permis check`."""
    _keep_freed_memory()
    from permis.domain.model import Audience, Channel, Sector
    from permis.entrypoints.render import progress_bar, scrub_text
    from permis.services.scrub import ScrubRequest, run_scrub

    request = ScrubRequest(
        channel=parse_enum(Channel, channel, "--channel"),
        at=parse_time(at) or datetime.now(UTC),
        principal=principal,
        processor=processor,
        purpose=purpose,
        audience=parse_enum(Audience, audience, "--audience"),
        sector=parse_enum(Sector, sector, "--sector") if sector else None,
        column=column,
        campaign=campaign,
    )
    application = build_app()
    with progress_bar(f"scrubbing {file.name}") as advance:
        summary = run_scrub(
            application.db, application.gate.rules, file, request, out, rejects, progress=advance
        )
    if summary_file is not None:
        write_json(summary_file, summary.to_dict())
    emit(summary.to_dict(), as_json, scrub_text(summary))


# -- commands defined in their own modules (each adds itself to the app) ---------------------------

cli_api.register(app)
cli_links.register(app)
cli_pressure.register(app)
cli_rules.register(app)
cli_propagation.register(app)
cli_audit.register(app)
cli_model.register(app)


# -- the process entry point -----------------------------------------------------------------------


def _only(name: str) -> typer.Typer:
    """The app with only the command or group ``name`` (the whole app when it names none).

    Typer builds every command's options before running one: with fifty commands that is about
    90 ms of a ``permis check`` process. The command runs the same; ``permis --help`` and an
    unknown name still see the whole app."""
    commands = [c for c in app.registered_commands if _command_name(c) == name]
    groups = [g for g in app.registered_groups if g.name == name]
    if not commands and not groups:
        return app
    only = typer.Typer(
        name="permis",
        add_completion=False,
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
    )
    only.callback()(_root)  # a group, as the whole app is: ``permis NAME ...`` parses the same
    only.registered_commands = commands
    only.registered_groups = groups
    return only


def _command_name(info: typer.models.CommandInfo) -> str:
    """The name Typer gives a command: its own, or its function's (as ``typer.main`` does)."""
    return info.name or typer.main.get_command_name(getattr(info.callback, "__name__", ""))


def _root() -> None:
    """Permis: the permission register and contact gate for outbound prospecting."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; errors are one line on stderr with a stable code."""
    from typer._click.exceptions import ClickException

    args = list(argv) if argv is not None else sys.argv[1:]
    command = typer.main.get_command(_only(args[0]) if args else app)
    try:
        result = command.main(
            args,
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
