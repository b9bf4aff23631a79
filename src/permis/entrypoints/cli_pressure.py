"""``permis policy``, ``permis pressure`` and ``permis receipts``: contact pressure beyond the law.

Registered on the main app by :func:`register`. Imports stay lazy inside the commands.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from permis.entrypoints.cli_common import (
    At,
    JsonOpt,
    PrincipalOpt,
    build_app,
    emit,
    parse_time,
)
from permis.errors import UsageError

policy_app = typer.Typer(help="The principal's own contact policy.", no_args_is_help=True)
receipts_app = typer.Typer(help="Signed consent receipts.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(policy_app, name="policy")
    app.add_typer(receipts_app, name="receipts")
    app.command("pressure")(pressure)


def _read(path: Path) -> str:
    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path.name}: {exc}") from None


# -- policy --------------------------------------------------------------------------------------


@policy_app.command("set")
def policy_set(
    file: Annotated[Path, typer.Argument(help="The policy, in TOML (see docs/pressure.md).")],
    principal: PrincipalOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check a policy file and put it in force (a PolicySet event); a bad file changes nothing."""
    from permis.services.policy import set_policy

    application = build_app()
    try:
        result = set_policy(
            application.db, principal, _read(file), application.clock(), name=file.name
        )
    finally:
        application.close()
    state = "now in force" if result.created else "already in force, unchanged"
    emit(_without_text(result.to_dict()), as_json, f"policy {result.version!r} {state}")


def _without_text(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "text"}


@policy_app.command("show")
def policy_show(principal: PrincipalOpt = None, as_json: JsonOpt = False) -> None:
    """The policy in force: its version, when it was set, and its text."""
    from permis.services.policy import show_policy

    application = build_app()
    try:
        shown = show_policy(application.db, principal)
    finally:
        application.close()
    if shown.version is None:
        text = "no policy: the law only"
    else:
        set_at = shown.set_at.isoformat() if shown.set_at else "?"
        text = f"# policy {shown.version} (event {shown.event_id}, set {set_at})\n{shown.text}"
    emit(shown.to_dict(), as_json, text.rstrip("\n"))


# -- pressure ------------------------------------------------------------------------------------


def pressure(
    contact: Annotated[
        str | None, typer.Option("--contact", help="Phone number or e-mail address.")
    ] = None,
    summary: Annotated[
        bool, typer.Option("--summary", help="The distribution over every contact point.")
    ] = False,
    at: At = None,
    principal: PrincipalOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """What is used and left per channel under the law, the budget and the policy."""
    from permis.services.policy import policy_in_force
    from permis.services.pressure import pressure_summary, pressure_view

    if (contact is None) == (not summary):
        raise UsageError("give either --contact C or --summary")
    application = build_app()
    when = parse_time(at) or application.clock()
    rules = application.gate.rules
    try:
        policy = policy_in_force(application.db, principal)
        if contact is not None:
            data = pressure_view(application.db, rules, policy, principal, contact, when)
            text = _view_text(data)
        else:
            data = pressure_summary(application.db, rules, policy, principal, when)
            text = _summary_text(data)
    finally:
        application.close()
    emit(data, as_json, text)


def _view_text(data: dict[str, Any]) -> str:
    lines = [f"{data['contact']} at {data['at']} (policy {data['policy_version'] or 'none'})"]
    for channel, info in data["channels"].items():
        if not info["limits"]:
            lines.append(f"  {channel:15} no cap")
            continue
        lines.append(f"  {channel:15} left {info['left']}")
        for limit in info["limits"]:
            frees = f", frees {limit['frees_at']}" if limit["at_cap"] else ""
            if limit["at_cap"] and limit["frees_at"] is None:
                frees = ", never on its own"
            lines.append(
                f"    {limit['source']:7} {limit['rule']:28} {limit['used']}/{limit['max']}"
                f" per {limit['period']}{frees}"
            )
    return "\n".join(lines)


def _summary_text(data: dict[str, Any]) -> str:
    lines = [f"{data['people']} people with attempts or budgets, at {data['at']}"]
    lines.append(f"  {'channel':15} {'capped':>8} {'at cap':>8} {'1 left':>8} {'2 left':>8}")
    for channel, row in data["channels"].items():
        lines.append(
            f"  {channel:15} {row['capped']:>8} {row['at_cap']:>8} {row['left_1']:>8}"
            f" {row['left_2']:>8}"
        )
    return "\n".join(lines)


# -- receipts ------------------------------------------------------------------------------------


@receipts_app.command("issue")
def receipts_issue(
    event: Annotated[int, typer.Option("--event", help="A consent, objection or budget event.")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the receipt (a JWS).")],
    principal: PrincipalOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Sign a receipt for one event with the principal's key (PERMIS_RECEIPT_SECRET)."""
    from permis.services.receipts import issue_receipt

    application = build_app()
    settings = application.settings
    try:
        receipt = issue_receipt(
            application.db,
            principal,
            event,
            settings.receipt_secret,
            application.clock(),
            settings.public_url,
        )
    finally:
        application.close()
    _write(out, receipt.token + "\n")
    data = {"file": str(out), "kid": receipt.kid, "receipt_id": receipt.payload["consentReceiptID"]}
    emit(data, as_json, f"receipt {data['receipt_id']} written to {out}")


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.part")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UsageError(f"cannot write {path.name}: {exc.strerror}") from None


@receipts_app.command("public-key")
def receipts_public_key(
    out: Annotated[Path | None, typer.Option("--out", help="Also write the JWK here.")] = None,
    principal: PrincipalOpt = None,
) -> None:
    """The principal's public key (JWK), to publish: anyone verifies receipts with it."""
    from permis.services.receipts import public_key

    application = build_app()
    try:
        jwk = public_key(
            application.db,
            principal,
            application.settings.receipt_secret,
            application.clock(),
        )
    finally:
        application.close()
    text = json.dumps(jwk, indent=2, sort_keys=True)
    if out is not None:
        _write(out, text + "\n")
    typer.echo(text)


@receipts_app.command("verify")
def receipts_verify(
    file: Annotated[Path, typer.Argument(help="A receipt written by `permis receipts issue`.")],
    key: Annotated[
        Path | None,
        typer.Option("--key", help="The public key (JWK file); default: the register's."),
    ] = None,
    principal: PrincipalOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check a receipt's signature. Exit 0 valid, 1 invalid or altered."""
    from permis.services.receipts import public_key, verify_receipt

    if key is not None:
        try:
            jwk = json.loads(_read(key))
        except json.JSONDecodeError:
            raise UsageError(f"{key.name}: not a JSON Web Key") from None
    else:
        application = build_app()
        try:
            secret, now = application.settings.receipt_secret, datetime.now(UTC)
            jwk = public_key(application.db, principal, secret, now, create=False)
        finally:
            application.close()
    payload = verify_receipt(_read(file), jwk)
    event = payload.get("permis", {}).get("event", {})
    text = (
        f"valid receipt {payload['consentReceiptID']}: {payload['permis']['action']} "
        f"(event {event.get('id')}, hash {str(event.get('hash'))[:12]}...)"
    )
    emit({"valid": True, "receipt": payload}, as_json, text)
