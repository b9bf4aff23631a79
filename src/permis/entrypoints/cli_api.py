"""``permis serve`` and ``permis keys``: the HTTP door and its credentials."""

from __future__ import annotations

from typing import Annotated

import typer

from permis.entrypoints.cli_common import JsonOpt, PrincipalOpt, build_app, emit, parse_enum

keys_app = typer.Typer(help="API keys: one per role (and per processor).", no_args_is_help=True)


def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option("--workers", help="Worker processes.")] = 1,
) -> None:
    """Serve the API and the web pages (uvicorn)."""
    import uvicorn

    build_app().close()  # fail here, in one line, if the register cannot be used
    uvicorn.run(
        "permis.entrypoints.api.app:from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,  # request lines carry contact points in query strings
    )


@keys_app.command("create")
def keys_create(
    role: Annotated[
        str, typer.Option("--role", help="admin, compliance, campaign, processor or agent.")
    ],
    processor: Annotated[
        str | None, typer.Option("--processor", help="For role processor: who it acts as.")
    ] = None,
    label: Annotated[str | None, typer.Option("--label", help="A note for humans.")] = None,
    principal: PrincipalOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an API key; it is printed once and stored hashed."""
    from permis.services.keys import Role

    new = build_app().keys.create(
        parse_enum(Role, role, "--role"), principal=principal, processor=processor, label=label
    )
    data = {"key": new.key, **new.info.to_dict()}
    emit(data, as_json, f"{new.key}\n(role {role}; shown once: store it now)")


@keys_app.command("list")
def keys_list(principal: PrincipalOpt = None, as_json: JsonOpt = False) -> None:
    """The principal's keys (never their secrets)."""
    rows = build_app().keys.list(principal)
    text = "\n".join(
        f"{r['key_id']}  {r['role']:10} {r['processor'] or '':15} "
        f"{'revoked ' + r['revoked_at'] if r['revoked_at'] else 'active'}"
        for r in rows
    )
    emit({"keys": rows}, as_json, text or "no keys")


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (the part after permis_).")],
    principal: PrincipalOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Revoke a key at once (running servers stop accepting it within seconds)."""
    build_app().keys.revoke(key_id, principal)
    emit({"key_id": key_id, "revoked": True}, as_json, f"key {key_id} revoked")


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.add_typer(keys_app, name="keys")
