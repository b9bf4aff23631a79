"""The demo story of DESIGN.md section 6, on a fresh embedded SQLite register.

Brand *Choucroute* prospects through its marketing department and three call centres (Lille,
Tunis, Abidjan). A consumer, called by several of them, objects to customer service; from then on
every one of them is refused. Along the way: calling hours with ``next_allowed_at``, the legal cap
over all call centres, an overseas number, a personal budget, a campaign file scrubbed in bulk,
the audit chain and the person's evidence pack.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from permis.bootstrap import App, init_register
from permis.config import Settings
from permis.domain.model import Channel, Outcome, Period, Source
from permis.entrypoints.render import decision_text, history_text
from permis.services.audit import verify
from permis.services.gate import CheckQuery

Echo = Callable[[str], None]

MARTIN = "06 12 34 56 78"
REUNION = "0692 12 34 56"
DUPONT = "+33 7 81 23 45 67"
CONSENT_TEXT = (
    "J'accepte d'être appelé(e) par Choucroute pour ses offres. "
    "Je peux retirer mon accord à tout moment."
)


class _Clock:
    """The demo's own clock: the story moves it forward."""

    def __init__(self) -> None:
        self.now = t("2026-09-02T09:00:00+02:00")

    def __call__(self) -> datetime:
        return self.now


def t(text: str) -> datetime:
    return datetime.fromisoformat(text)


def run_demo(database: Path | None, echo: Echo) -> None:
    folder = None
    if database is None:
        folder = tempfile.mkdtemp(prefix="permis-demo-")
        database = Path(folder) / "demo.db"
    if database.exists():
        database.unlink()
    clock = _Clock()
    settings = Settings.from_env(database_url=f"sqlite:///{database}")
    app = init_register(settings, "choucroute", "general", clock)
    try:
        _story(app, clock, echo)
    finally:
        app.close()
    echo(f"\nThe demo register is kept at {database} (PERMIS_DATABASE_URL=sqlite:///{database}).")


def _title(echo: Echo, text: str) -> None:
    echo(f"\n== {text} " + "=" * max(0, 74 - len(text)))


def _check(
    app: App, echo: Echo, contact: str, channel: Channel, at: str, processor: str | None = None
) -> None:
    decision = app.gate.check(CheckQuery(contact, channel, t(at), processor=processor))
    who = f"[{processor}] " if processor else ""
    echo(who + decision_text(decision).replace("\n", "\n" + " " * len(who)))


CAMPAIGN = (
    "nom;prenom;telephone;ville\n"
    "Martin;Sophie;06 12 34 56 78;Colmar\n"
    "Dupont;Marc;+33 7 81 23 45 67;Lyon\n"
    "Payet;Léa;0692 12 34 56;Saint-Denis\n"
    '"Durand; fils";Paul;0033 6 98 76 54 32;Nantes\n'
    "Bernard;Anne;06 12;Metz\n"
)


def _scrub(app: App, echo: Echo) -> None:
    import polars as pl

    from permis.entrypoints.render import scrub_text
    from permis.services.scrub import ScrubRequest, run_scrub

    _title(echo, "11. A campaign file goes through the same rules, in bulk")
    folder = Path(tempfile.mkdtemp(prefix="permis-demo-campaign-"))
    source = folder / "campagne.csv"
    source.write_text(CAMPAIGN, encoding="utf-8")
    request = ScrubRequest(Channel.CALL, t("2026-11-25T11:00:00+01:00"), processor="lille")
    summary = run_scrub(app.db, app.gate.rules, source, request, None, None)
    echo(scrub_text(summary))
    rejects = pl.read_csv(folder / "campagne.rejects.csv", separator=";", infer_schema=False)
    for nom, line, reasons in rejects.select("nom", "permis_line", "permis_reasons").iter_rows():
        echo(f"  rejected line {line} ({nom}): {reasons}")
    echo(f"allowed rows in {folder / 'campagne.allowed.csv'}, the others in campagne.rejects.csv")


