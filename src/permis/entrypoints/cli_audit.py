"""Command line for proof and privacy: ``audit``, ``contacts``, ``retention``, ``report``.

``register(app)`` adds them to the ``permis`` program. Imports stay lazy inside each command.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from permis.entrypoints.cli_common import (
    At,
    Contact,
    JsonOpt,
    PrincipalOpt,
    build_app,
    emit,
    parse_time,
    write_json,
)
from permis.errors import InvalidTime

audit_app = typer.Typer(
    help="Audit the register: hash chain, evidence packs.", no_args_is_help=True
)
contacts_app = typer.Typer(
    help="A person's data: access and erasure (RGPD art. 15, 17).", no_args_is_help=True
)
retention_app = typer.Typer(help="Purge what may no longer be kept.", no_args_is_help=True)

ContactArg = Annotated[str, typer.Argument(help="Phone number in any written form, or e-mail.")]


def register(app: typer.Typer) -> None:
    """Add the commands of this module to ``app``."""
    app.add_typer(audit_app, name="audit")
    app.add_typer(contacts_app, name="contacts")
    app.add_typer(retention_app, name="retention")
    app.command("report")(report)


# -- audit -----------------------------------------------------------------------------------------


@audit_app.command("verify")
def audit_verify(
    anchor: Annotated[
        Path | None,
        typer.Option("--anchor", help="A previous `audit verify --json` output to hold to."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Walk the hash chain of every principal; exit 1 at the first broken link."""
    from dataclasses import asdict

    from permis.services.audit import read_anchors, verify

    anchors = read_anchors(anchor.read_text(encoding="utf-8")) if anchor else None
    reports = verify(build_app().db, anchors)
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


@audit_app.command("export")
def audit_export(
    contact: Contact,
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder to write (default ./evidence-HASH).")
    ] = None,
    pdf: Annotated[
        bool, typer.Option("--pdf/--no-pdf", help="Also print a PDF (Chromium).")
    ] = True,
    principal: PrincipalOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The evidence pack for one person: JSON, HTML and PDF."""
    from permis.entrypoints.html import evidence_html
    from permis.services.evidence import evidence_pack

    application = build_app()
    now = application.clock()
    pack = evidence_pack(
        application.db, application.gate.rules, principal=principal, contact=contact, now=now
    )
    folder = out or Path(f"evidence-{pack['contact_point']['contact_hash'][:12]}")
    folder.mkdir(parents=True, exist_ok=True)
    files = {"json": folder / "evidence.json", "html": folder / "evidence.html"}
    write_json(files["json"], pack)
    files["html"].write_text(evidence_html(pack), encoding="utf-8")
    if pdf:
        from permis.adapters.chromium import print_pdf

        files["pdf"] = print_pdf(files["html"], folder / "evidence.pdf")
    summary = {
        "files": {k: str(v) for k, v in files.items()},
        "events": len(pack["events"]),
        "consents": len(pack["consents"]),
        "objections": len(pack["objections"]),
        "decisions": len(pack["decisions"]),
        "contacts_against_the_rules": sum(not d["allowed"] for d in pack["decisions"]),
    }
    text = f"evidence pack written to {folder}: " + ", ".join(
        f"{summary[k]} {k}" for k in ("events", "consents", "objections", "decisions")
    )
    emit(summary, as_json, text)


# -- contacts --------------------------------------------------------------------------------------


@contacts_app.command("export")
def contacts_export(
    contact: ContactArg, principal: PrincipalOpt = None, as_json: JsonOpt = False
) -> None:
    """Everything the register holds about one person (RGPD art. 15)."""
    from permis.services.erasure import access

    data = access(build_app().db, principal=principal, contact=contact)
    point = data["contact_point"]
    text = (
        f"{point['kind']} {point['value'] or '(erased)'}: {len(data['events'])} events, "
        f"{len(data['consents'])} consents, {len(data['objections'])} objections, "
        f"{len(data['attempts'])} attempts (--json for everything)"
    )
    emit(data, as_json, text)


@contacts_app.command("erase")
def contacts_erase(
    contact: ContactArg,
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded in the ledger).")],
    actor: Annotated[str | None, typer.Option("--actor", help="Who asks for it.")] = None,
    principal: PrincipalOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Erase one person's data (RGPD art. 17); their objections stay in force, as hashes."""
    from permis.services.erasure import erase

    application = build_app()
    result = erase(
        application.db,
        application.clock,
        principal=principal,
        contact=contact,
        reason=reason,
        actor=actor,
    )
    text = (
        f"erased (event #{result.event_id}): {result.personal_parts_cleared} personal parts, "
        f"{result.consents_withdrawn} consents withdrawn, {result.contracts_deleted} contracts; "
        "objections kept as keyed hashes"
    )
    emit(result.to_dict(), as_json, text)


