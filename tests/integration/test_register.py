"""The register on a real database: record verbs, idempotency, projections, the hash chain."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from permis.bootstrap import App
from permis.domain.model import Channel, Outcome, Period, Source
from permis.errors import InvalidContact, UnknownPrincipal, UsageError
from permis.services.audit import verify
from permis.services.gate import CheckQuery

NUMBER = "06 12 34 56 78"


def t(text: str) -> datetime:
    return datetime.fromisoformat(text)


def consent(app: App, contact: str = NUMBER, **kw: object) -> object:
    args: dict[str, object] = dict(
        principal=None,
        contact=contact,
        channel=Channel.CALL,
        source=Source.WEB,
        purpose="prospecting",
        at=t("2026-09-01T10:00:00+02:00"),
    )
    args.update(kw)
    return app.register.record_consent(**args)  # type: ignore[arg-type]


def check(
    app: App,
    at: str,
    contact: str = NUMBER,
    channel: Channel = Channel.CALL,
    processor: str | None = None,
) -> tuple[bool, tuple[str, ...]]:
    decision = app.gate.check(CheckQuery(contact, channel, t(at), processor=processor))
    return decision.allowed, decision.codes


def test_consent_allows_a_call_in_hours_and_keeps_its_proof(app: App) -> None:
    result = consent(
        app, proof="J'accepte d'être appelé", proof_version="form-v2", actor="web-form"
    )
    assert check(app, "2026-11-24T10:30:00+01:00") == (True, ())
    event = result.event  # type: ignore[attr-defined]
    assert event.type == "ConsentGiven"
    assert event.personal["proof"] == "J'accepte d'être appelé"
    assert event.personal["contact"] == "+33612345678"
    assert event.data["proof"]["version"] == "form-v2"
    assert event.data["proof"]["recorded_by"] == "web-form"
    assert event.data["proof"]["collected_at"] == "2026-09-01T10:00:00+02:00"
    assert len(event.data["proof"]["sha256"]) == 64
    assert "+33612345678" not in json.dumps(event.data)


def test_no_consent_is_refused_after_the_opt_in_switch(app: App) -> None:
    assert check(app, "2026-11-24T10:30:00+01:00") == (False, ("NO_CONSENT",))


def test_objection_from_any_door_wins_for_every_processor(app: App) -> None:
    consent(app)
    for name in ("lille", "tunis"):
        app.register.add_processor(None, name, ["call"])
    app.register.record_objection(
        principal=None,
        contact="+33 6 12 34 56 78",
        source=Source.AGENT,
        at=t("2026-11-23T11:00:00+01:00"),
    )
    for name in ("lille", "tunis"):
        assert check(app, "2026-11-24T10:30:00+01:00", processor=name) == (False, ("OBJECTION",))
    # before the objection the same call was fine
    assert check(app, "2026-11-20T10:30:00+01:00", processor="lille") == (True, ())


def test_unknown_processor_is_refused(app: App) -> None:
    consent(app)
    allowed, codes = check(app, "2026-11-24T10:30:00+01:00", processor="nobody")
    assert (allowed, codes) == (False, ("PROCESSOR_NOT_AUTHORIZED",))


def test_attempts_from_all_processors_count_toward_the_legal_cap(app: App) -> None:
    consent(app)
    for i, who in enumerate(["lille", "tunis", "abidjan", "lille"]):
        app.register.record_attempt(
            principal=None,
            contact=NUMBER,
            channel=Channel.CALL,
            at=t(f"2026-11-1{6 + i}T10:30:00+01:00"),
            processor=who,
            outcome=Outcome.NO_ANSWER,
        )
    decision = app.gate.check(CheckQuery(NUMBER, Channel.CALL, t("2026-11-20T11:00:00+01:00")))
    assert decision.codes == ("LEGAL_CAP",)
    assert decision.next_allowed_at == t("2026-12-16T10:30:00+01:00")


def test_refused_outcome_is_a_refusal(app: App) -> None:
    consent(app)
    app.register.record_attempt(
        principal=None,
        contact=NUMBER,
        channel=Channel.CALL,
        at=t("2026-11-16T10:30:00+01:00"),
        processor="lille",
        outcome=Outcome.REFUSED,
    )
    assert check(app, "2026-11-17T10:30:00+01:00") == (False, ("OBJECTION",))


def test_budget_is_enforced(app: App) -> None:
    consent(app, channel=Channel.SMS)
    app.register.record_budget(
        principal=None,
        contact=NUMBER,
        channel="sms",
        maximum=1,
        per=Period.YEAR,
        at=t("2026-10-01T10:00:00+02:00"),
    )
    app.register.record_attempt(
        principal=None,
        contact=NUMBER,
        channel=Channel.SMS,
        at=t("2026-11-02T10:00:00+01:00"),
        outcome=Outcome.SENT,
    )
    decision = app.gate.check(CheckQuery(NUMBER, Channel.SMS, t("2026-11-24T10:30:00+01:00")))
    assert decision.codes == ("PERSONAL_BUDGET",)
    assert decision.next_allowed_at == t("2027-11-02T10:00:00+01:00")


def test_contract_exception(app: App) -> None:
    app.register.record_contract(
        principal=None, contact=NUMBER, start=t("2026-01-01T00:00:00+01:00"), subject="box internet"
    )
    assert check(app, "2026-11-24T10:30:00+01:00") == (True, ())


def test_idempotency_key_makes_a_repeat_a_no_op(app: App) -> None:
    first = app.register.record_objection(
        principal=None, contact=NUMBER, source=Source.SMS, idempotency_key="sms-123"
    )
    again = app.register.record_objection(
        principal=None, contact="+33612345678", source=Source.SMS, idempotency_key="sms-123"
    )
    assert first.created and not again.created
    assert again.event.id == first.event.id and again.event.hash == first.event.hash
    history = app.register.history(None, NUMBER)
    assert [e.type for e in history] == ["ObjectionRecorded"]


def test_invalid_contact_writes_nothing(app: App) -> None:
    with pytest.raises(InvalidContact):
        app.register.record_objection(
            principal=None, contact="tel: 06 12 (bureau)", source=Source.AGENT
        )
    with app.db.transaction() as cur:
        assert cur.execute("SELECT count(*) FROM objections")[0][0] == 0
        assert cur.execute("SELECT count(*) FROM events WHERE type = 'ObjectionRecorded'") == [(0,)]


def test_bad_values_write_nothing(app: App) -> None:
    with pytest.raises(UsageError):
        app.register.record_contract(
            principal=None,
            contact=NUMBER,
            start=t("2026-05-01T00:00:00+02:00"),
            end=t("2026-04-01T00:00:00+02:00"),
        )
    with pytest.raises(UnknownPrincipal):
        app.register.record_objection(principal="ghost", contact=NUMBER, source=Source.API)
    assert app.register.history(None, NUMBER) == []


def test_opt_outs_write_an_outbox_row_in_the_same_transaction(app: App) -> None:
    app.register.record_objection(principal=None, contact=NUMBER, source=Source.AGENT)
    consent(app)
    with app.db.transaction() as cur:
        rows = cur.execute("SELECT e.type FROM outbox o JOIN events e ON e.id = o.event_id")
    assert rows == [("ObjectionRecorded",)]


def test_erasable_personal_part_is_outside_the_chain(app: App) -> None:
    from permis.services.erasure import erase

    consent(app, proof="texte")
    app.register.record_objection(principal=None, contact=NUMBER, source=Source.AGENT)
    erase(app.db, app.clock, principal=None, contact=NUMBER, reason="art. 17")
    with app.db.transaction() as cur:
        assert cur.execute("SELECT COUNT(*) FROM events WHERE personal IS NOT NULL") == [(0,)]
    assert all(r.ok for r in verify(app.db))


# -- tampering -------------------------------------------------------------------------------


def _populate(app: App) -> None:
    consent(app)
    app.register.record_attempt(
        principal=None, contact=NUMBER, channel=Channel.CALL, at=t("2026-11-16T10:30:00+01:00")
    )
    app.register.record_objection(principal=None, contact=NUMBER, source=Source.AGENT)


def _broken(app: App) -> tuple[int | None, str | None]:
    reports = verify(app.db)
    bad = [r for r in reports if not r.ok]
    assert len(bad) == 1
    return bad[0].broken_seq, bad[0].problem


def _broken_id(app: App) -> tuple[int | None, str]:
    bad = [r for r in verify(app.db) if not r.ok]
    assert len(bad) == 1 and bad[0].problem is not None
    return bad[0].broken_event_id, bad[0].problem


def _broken_id_anchored(app: App, anchors: dict[int, tuple[int, str]]) -> tuple[int | None, str]:
    bad = [r for r in verify(app.db, anchors) if not r.ok]
    assert len(bad) == 1 and bad[0].problem is not None
    return bad[0].broken_event_id, bad[0].problem


def _id(app: App, seq: int) -> int:
    with app.db.transaction() as cur:
        return int(cur.execute("SELECT id FROM events WHERE seq = :s", {"s": seq})[0][0])


def test_intact_chain_verifies(app: App) -> None:
    _populate(app)
    assert [r.ok for r in verify(app.db)] == [True]


def test_changed_payload_is_detected(app: App) -> None:
    _populate(app)
    with app.db.transaction(write=True) as cur:
        cur.execute(
            "UPDATE events SET data = :d WHERE seq = 3",
            {"d": '{"channel":"sms","processor":null,"outcome":null}'},
        )
    assert _broken(app) == (3, "event content changed")


def test_changed_personal_data_is_detected(app: App) -> None:
    _populate(app)
    with app.db.transaction(write=True) as cur:
        row = cur.execute("SELECT personal FROM events WHERE seq = 2")[0][0]
        cur.execute(
            "UPDATE events SET personal = :p WHERE seq = 2",
            {"p": row.replace("+33612345678", "+33612345679")},
        )
    assert _broken(app) == (2, "personal data changed")


def test_removed_event_is_detected(app: App) -> None:
    _populate(app)
    with app.db.transaction(write=True) as cur:
        cur.execute("DELETE FROM events WHERE seq = 2")
    seq, problem = _broken(app)
    assert seq == 3 and problem is not None and problem.startswith("sequence gap")


def test_removed_last_event_is_detected(app: App) -> None:
    _populate(app)
    with app.db.transaction(write=True) as cur:
        cur.execute("DELETE FROM events WHERE seq = 4")
    seq, problem = _broken(app)
    assert seq == 3 and problem is not None and problem.startswith("tail missing")


def test_reordered_events_are_detected(app: App) -> None:
    _populate(app)
    with app.db.transaction(write=True) as cur:
        cur.execute("UPDATE events SET seq = 100 WHERE seq = 2")
        cur.execute("UPDATE events SET seq = 2 WHERE seq = 3")
        cur.execute("UPDATE events SET seq = 3 WHERE seq = 100")
    assert _broken(app) == (2, "previous-hash mismatch")


def _forge(app: App, seq: int, prev: str, data: str = '{"note":"forged"}') -> str:
    """Insert a well-formed event at ``seq`` linked to ``prev`` (what a forger would write)."""
    from permis.domain.events import link_hash_text

    digest = link_hash_text(prev, seq, "ObjectionRecorded", None, 1, 1, data, None, None, None)
    with app.db.transaction(write=True) as cur:
        cur.execute(
            "INSERT INTO events (principal_id, seq, type, occurred_at, recorded_at, data, "
            "prev_hash, hash) VALUES (1, :s, 'ObjectionRecorded', 1, 1, :d, :p, :h)",
            {"s": seq, "d": data, "p": prev, "h": digest},
        )
    return digest


def test_inserted_event_in_the_middle_is_detected_with_its_id(app: App) -> None:
    _populate(app)
    with app.db.transaction(write=True) as cur:
        prev = cur.execute("SELECT hash FROM events WHERE seq = 2")[0][0]
        for seq in (4, 3):  # make room after seq 2, as a forger would
            cur.execute("UPDATE events SET seq = :n WHERE seq = :s", {"n": seq + 1, "s": seq})
        cur.execute("UPDATE principals SET head_seq = 5")
    _forge(app, 3, prev)
    forged = _id(app, 3)
    assert _broken_id(app) == (forged, "inserted event: the next one skips it")


def test_event_appended_after_the_head_is_detected(app: App) -> None:
    _populate(app)
    with app.db.transaction(write=True) as cur:
        head = cur.execute("SELECT head_hash FROM principals")[0][0]
    _forge(app, 5, head)
    event_id, problem = _broken_id(app)
    assert event_id == _id(app, 5) and problem.startswith("event beyond the chain head")


def test_forged_event_with_the_head_moved_is_detected_by_its_id(app: App) -> None:
    """A forger who rewrites the tail and moves the head: caught by an anchored head."""
    _populate(app)
    anchor = {r.principal_id: (r.head_seq, r.head_hash) for r in verify(app.db)}
    with app.db.transaction(write=True) as cur:
        cur.execute("DELETE FROM events WHERE seq = 4")
        prev = cur.execute("SELECT hash FROM events WHERE seq = 3")[0][0]
    digest = _forge(app, 4, prev)
    with app.db.transaction(write=True) as cur:
        cur.execute("UPDATE principals SET head_hash = :h", {"h": digest})
    # the forged event has a fresh id, higher than the deleted one's: only a head published
    # before (an anchor kept outside the database) can tell
    assert [r.ok for r in verify(app.db)] == [True]
    assert _broken_id_anchored(app, anchor) == (
        _id(app, 4),
        "differs from the anchored head (history rewritten)",
    )


def test_swapped_personal_parts_are_detected(app: App) -> None:
    _populate(app)
    with app.db.transaction(write=True) as cur:
        a, b = cur.execute("SELECT personal FROM events WHERE seq IN (2, 3) ORDER BY seq")
        cur.execute("UPDATE events SET personal = :p WHERE seq = 2", {"p": b[0]})
        cur.execute("UPDATE events SET personal = :p WHERE seq = 3", {"p": a[0]})
    assert _broken_id(app) == (_id(app, 2), "personal data changed")


def test_swapped_personal_parts_with_their_digests_are_detected(app: App) -> None:
    _populate(app)
    with app.db.transaction(write=True) as cur:
        a, b = cur.execute(
            "SELECT personal, personal_digest FROM events WHERE seq IN (2, 3) ORDER BY seq"
        )
        cur.execute(
            "UPDATE events SET personal = :p, personal_digest = :d WHERE seq = 2",
            {"p": b[0], "d": b[1]},
        )
        cur.execute(
            "UPDATE events SET personal = :p, personal_digest = :d WHERE seq = 3",
            {"p": a[0], "d": a[1]},
        )
    assert _broken_id(app) == (_id(app, 2), "event content changed")


def test_personal_data_removed_without_an_erasure_is_detected(app: App) -> None:
    _populate(app)
    with app.db.transaction(write=True) as cur:
        cur.execute("UPDATE events SET personal = NULL WHERE seq = 3")
    assert _broken_id(app) == (_id(app, 3), "personal data removed without an erasure event")


def test_changed_payload_reports_the_event_id(app: App) -> None:
    _populate(app)
    with app.db.transaction(write=True) as cur:
        cur.execute("UPDATE events SET occurred_at = occurred_at + 1 WHERE seq = 2")
    assert _broken_id(app) == (_id(app, 2), "event content changed")


def test_removed_event_reports_the_next_event_id(app: App) -> None:
    _populate(app)
    with app.db.transaction(write=True) as cur:
        cur.execute("DELETE FROM events WHERE seq = 3")
    event_id, problem = _broken_id(app)
    assert event_id == _id(app, 4) and problem == "sequence gap: expected 3, found 4"


def test_concurrent_repeats_with_one_key_record_once(database_url: str) -> None:
    """Several processes' worth of connections racing with the same idempotency key."""
    from concurrent.futures import ThreadPoolExecutor

    from permis.bootstrap import build
    from permis.config import Settings

    apps = [build(Settings(database_url=database_url)) for _ in range(6)]
    apps[0].register.ensure_principal("acme")

    def record(app: App) -> bool:
        return app.register.record_objection(
            principal=None, contact=NUMBER, source=Source.SMS, idempotency_key="race"
        ).created

    with ThreadPoolExecutor(len(apps)) as pool:
        created = list(pool.map(record, apps))
    assert created.count(True) == 1
    assert [e.type for e in apps[0].register.history(None, NUMBER)] == ["ObjectionRecorded"]
    for app in apps:
        app.close()