def _evidence(app: App, clock: _Clock, echo: Echo) -> None:
    """Mme Martin's evidence pack, as ``permis audit export`` writes it (JSON and HTML here;
    the PDF needs Chromium, which a fresh machine may lack)."""
    from permis.entrypoints.cli_common import write_json
    from permis.entrypoints.html import evidence_html
    from permis.services.evidence import evidence_pack

    _title(echo, "13. The evidence pack for Mme Martin, for the regulator")
    pack = evidence_pack(app.db, app.gate.rules, principal=None, contact=MARTIN, now=clock.now)
    folder = Path(tempfile.mkdtemp(prefix="permis-demo-evidence-"))
    write_json(folder / "evidence.json", pack)
    (folder / "evidence.html").write_text(evidence_html(pack), encoding="utf-8")
    for consent in pack["consents"]:
        proof = consent["proof"] or {}
        echo(
            f"consent to {consent['channel']} given {consent['given_at'][:10]}"
            f" by {consent['source']}, proof {proof.get('version')}"
            f" sha256 {str(proof.get('sha256'))[:12]}…,"
            f" receipt {consent['receipt']['version']} (ISO 27560 / Kantara)"
        )
    echo(f"{len(pack['events'])} events, {len(pack['objections'])} objection(s)")
    delivered = [d for d in pack["propagation"]["deliveries"] if d["delivered_at"]]
    echo(
        f"objection delivered {len(delivered)} time(s): "
        + ", ".join(sorted(d["processor"] for d in delivered))
    )
    for decision in pack["decisions"]:
        verdict = "allowed" if decision["allowed"] else "AGAINST THE RULES"
        codes = ",".join(r["code"] for r in decision["reasons"]) or "-"
        attempt = decision["attempt"]
        echo(f"{attempt['processor']:<8} {attempt['at'][:16]} UTC: {verdict} ({codes}), replayed")
    echo(f"violations: {len(pack['propagation']['violations'])}")
    echo(f"written to {folder}/evidence.json and evidence.html (permis audit export adds the PDF)")


def _story(app: App, clock: _Clock, echo: Echo) -> None:
    _martin(app, clock, echo)
    _other_answers(app, echo)
    _scrub(app, echo)
    _title(echo, "12. The audit chain")
    for report in verify(app.db):
        state = "intact" if report.ok else f"BROKEN at event {report.broken_event_id}"
        echo(f"principal {report.principal_id}: {report.events} events, hash chain {state}")
    _evidence(app, clock, echo)


def _martin(app: App, clock: _Clock, echo: Echo) -> None:
    """Steps 1 to 6: consent, calling hours, the legal cap, the objection, its propagation and
    the late call centre."""
    from permis.entrypoints import demo_propagation

    reg = app.register
    _title(echo, "1. Choucroute and the processors who call for it")
    receivers = demo_propagation.register(app, echo)

    _title(echo, "2. Mme Martin gives her consent on the web form, with its proof")
    reg.record_consent(
        principal=None,
        contact=MARTIN,
        channel=Channel.CALL,
        source=Source.WEB,
        purpose="prospecting",
        at=t("2026-09-02T09:00:00+02:00"),
        proof=CONSENT_TEXT,
        proof_version="web-form-v3",
        actor="site web",
    )
    echo(f"consent to calls recorded for {MARTIN}, form web-form-v3, text kept as proof")

    _title(echo, "3. Tunis wants to call her on a Friday evening")
    _check(app, echo, MARTIN, Channel.CALL, "2026-11-20T21:05:00+01:00", "tunis")

    _title(echo, "4. Four call centres' attempts add up to the legal cap of 4 in 30 days")
    for who, when, outcome in (
        ("lille", "2026-11-16T10:30:00+01:00", Outcome.NO_ANSWER),
        ("tunis", "2026-11-17T11:00:00+01:00", Outcome.BUSY),
        ("abidjan", "2026-11-18T15:00:00+01:00", Outcome.VOICEMAIL),
        ("lille", "2026-11-19T16:00:00+01:00", Outcome.NO_ANSWER),
    ):
        reg.record_attempt(
            principal=None,
            contact=MARTIN,
            channel=Channel.CALL,
            at=t(when),
            processor=who,
            outcome=outcome,
        )
        echo(f"attempt by {who:<8} at {when[:16]}: {outcome.value}")
    _check(app, echo, MARTIN, Channel.CALL, "2026-11-20T10:15:00+01:00", "abidjan")

    _title(echo, "5. She calls customer service and objects; the agent records it")
    clock.now = t("2026-11-23T11:02:00+01:00")
    reg.record_objection(
        principal=None,
        contact=MARTIN,
        source=Source.AGENT,
        at=t("2026-11-23T11:02:00+01:00"),
        actor="agent service client",
    )
    committed = time.perf_counter()
    echo("objection recorded (all channels, all purposes), source: agent")
    demo_propagation.propagate(app, echo, receivers, committed)
    for who in ("lille", "tunis", "abidjan"):
        _check(app, echo, MARTIN, Channel.CALL, "2026-12-21T10:30:00+01:00", who)
    _check(app, echo, "Martin@Example.org", Channel.EMAIL, "2026-12-21T10:30:00+01:00", "marketing")
    echo("(the e-mail address is another contact point: without consent it is refused too)")

    _title(echo, "6. A late call centre still reports a call after the objection")
    reg.record_attempt(
        principal=None,
        contact=MARTIN,
        channel=Channel.CALL,
        at=t("2026-11-24T14:10:00+01:00"),
        processor="abidjan",
        outcome=Outcome.ANSWERED,
    )
    echo(history_text(reg.history(None, MARTIN)))
    demo_propagation.report_violation(app, echo)


