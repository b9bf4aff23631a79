"""Access and erasure (RGPD art. 15 and 17) on a real register."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from permis.bootstrap import App
from permis.domain.model import Channel, Source
from permis.errors import UnknownContact, UsageError
from permis.services.audit import verify
from permis.services.erasure import access, erase
from permis.services.gate import CheckQuery
from permis.services.scrub import ScrubRequest, ScrubSummary, run_scrub

NUMBER = "06 12 34 56 78"
E164 = "+33612345678"
AT = "2026-11-24T11:00:00+01:00"


def t(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _history(app: App) -> None:
    app.register.record_consent(
        principal=None,
        contact=NUMBER,
        channel=Channel.CALL,
        source=Source.WEB,
        purpose="prospecting",
        at=t("2026-09-01T10:00:00+02:00"),
        proof="J'accepte d'être appelé",
        idempotency_key="consent-1",
    )
    app.register.record_attempt(
        principal=None, contact=NUMBER, channel=Channel.CALL, at=t("2026-10-01T11:00:00+02:00")
    )
    app.register.record_contract(
        principal=None, contact=NUMBER, start=t("2026-09-02T00:00:00+02:00")
    )
    app.register.record_objection(
        principal=None, contact=NUMBER, source=Source.AGENT, idempotency_key="objection-1"
    )


def _erase(app: App) -> None:
    erase(app.db, app.clock, principal=None, contact=NUMBER, reason="art. 17 request", actor="dpo")


def _scrub(app: App, folder: Path, rows: str) -> tuple[ScrubSummary, pl.DataFrame]:
    """A campaign of ``nom;telephone`` rows scrubbed for calls at AT: the summary, the rejects."""
    campaign = folder / "campaign.csv"
    campaign.write_text("nom;telephone\n" + rows, encoding="utf-8")
    request = ScrubRequest(channel=Channel.CALL, at=t(AT))
    out, rejects = folder / "ok.csv", folder / "rejects.csv"
    summary = run_scrub(app.db, app.gate.rules, campaign, request, out, rejects)
    return summary, pl.read_csv(rejects, separator=";", infer_schema=False)


def _no_personal_data_left(app: App) -> None:
    with app.db.transaction() as cur:
        dump = json.dumps(
            [cur.execute("SELECT * FROM events"), cur.execute("SELECT * FROM contact_points")],
            default=str,
        )
    assert E164 not in dump and "J'accepte" not in dump


def test_erasure_removes_the_personal_data_and_keeps_the_chain(app: App) -> None:
    _history(app)
    _erase(app)
    _no_personal_data_left(app)
    assert [r.ok for r in verify(app.db)] == [True]
    erased = app.register.history(None, NUMBER)[-1]
    assert erased.type == "ContactErased" and erased.actor == "dpo"
    assert erased.data["reason"] == "art. 17 request" and erased.data["personal_parts_cleared"] == 4
    with app.db.transaction() as cur:
        assert cur.execute("SELECT COUNT(*) FROM contracts") == [(0,)]
        assert cur.execute("SELECT COUNT(*) FROM consents WHERE withdrawn_at IS NULL") == [(0,)]
        assert cur.execute("SELECT COUNT(*) FROM objections") == [(1,)]
        # processors are told to erase too (art. 19): the erasure has its outbox row
        assert cur.execute(
            "SELECT COUNT(*) FROM outbox o JOIN events e ON e.id = o.event_id "
            "WHERE e.type = 'ContactErased'"
        ) == [(1,)]


def test_an_erased_number_is_still_refused_by_check_and_by_scrub(app: App, tmp_path: Path) -> None:
    _history(app)
    _erase(app)
    decision = app.gate.check(CheckQuery("+33 6 12 34 56 78", Channel.CALL, t(AT)))
    assert not decision.allowed and "OBJECTION" in decision.codes
    summary, refused = _scrub(app, tmp_path, "Dupont;06.12.34.56.78\nMartin;0698765432\n")
    row = refused.filter(pl.col("nom") == "Dupont")
    assert row.height == 1 and "OBJECTION" in row["permis_reasons"][0].split("|")
    assert summary.by_reason.get("OBJECTION") == 1


def test_replaying_old_events_does_not_undo_the_erasure(app: App) -> None:
    _history(app)
    _erase(app)
    # the same intakes sent again (same idempotency keys): the first events come back, erased
    again = app.register.record_consent(
        principal=None,
        contact=NUMBER,
        channel=Channel.CALL,
        source=Source.WEB,
        purpose="prospecting",
        at=t("2026-09-01T10:00:00+02:00"),
        proof="J'accepte d'être appelé",
        idempotency_key="consent-1",
    )
    assert not again.created and again.event.personal is None
    app.register.record_objection(
        principal=None, contact=NUMBER, source=Source.AGENT, idempotency_key="objection-1"
    )
    _no_personal_data_left(app)
    with app.db.transaction() as cur:
        assert cur.execute("SELECT COUNT(*) FROM consents WHERE withdrawn_at IS NULL") == [(0,)]
    assert [r.ok for r in verify(app.db)] == [True]
    decision = app.gate.check(CheckQuery(NUMBER, Channel.CALL, t(AT)))
    assert "OBJECTION" in decision.codes


def test_erasure_needs_a_reason_and_a_known_contact(app: App) -> None:
    _history(app)
    with pytest.raises(UsageError, match="--reason"):
        erase(app.db, app.clock, principal=None, contact=NUMBER, reason="  ")
    with pytest.raises(UnknownContact) as caught:
        erase(app.db, app.clock, principal=None, contact="06 98 76 54 32", reason="asked")
    message = caught.value.message  # the number never appears, in any written form
    assert caught.value.code == "UNKNOWN_CONTACT"
    assert not any(form in message for form in ("98 76 54 32", "987654", "+33698", "0698"))
    with pytest.raises(UnknownContact):
        access(app.db, principal=None, contact="06 98 76 54 32")
    assert E164 in json.dumps(access(app.db, principal=None, contact=NUMBER))  # nothing erased


def test_access_lists_everything_held(app: App) -> None:
    _history(app)
    data = access(app.db, principal=None, contact=NUMBER)
    assert data["contact_point"]["value"] == E164
    assert [e["type"] for e in data["events"]] == [
        "ConsentGiven",
        "AttemptRecorded",
        "ContractRecorded",
        "ObjectionRecorded",
    ]
    assert data["events"][0]["personal"]["proof"] == "J'accepte d'être appelé"
    assert "salt" not in data["events"][0]["personal"]
    assert len(data["consents"]) == 1 and len(data["attempts"]) == 1
    _erase(app)
    after = access(app.db, principal=None, contact=NUMBER)
    assert after["contact_point"]["erased"] and E164 not in json.dumps(after["events"])


def test_cli_contacts_export_and_erase(cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("init")[0] == 0
    cli(
        "record",
        "objection",
        "--contact",
        NUMBER,
        "--source",
        "agent",
        "--at",
        "2026-11-20T10:00:00+01:00",
    )
    code, out, _ = cli("contacts", "export", NUMBER, "--json")
    assert code == 0 and json.loads(out)["contact_point"]["value"] == E164
    code, _, err = cli("contacts", "erase", NUMBER)
    assert code == 2 and "--reason" in err
    code, out, _ = cli("contacts", "erase", NUMBER, "--reason", "asked by phone", "--json")
    assert code == 0 and json.loads(out)["erased"] is True
    code, out, _ = cli("check", "--contact", NUMBER, "--channel", "call", "--at", AT, "--json")
    assert code == 1 and "OBJECTION" in [r["code"] for r in json.loads(out)["reasons"]]
    code, _, err = cli("contacts", "export", "0698765432")
    assert code == 2 and "UNKNOWN_CONTACT" in err and "98765432" not in err
    assert cli("audit", "verify")[0] == 0


def test_a_person_who_comes_back_after_erasure_is_held_again_and_decided_alike(
    app: App, tmp_path: Path
) -> None:
    _history(app)
    _erase(app)
    app.register.record_consent(
        principal=None,
        contact=NUMBER,
        channel=Channel.CALL,
        source=Source.WEB,
        purpose="prospecting",
        at=t("2026-11-20T10:00:00+01:00"),
        proof="Je consens de nouveau",
    )
    with app.db.transaction() as cur:
        held = cur.execute("SELECT value, erased_bucket FROM contact_points")
    assert held == [(E164, None)]  # the number is held again, for the new consent only
    with app.db.transaction() as cur:
        old = json.dumps(cur.execute("SELECT * FROM events WHERE type <> 'ConsentGiven'"))
    assert E164 not in old and "J'accepte" not in old  # what was erased stays erased
    decision = app.gate.check(CheckQuery(NUMBER, Channel.CALL, t(AT)))
    summary, refused = _scrub(app, tmp_path, "Dupont;06.12.34.56.78\n")
    assert summary.allowed == int(decision.allowed)
    if not decision.allowed:
        reasons = refused["permis_reasons"][0]
        assert sorted(reasons.split("|")) == sorted(decision.codes)