# -- retention -------------------------------------------------------------------------------------


@retention_app.command("run")
def retention_run(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List, change nothing.")] = False,
    at: At = None,
    as_json: JsonOpt = False,
) -> None:
    """Purge prospects' data past its retention time (or list it with --dry-run)."""
    from permis.services.retention import run_retention

    application = build_app()
    result = run_retention(
        application.db, application.settings, application.clock, parse_time(at), dry_run
    ).to_dict()
    verb = "would purge" if dry_run else "purged"
    lines = [
        f"{verb}: {result['contacts_purged']} contact points, "
        f"{result['consent_proofs_purged']} expired consent proofs "
        f"({result['personal_parts_cleared']} personal parts); kept: "
        f"{result['consent_proofs_kept']} consent proofs, {result['objections_kept']} objections"
    ]
    lines += [
        f"  {i['action']:<22} {i['contact_hash'][:16]}…  due {i['due']}" for i in result["items"]
    ]
    emit(result, as_json, "\n".join(lines))


# -- report ----------------------------------------------------------------------------------------


def parse_day(text: str, option: str, end: bool = False) -> datetime:
    """``YYYY-MM-DD`` (a whole UTC day; ``--to`` includes it) or an ISO time with offset."""
    if len(text) == 10:
        try:
            day = datetime.fromisoformat(text).replace(tzinfo=UTC)
        except ValueError:
            raise InvalidTime(f"{option}: not a date: {text!r}") from None
        return day + timedelta(days=1) if end else day
    value = parse_time(text, option)
    assert value is not None
    return value


def report(
    start: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD) or ISO time.")],
    end: Annotated[str, typer.Option("--to", help="Last day, included, or ISO time.")],
    out: Annotated[Path, typer.Option("--out", help="HTML file to write.")] = Path(
        "compliance-report.html"
    ),
    pdf: Annotated[Path | None, typer.Option("--pdf", help="Also print it to this PDF.")] = None,
    principal: PrincipalOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A self-contained compliance report (HTML, optional PDF) for a period."""
    from permis.entrypoints.html import report_html
    from permis.errors import UsageError
    from permis.services.reports import compliance_figures

    first, last = parse_day(start, "--from"), parse_day(end, "--to", end=True)
    if last <= first:
        raise UsageError("--to must be after --from")
    application = build_app()
    settings = application.settings
    figures = compliance_figures(
        application.db,
        principal,
        first,
        last,
        settings.consent_max_age_days,
        settings.delivery_overdue_seconds,
    )
    generated = application.clock().isoformat(timespec="seconds")
    out.write_text(report_html(figures, generated), encoding="utf-8")
    files: dict[str, Any] = {"html": str(out)}
    if pdf is not None:
        from permis.adapters.chromium import print_pdf

        files["pdf"] = str(print_pdf(out, pdf))
    emit(
        {**figures.to_dict(), "files": files},
        as_json,
        f"report written to {', '.join(files.values())}",
    )
