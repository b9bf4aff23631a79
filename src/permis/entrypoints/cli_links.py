"""``permis links``: the preference and unsubscribe links of one contact, and the mail headers."""

from __future__ import annotations

import typer

from permis.entrypoints.cli_common import Contact, JsonOpt, PrincipalOpt, build_app, emit


def links(contact: Contact, principal: PrincipalOpt = None, as_json: JsonOpt = False) -> None:
    """Print the signed preference and one-click unsubscribe links for one contact, and the two
    List-Unsubscribe headers (RFC 8058) to put in an e-mail to it, on PERMIS_PUBLIC_URL."""
    from permis.services.intake import Intake

    application = build_app()
    try:
        made = Intake(
            application.db, application.register, application.settings, application.clock
        ).links(principal, contact)
    finally:
        application.close()
    text = "\n".join(
        [
            f"preferences: {made.preferences}",
            f"unsubscribe: {made.unsubscribe}",
            *(f"{name}: {value}" for name, value in made.headers.items()),
            f"(valid until {made.expires_at.isoformat()})",
        ]
    )
    emit(made.to_dict(), as_json, text)


def register(app: typer.Typer) -> None:
    app.command()(links)
