"""The evidence pack for one person: events, consents with proofs, replayed decisions."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from permis.bootstrap import App
from permis.domain.model import Channel, Outcome, Source
from permis.errors import UnknownContact
from permis.services.evidence import evidence_pack

NUMBER = "06 12 34 56 78"


def t(text: str) -> datetime:
    return datetime.fromisoformat(text)


def history(app: App) -> None:
    app.register.add_processor(None, "lille", [])
    app.register.record_consent(
        principal=None,
        contact=NUMBER,
        channel=Channel.CALL,
        source=Source.WEB,
        purpose="prospecting",
        at=t("2026-09-01T10:00:00+02:00"),
        proof="Oui, j'accepte d'être appelé par Choucroute",
        proof_version="form-v3",
    )
    app.register.record_attempt(
        principal=None,
        contact=NUMBER,
        channel=Channel.CALL,
        at=t("2026-10-05T11:00:00+02:00"),
        processor="lille",
        outcome=Outcome.ANSWERED,
    )
    app.register.record_objection(
        principal=None, contact=NUMBER, source=Source.AGENT, at=t("2026-11-02T15:00:00+01:00")
    )
    app.register.record_attempt(
        principal=None,
        contact=NUMBER,
        channel=Channel.CALL,
        at=t("2026-11-10T11:00:00+01:00"),
        processor="lille",
        outcome=Outcome.NO_ANSWER,
    )


def test_evidence_pack_holds_proofs_and_replayed_decisions(app: App) -> None:
    history(app)
    pack = evidence_pack(
        app.db, app.gate.rules, principal=None, contact=NUMBER, now=t("2026-11-23T09:00:00+01:00")
    )
    assert [e["type"] for e in pack["events"]] == [
        "ConsentGiven",
        "AttemptRecorded",
        "ObjectionRecorded",
        "AttemptRecorded",
    ]
    (consent,) = pack["consents"]
    assert consent["proof"]["text"] == "Oui, j'accepte d'être appelé par Choucroute"
    assert consent["proof"]["version"] == "form-v3" and len(consent["proof"]["sha256"]) == 64
    receipt = consent["receipt"]
    assert receipt["version"] == "KI-CR-v1.1.0" and receipt["collectionMethod"] == "web"
    assert receipt["piiPrincipalId"] == pack["contact_point"]["contact_hash"]
    assert receipt["services"][0]["purposes"][0]["consentType"] == "EXPLICIT"
    assert receipt["iso27560"]["state"] == "given"  # the objection is its own record: it wins
    assert len(pack["objections"]) == 1
    first, second = pack["decisions"]
    assert first["allowed"] and first["replayed"] and first["rules_version"]
    assert not second["allowed"]
    assert "OBJECTION" in [r["code"] for r in second["reasons"]]
    assert len(pack["propagation"]["outbox"]) == 1
    assert pack["propagation"]["deliveries"] == []  # no processor takes deliveries yet
    # the objection dated 2 Nov was recorded on 23 Nov (the clock): the call of 10 Nov came
    # before anyone could know of it, so it is no violation
    assert pack["propagation"]["violations"] == []


def test_evidence_for_an_unknown_contact_is_refused(app: App) -> None:
    with pytest.raises(UnknownContact):
        evidence_pack(app.db, app.gate.rules, principal=None, contact=NUMBER, now=app.clock())


def test_cli_audit_export_writes_json_html_and_pdf(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("init")[0] == 0
    cli(
        "record",
        "consent",
        "--contact",
        NUMBER,
        "--channel",
        "call",
        "--source",
        "web",
        "--at",
        "2026-09-01T10:00:00+02:00",
        "--proof",
        "J'accepte",
    )
    cli(
        "record",
        "attempt",
        "--contact",
        NUMBER,
        "--channel",
        "call",
        "--at",
        "2026-10-05T11:00:00+02:00",
    )
    code, out, err = cli(
        "audit", "export", "--contact", NUMBER, "--out", str(tmp_path / "pack"), "--json"
    )
    assert code == 0, err
    files = json.loads(out)["files"]
    pack = json.loads(Path(files["json"]).read_text(encoding="utf-8"))
    assert pack["consents"][0]["proof"]["text"] == "J'accepte"
    html = Path(files["html"]).read_text(encoding="utf-8")
    for heading in (
        "Dossier de preuve",
        "Evidence pack",
        "Consentements et preuves",
        "Decisions behind each contact",
    ):
        assert heading in html
    assert Path(files["pdf"]).read_bytes()[:5] == b"%PDF-"
    code, _, err = cli("audit", "export", "--contact", "0698765432", "--no-pdf")
    assert code == 2 and "UNKNOWN_CONTACT" in err


def test_evidence_lists_deliveries_and_acknowledgements(app: App) -> None:
    from permis.services.deliveries import Deliveries
    from permis.services.processors import Processors
    from permis.services.propagation import fan_out

    Processors(app.db, app.clock).add(None, "tunis", ["call"], feed=True)
    history(app)
    fan_out(app.db, app.clock)
    feed = Deliveries(app.db, app.clock, 3600)
    page = feed.changes(None, "tunis", None)
    assert len(page.changes) == 1
    feed.changes(None, "tunis", page.cursor)  # moving the cursor acknowledges
    pack = evidence_pack(app.db, app.gate.rules, principal=None, contact=NUMBER, now=app.clock())
    (delivery,) = [d for d in pack["propagation"]["deliveries"] if d["processor"] == "tunis"]
    objection = next(e["id"] for e in pack["events"] if e["type"] == "ObjectionRecorded")
    assert (delivery["event_id"], delivery["processor"], delivery["form"]) == (
        objection,
        "tunis",
        "feed",
    )
    assert delivery["delivered_at"] and delivery["acked_at"]
