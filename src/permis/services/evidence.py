"""The evidence pack for one person: what a regulator asks for (CNIL, DGCCRF).

Every event about the contact point, each consent with its proof (and as a consent record in
the ISO/IEC TS 27560 / Kantara Consent Receipt v1.1 structure), the decision behind each contact
made (see :func:`replayed_decisions`), the objections and what was done to deliver them.

Permis does not store each ``check`` (a write in the check path would cost the 50 µs bar), so the
decision behind each recorded attempt is *replayed*: ``decide`` at the attempt's instant, over
the facts recorded before it, with the rules in force that day (rules are dated). The pack says
so; an attempt whose replayed decision is a refusal is listed as a contact made against the rules.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from permis.adapters.db import instants
from permis.adapters.db import repositories as repo
from permis.adapters.db.database import Cursor, Database
from permis.domain.contact import ContactKind, parse_contact
from permis.domain.decide import decide
from permis.domain.model import Channel, CheckRequest, Facts, Sector
from permis.domain.pressure import EMPTY_POLICY
from permis.domain.rules.base import RulePack
from permis.domain.rules.registry import Rulebook, as_rulebook
from permis.services.erasure import event_json, locate, projection_rows

RECEIPT_VERSION = "KI-CR-v1.1.0"


def evidence_pack(
    db: Database,
    rules: RulePack | Rulebook,
    *,
    principal: str | None,
    contact: str,
    now: datetime,
) -> dict[str, Any]:
    """Everything about one contact point that proves how it was treated."""
    point = parse_contact(contact)
    book = as_rulebook(rules)
    with db.transaction() as cur:
        owner, hashed = locate(cur, principal, contact)
        events = repo.contact_events(cur, owner.id, hashed)
        facts_rows = projection_rows(cur, owner.id, hashed)
        number = point.value if point.kind is ContactKind.PHONE else None
        facts = repo.load_facts(cur, owner.id, hashed, number, None)
        processors = {a.processor for a in facts.attempts if a.processor}
        known = {name: repo.processor_fact(cur, owner.id, name) for name in processors}
        objection_ids = [e.id for e in events if e.type in _OPT_OUTS]
        propagation = propagation_rows(cur, owner.id, hashed, objection_ids)
    pack = book.pack_for(point, book.override_for(owner.name))  # the contact's law, as the gate
    by_event = {e.id: e for e in events}
    consents = [
        _consent(owner.name, row, by_event.get(int(row["event_id"])))
        for row in facts_rows["consents"]
    ]
    request = CheckRequest(point, Channel.CALL, now, sector=Sector(owner.sector))
    return {
        "pack": "permis evidence pack",
        "generated_at": now.isoformat(),
        "principal": owner.name,
        "contact_point": {
            "value": point.value,
            "kind": point.kind.value,
            "contact_hash": hashed,
            "country": point.country,
        },
        "rules_version_now": pack.version(now),
        "events": [event_json(e) for e in events],
        "consents": consents,
        "objections": facts_rows["objections"],
        "refusals": facts_rows["refusals"],
        "contracts": facts_rows["contracts"],
        "budgets": facts_rows["budgets"],
        "decisions": replayed_decisions(request, facts, pack, known),
        "propagation": propagation,
    }


_OPT_OUTS = {"ObjectionRecorded", "ConsentWithdrawn", "RefusalRecorded", "ContactErased"}


def replayed_decisions(
    request: CheckRequest, facts: Facts, rules: RulePack, processors: dict[str, Any]
) -> list[dict[str, Any]]:
    """For each attempt, the decision ``decide`` gives at its instant over earlier facts."""
    out = []
    for attempt in sorted(facts.attempts, key=lambda a: a.at):
        before = as_of(facts, attempt.at)
        if attempt.processor is not None:
            before = replace(before, processor=processors.get(attempt.processor))
        query = replace(
            request, channel=Channel(attempt.channel), at=attempt.at, processor=attempt.processor
        )
        decision = decide(query, before, rules, EMPTY_POLICY)
        out.append(
            {
                "attempt": {
                    "at": attempt.at.isoformat(),
                    "channel": attempt.channel,
                    "processor": attempt.processor,
                    "outcome": attempt.outcome,
                },
                "replayed": True,
                "allowed": decision.allowed,
                "reasons": [r.to_dict() for r in decision.reasons],
                "rules_version": decision.rules_version,
            }
        )
    return out


def as_of(facts: Facts, at: datetime) -> Facts:
    """The facts as the register held them just before ``at``."""
    return Facts(
        consents=tuple(
            replace(
                c, withdrawn_at=c.withdrawn_at if c.withdrawn_at and c.withdrawn_at <= at else None
            )
            for c in facts.consents
            if c.given_at <= at
        ),
        objections=tuple(o for o in facts.objections if o.at <= at),
        refusals=tuple(r for r in facts.refusals if r.at < at),
        contracts=tuple(c for c in facts.contracts if c.start <= at),
        attempts=tuple(a for a in facts.attempts if a.at < at),
        budgets=tuple(b for b in facts.budgets if b.set_at <= at),
        snapshots=tuple(s for s in facts.snapshots if s.as_of <= at),
        processor=facts.processor,
    )


def _consent(principal: str, row: dict[str, Any], event: Any) -> dict[str, Any]:
    proof = event.data.get("proof", {}) if event is not None else {}
    text = (event.personal or {}).get("proof") if event is not None else None
    return {
        **row,
        "proof": {**proof, "text": text, "erased": event is not None and event.personal is None},
        "receipt": consent_receipt(principal, row, event),
    }


def consent_receipt(principal: str, row: dict[str, Any], event: Any) -> dict[str, Any]:
    """A consent as a Kantara Consent Receipt v1.1 / ISO/IEC TS 27560 record (plain, unsigned;
    the person is named by the keyed hash of their contact point)."""
    given = datetime.fromisoformat(row["given_at"])
    state = "withdrawn" if row.get("withdrawn_at") else "given"
    history = [{"event": "given", "time": row["given_at"]}]
    if row.get("withdrawn_at"):
        history.append({"event": "withdrawn", "time": row["withdrawn_at"]})
    proof = event.data.get("proof", {}) if event is not None else {}
    return {
        "version": RECEIPT_VERSION,
        "jurisdiction": "FR",
        "consentTimestamp": int(given.timestamp()),
        "collectionMethod": row["source"],
        "consentReceiptID": f"permis:{principal}:{row['event_id']}",
        "language": "fr",
        "piiPrincipalId": event.contact_hash if event is not None else None,
        "piiControllers": [{"piiController": principal}],
        "services": [
            {
                "service": row["purpose"],
                "purposes": [
                    {
                        "purpose": row["purpose"],
                        "purposeCategory": ["marketing"],
                        "consentType": "EXPLICIT",
                        "piiCategory": [f"contact point ({row['channel']})"],
                        "primaryPurpose": True,
                        "termination": row.get("expires_at") or "until withdrawn",
                        "thirdPartyDisclosure": False,
                    }
                ],
            }
        ],
        "sensitive": False,
        "spiCat": [],
        "iso27560": {
            "record_id": row["event_id"],
            "state": state,
            "channel": row["channel"],
            "notice": {"version": proof.get("version"), "sha256": proof.get("sha256")},
            "event_hash": event.hash if event is not None else None,
            "history": history,
        },
    }


def propagation_rows(
    cur: Cursor, principal_id: int, contact_hash: str, event_ids: list[int]
) -> dict[str, Any]:
    """The outbox rows of the person's opt-outs, each delivery of them to each processor (form,
    state, when delivered and acknowledged), and the violations on their contact point."""
    out: dict[str, Any] = {"outbox": [], "deliveries": [], "violations": []}
    if event_ids:
        marks = ",".join(str(int(i)) for i in event_ids)
        out["outbox"] = [
            {"event_id": int(r[0]), "created_at": _at(r[1])}
            for r in cur.execute(
                f"SELECT event_id, created_at FROM outbox WHERE principal_id = :p "
                f"AND event_id IN ({marks}) ORDER BY id",
                {"p": principal_id},
            )
        ]
        out["deliveries"] = [
            {
                "event_id": int(r[0]),
                "processor": r[1],
                "form": r[2],
                "state": r[3],
                "delivery": r[4],
                "created_at": _at(r[5]),
                "delivered_at": _at(r[6]),
                "acked_at": _at(r[7]),
            }
            for r in cur.execute(
                "SELECT o.event_id, p.name, d.form, d.state, d.uid, d.created_at, "
                "d.delivered_at, d.acked_at FROM deliveries d "
                "JOIN outbox o ON o.id = d.outbox_id JOIN processors p ON p.id = d.processor_id "
                f"WHERE d.principal_id = :p AND o.event_id IN ({marks}) ORDER BY d.id",
                {"p": principal_id},
            )
        ]
    out["violations"] = [
        {
            "processor": r[0],
            "channel": r[1],
            "objection_event_id": int(r[2]),
            "attempt_at": _at(r[3]),
            "delay_seconds": round(int(r[4]) / 1e6, 3),
        }
        for r in cur.execute(
            "SELECT processor, channel, objection_event_id, attempt_at, delay_us FROM violations "
            "WHERE principal_id = :p AND contact_hash = :h ORDER BY attempt_at",
            {"p": principal_id, "h": contact_hash},
        )
    ]
    return out


def _at(value: Any) -> str | None:
    return None if value is None else instants.from_us(int(value)).isoformat()