def _other_answers(app: App, echo: Echo) -> None:
    """Steps 7 to 10: an overseas number, a personal budget, the rules before 11 Aug 2026, a
    badly written number."""
    reg = app.register
    _title(echo, "7. An overseas number at Paris office hours")
    reg.record_consent(
        principal=None,
        contact=REUNION,
        channel=Channel.CALL,
        source=Source.WEB,
        purpose="prospecting",
        at=t("2026-10-01T12:00:00+04:00"),
    )
    _check(app, echo, REUNION, Channel.CALL, "2026-11-24T18:30:00+01:00", "lille")

    _title(echo, "8. M. Dupont sets his own budget: 1 call and 4 SMS a year")
    for channel in (Channel.CALL, Channel.SMS):
        reg.record_consent(
            principal=None,
            contact=DUPONT,
            channel=channel,
            source=Source.WEB,
            purpose="prospecting",
            at=t("2026-10-05T10:00:00+02:00"),
        )
    reg.record_budget(
        principal=None,
        contact=DUPONT,
        channel="call",
        maximum=1,
        per=Period.YEAR,
        at=t("2026-10-05T10:00:00+02:00"),
    )
    reg.record_budget(
        principal=None,
        contact=DUPONT,
        channel="sms",
        maximum=4,
        per=Period.YEAR,
        at=t("2026-10-05T10:00:00+02:00"),
    )
    reg.record_attempt(
        principal=None,
        contact=DUPONT,
        channel=Channel.CALL,
        at=t("2026-11-17T10:45:00+01:00"),
        processor="tunis",
        outcome=Outcome.ANSWERED,
    )
    _check(app, echo, DUPONT, Channel.CALL, "2026-11-25T11:00:00+01:00", "lille")
    echo("(the call budget frees up on 17 Nov 2027, but his consent of 5 Oct 2026 will be older")
    echo(" than the 365-day maximum by then: nothing is allowed until he consents again)")
    _check(app, echo, DUPONT, Channel.SMS, "2026-11-25T11:00:00+01:00", "marketing")

    _title(echo, "9. Before 11 Aug 2026 calls were checked against Bloctel instead")
    _check(app, echo, DUPONT, Channel.CALL, "2026-05-04T11:00:00+02:00", "lille")

    _title(echo, "10. A number written badly is refused, never guessed")
    _check(app, echo, "tel: 06 12 34 56 78 (bureau)", Channel.CALL, "2026-11-24T11:00:00+01:00")
