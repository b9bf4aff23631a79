"""Retention over a generated 4-year history with a fixed clock: exactly what should go goes."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from permis.bootstrap import App
from permis.config import Settings
from permis.domain.contact import contact_hash
from permis.domain.model import Channel, Outcome, Period, Source
from permis.services.audit import verify
from permis.services.gate import CheckQuery
from permis.services.retention import run_retention
from tests.conftest import FakeClock

START = datetime(2022, 11, 1, 9, tzinfo=UTC)
RUN_AT = datetime(2026, 11, 30, 12, tzinfo=UTC)
LATER = datetime(2028, 12, 1, 12, tzinfo=UTC)
SETTINGS = Settings()  # 3 years for prospects, 5 years for consent proofs


def years(at: datetime, n: int) -> datetime:
    return at.replace(year=at.year + n)


@dataclass
class Person:
    number: str
    events: list[tuple[datetime, str]] = field(default_factory=list)
    contract_end: datetime | None = None
    open_contract: bool = False

    def anchor(self) -> datetime:
        """Collection, last contact from the person, end of contract (independent of Permis)."""
        first = min(t for t, _ in self.events)
        own = [
            t for t, kind in self.events if kind in {"consent", "objection", "budget", "contract"}
        ]
        ends = [self.contract_end] if self.contract_end else []
        return max([first, *own, *ends])

    def purged_at(self, at: datetime) -> bool:
        return not self.open_contract and years(self.anchor(), 3) <= at

    def proof_deadline(self) -> datetime | None:
        """All consents of a person are on ``call``: given + 5 y, or last attempt + 5 y."""
        given = [t for t, kind in self.events if kind == "consent"]
        if not given:
            return None
        attempts = [t for t, kind in self.events if kind == "attempt"]
        return years(max([given[-1], *attempts]), 5)


def _moment(rng: random.Random, low: datetime, high: datetime) -> datetime:
    at = low + timedelta(seconds=rng.randrange(int((high - low).total_seconds())))
    return at if (at.month, at.day) != (2, 29) else at + timedelta(days=1)


def generate(seed: int = 6, people: int = 80) -> list[Person]:
    rng = random.Random(seed)
    out = []
    for i in range(people):
        person = Person(f"+3361{i:07d}")
        early = rng.random() < 0.6  # most of the register is old: retention has work to do
        first = _moment(rng, START, years(START, 2) if early else RUN_AT - timedelta(days=2))
        person.events.append((first, rng.choice(["consent", "attempt", "objection", "refusal"])))
        for _ in range(rng.randrange(0, 4)):
            kind = rng.choice(["attempt", "attempt", "consent", "budget", "contract", "objection"])
            if kind == "contract" and any(k == "contract" for _, k in person.events):
                continue
            until = min(first + timedelta(days=500), RUN_AT - timedelta(days=1))
            person.events.append((_moment(rng, first, until), kind))
        person.events.sort()
        contract = [t for t, k in person.events if k == "contract"]
        if contract:
            person.open_contract = rng.random() < 0.3
            if not person.open_contract:
                person.contract_end = contract[0] + timedelta(days=rng.randrange(30, 700))
        out.append(person)
    return out


def record(app: App, clock: FakeClock, people: list[Person]) -> None:
    plan = sorted((t, p.number, kind, p) for p in people for t, kind in p.events)
    for at, number, kind, person in plan:
        clock.now = at
        common = {"principal": None, "contact": number}
        if kind == "consent":
            app.register.record_consent(
                **common,
                channel=Channel.CALL,
                source=Source.WEB,
                purpose="prospecting",
                at=at,
                proof=f"form v3, {number}",
            )
        elif kind == "attempt":
            app.register.record_attempt(
                **common, channel=Channel.CALL, at=at, outcome=Outcome.NO_ANSWER
            )
        elif kind == "objection":
            app.register.record_objection(**common, source=Source.SMS, at=at)
        elif kind == "refusal":
            app.register.record_refusal(**common, at=at)
        elif kind == "budget":
            app.register.record_budget(**common, channel="all", maximum=2, per=Period.YEAR, at=at)
        else:
            app.register.record_contract(**common, start=at, end=person.contract_end)


def _state(app: App) -> dict[str, tuple[bool, int, int]]:
    """hash -> (value held, events with a personal part, consent events with one)."""
    with app.db.transaction() as cur:
        rows = cur.execute(
            "SELECT cp.contact_hash, MAX(CASE WHEN cp.value IS NULL THEN 0 ELSE 1 END), "
            "SUM(CASE WHEN e.personal IS NULL THEN 0 ELSE 1 END), "
            "SUM(CASE WHEN e.personal IS NOT NULL AND e.type = 'ConsentGiven' THEN 1 ELSE 0 END) "
            "FROM contact_points cp JOIN events e ON e.contact_hash = cp.contact_hash "
            "GROUP BY cp.contact_hash"
        )
    return {str(r[0]): (bool(r[1]), int(r[2]), int(r[3])) for r in rows}


def test_retention_over_four_years(app: App, clock: FakeClock) -> None:
    people = generate()
    record(app, clock, people)
    with app.db.transaction() as cur:
        key = bytes.fromhex(cur.execute("SELECT hash_key FROM principals")[0][0])
        objections = cur.execute("SELECT COUNT(*) FROM objections")[0][0]
    hashed = {contact_hash(p.number, key): p for p in people}
    expected = {h for h, p in hashed.items() if p.purged_at(RUN_AT)}
    assert 15 < len(expected) < len(people) - 10  # the history exercises both sides
    before = _state(app)

    clock.now = RUN_AT
    dry = run_retention(app.db, SETTINGS, clock, RUN_AT, dry_run=True)
    assert {i.contact_hash for i in dry.items} == expected
    assert _state(app) == before  # a dry run changes nothing

    done = run_retention(app.db, SETTINGS, clock, RUN_AT)
    assert [i.to_dict() for i in done.items] == [i.to_dict() for i in dry.items]
    after = _state(app)
    for h, person in hashed.items():
        deadline = person.proof_deadline()
        if h not in expected:
            assert after[h] == before[h], person.number
            continue
        kept = before[h][2] if deadline is not None and deadline > RUN_AT else 0
        assert after[h] == (False, kept, kept), person.number
    with app.db.transaction() as cur:
        assert cur.execute("SELECT COUNT(*) FROM objections")[0][0] == objections
    assert [r.ok for r in verify(app.db)] == [True]

    # an objection of a purged person still refuses them
    purged_objector = next(
        p for h, p in hashed.items() if h in expected and any(k == "objection" for _, k in p.events)
    )
    decision = app.gate.check(CheckQuery(purged_objector.number, Channel.CALL, RUN_AT))
    assert "OBJECTION" in decision.codes

    assert run_retention(app.db, SETTINGS, clock, RUN_AT).items == []  # nothing left to do

    # two years later: the consent proofs whose five years have passed go too
    later = run_retention(app.db, SETTINGS, clock, LATER, dry_run=True)
    proofs = {i.contact_hash for i in later.items if i.action == "purge_consent_proofs"}
    assert proofs == {
        h
        for h in expected
        if after[h][2] > 0 and (d := hashed[h].proof_deadline()) is not None and d <= LATER
    }
    newly = {i.contact_hash for i in later.items if i.action == "purge_contact"}
    assert newly == {h for h, p in hashed.items() if p.purged_at(LATER)} - expected


def test_cli_retention_dry_run_then_run(cli) -> None:  # type: ignore[no-untyped-def]
    import json

    assert cli("init")[0] == 0
    cli(
        "record",
        "attempt",
        "--contact",
        "0612345678",
        "--channel",
        "call",
        "--at",
        "2022-01-10T11:00:00+01:00",
    )
    cli(
        "record",
        "objection",
        "--contact",
        "0698765432",
        "--source",
        "sms",
        "--at",
        "2025-06-02T11:00:00+02:00",
    )
    code, out, _ = cli(
        "retention", "run", "--dry-run", "--at", "2026-11-30T12:00:00+01:00", "--json"
    )
    dry = json.loads(out)
    assert (
        code == 0 and dry["dry_run"] and dry["contacts_purged"] == 1 and dry["objections_kept"] == 1
    )
    code, out, _ = cli("retention", "run", "--at", "2026-11-30T12:00:00+01:00", "--json")
    assert code == 0 and [i["contact_hash"] for i in json.loads(out)["items"]] == [
        i["contact_hash"] for i in dry["items"]
    ]
    code, out, _ = cli("retention", "run", "--at", "2026-11-30T12:00:00+01:00")
    assert code == 0 and out.startswith("purged: 0 contact points")
    code, out, _ = cli("audit", "verify", "--json")
    assert code == 0


def test_cli_audit_verify_holds_to_an_anchor(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert cli("init")[0] == 0
    cli("record", "objection", "--contact", "0612345678", "--source", "sms")
    code, out, _ = cli("audit", "verify", "--json")
    anchor = tmp_path / "head.json"
    anchor.write_text(out, encoding="utf-8")
    cli("record", "objection", "--contact", "0698765432", "--source", "sms")
    assert cli("audit", "verify", "--anchor", str(anchor))[0] == 0
    anchor.write_text(out.replace('"head_hash": "', '"head_hash": "0'), encoding="utf-8")
    code, out, _ = cli("audit", "verify", "--anchor", str(anchor))
    assert code == 1 and "differs from the anchored head" in out
    anchor.write_text("{}", encoding="utf-8")
    code, _, err = cli("audit", "verify", "--anchor", str(anchor))
    assert code == 2 and "--anchor" in err
