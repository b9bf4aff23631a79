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
    assert "deliveries" in pack["propagation"]["tables_missing"]


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


def test_evidence_lists_deliveries_when_the_register_has_them(app: App) -> None:
    history(app)
    with app.db.transaction(write=True) as cur:
        objection = cur.execute("SELECT id FROM events WHERE type = 'ObjectionRecorded'")[0][0]
        cur.execute(
            "CREATE TABLE deliveries (id INTEGER, event_id INTEGER, processor TEXT, acked_at BIGINT)"
        )
        cur.execute("INSERT INTO deliveries VALUES (1, :e, 'lille', 5)", {"e": objection})
        cur.execute("INSERT INTO deliveries VALUES (2, :e, 'lille', 6)", {"e": objection + 1000})
    pack = evidence_pack(app.db, app.gate.rules, principal=None, contact=NUMBER, now=app.clock())
    assert pack["propagation"]["deliveries"] == [
        {"id": 1, "event_id": objection, "processor": "lille", "acked_at": 5}
    ]
    assert pack["propagation"]["tables_missing"] == ["acknowledgements", "violations"]
