"""The command line through its entry point, on a real register (SQLite or PostgreSQL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from permis.adapters.db.database import HEAD_REVISION, Database
from permis.entrypoints.cli import main


@pytest.fixture
def ready(cli):  # type: ignore[no-untyped-def]
    code, out, _ = cli("init", "--principal", "choucroute")
    assert code == 0, out
    return cli


def test_init_is_idempotent_and_creates_the_head_schema(cli, empty_database_url: str) -> None:  # type: ignore[no-untyped-def]
    assert cli("init")[0] == 0
    assert cli("init")[0] == 0
    assert Database(empty_database_url).schema_revision() == HEAD_REVISION


def test_check_exit_codes_and_json_contract(ready) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = ready(
        "check",
        "--contact",
        "06 12 34 56 78",
        "--channel",
        "call",
        "--at",
        "2026-11-20T21:05:00+01:00",
        "--json",
    )
    assert code == 1
    decision = json.loads(out)
    assert set(decision) >= {
        "allowed",
        "contact",
        "channel",
        "at",
        "local_time",
        "reasons",
        "next_allowed_at",
        "rules_version",
    }
    assert decision["allowed"] is False
    assert decision["contact"] == "+33612345678"
    assert decision["local_time"] == "2026-11-20T21:05:00+01:00"
    assert decision["rules_version"] == "fr-2026-08-11"
    codes = [r["code"] for r in decision["reasons"]]
    assert codes == ["NO_CONSENT", "OUTSIDE_HOURS"]
    hours = decision["reasons"][1]
    assert hours["rule"] == "FR.D223-9.hours"
    assert hours["until"] == "2026-11-23T10:00:00+01:00"
    assert set(hours) == {"code", "rule", "reference", "message", "until"}
    assert decision["next_allowed_at"] is None  # no consent never lapses on its own

    assert (
        ready(
            "record",
            "consent",
            "--contact",
            "0612345678",
            "--channel",
            "call",
            "--source",
            "web",
            "--at",
            "2026-09-01T10:00:00+02:00",
        )[0]
        == 0
    )
    code, out, _ = ready(
        "check",
        "--contact",
        "+33 6 12 34 56 78",
        "--channel",
        "call",
        "--at",
        "2026-11-20T21:05:00+01:00",
        "--json",
    )
    decision = json.loads(out)
    assert code == 1 and decision["next_allowed_at"] == "2026-11-23T10:00:00+01:00"
    code, out, _ = ready(
        "check",
        "--contact",
        "+33 6 12 34 56 78",
        "--channel",
        "call",
        "--at",
        "2026-11-23T10:00:00+01:00",
    )
    assert code == 0 and out.startswith("ALLOWED")


def test_unparseable_contact_is_a_refusal_with_exit_1(ready) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = ready(
        "check",
        "--contact",
        "tel: 06 12 34 56 78 (bureau)",
        "--channel",
        "call",
        "--at",
        "2026-11-24T10:30:00+01:00",
        "--json",
    )
    assert code == 1
    decision = json.loads(out)
    assert [r["code"] for r in decision["reasons"]] == ["INVALID_CONTACT"]
    assert decision["next_allowed_at"] is None


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--at", "2026-11-20T21:05:00"], "no UTC offset"),
        (["--at", "tomorrow"], "not an ISO 8601 time"),
        (["--channel", "pigeon"], "unknown value 'pigeon'"),
    ],
)
def test_malformed_check_is_one_line_and_exit_2(ready, args: list[str], fragment: str) -> None:  # type: ignore[no-untyped-def]
    base = {"--contact": "0612345678", "--channel": "call", "--at": "2026-11-24T10:30:00+01:00"}
    for key, value in zip(args[::2], args[1::2], strict=True):
        base[key] = value
    flat = [x for kv in base.items() for x in kv]
    code, out, err = ready("check", *flat)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and fragment in err and err.startswith("error")


def test_missing_option_is_one_line_and_exit_2(ready) -> None:  # type: ignore[no-untyped-def]
    code, out, err = ready("check", "--channel", "call")
    assert code == 2 and out == "" and err.count("\n") == 1 and "--contact" in err


def test_bad_record_writes_nothing(ready, empty_database_url: str) -> None:  # type: ignore[no-untyped-def]
    assert (
        ready(
            "record",
            "objection",
            "--contact",
            "0612345678",
            "--source",
            "agent",
            "--at",
            "2026-11-24 10:30",
        )[0]
        == 2
    )
    assert (
        ready("record", "objection", "--contact", "0612345678", "--source", "fax-machine")[0] == 2
    )
    code, _, err = ready("record", "objection", "--contact", "not a number", "--source", "agent")
    assert code == 1 and "INVALID_CONTACT" in err and "not a number" not in err
    db = Database(empty_database_url)
    with db.transaction() as cur:
        assert cur.execute("SELECT count(*) FROM objections") == [(0,)]
    db.close()


def test_every_record_verb(ready) -> None:  # type: ignore[no-untyped-def]
    c = ["--contact", "07 81 23 45 67"]
    assert (
        ready(
            "record",
            "consent",
            *c,
            "--channel",
            "sms",
            "--source",
            "web",
            "--proof",
            "Oui aux SMS",
            "--expires",
            "2027-09-01T00:00:00+02:00",
        )[0]
        == 0
    )
    assert ready("record", "objection", *c, "--channel", "email", "--source", "email")[0] == 0
    assert ready("record", "refusal", *c, "--processor", "lille")[0] == 0
    assert (
        ready(
            "record",
            "contract",
            *c,
            "--start",
            "2026-01-01T00:00:00+01:00",
            "--object",
            "assurance",
        )[0]
        == 0
    )
    assert ready("record", "attempt", *c, "--channel", "call", "--outcome", "busy")[0] == 0
    assert ready("record", "budget", *c, "--channel", "all", "--max", "3", "--per", "month")[0] == 0
    _, out, _ = ready("history", *c, "--json")
    types = [e["type"] for e in json.loads(out)["events"]]
    assert types == [
        "ConsentGiven",
        "ObjectionRecorded",
        "RefusalRecorded",
        "ContractRecorded",
        "AttemptRecorded",
        "BudgetSet",
    ]


def test_idempotent_record_returns_the_first_result(ready) -> None:  # type: ignore[no-untyped-def]
    args = (
        "record",
        "objection",
        "--contact",
        "0612345678",
        "--source",
        "sms",
        "--idempotency-key",
        "k1",
        "--json",
    )
    first = json.loads(ready(*args)[1])
    second = json.loads(ready(*args)[1])
    assert first["created"] is True and second["created"] is False
    assert first["event"] == second["event"]


def test_uninitialised_register_names_the_command_to_run(cli) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli("check", "--contact", "0612345678", "--channel", "call")
    assert code == 3 and "permis init" in err


def test_outdated_schema_names_the_command_to_run(ready, empty_database_url: str) -> None:  # type: ignore[no-untyped-def]
    db = Database(empty_database_url)
    with db.transaction(write=True) as cur:
        cur.execute("UPDATE alembic_version SET version_num = '0000'")
    db.close()
    code, _, err = ready("check", "--contact", "0612345678", "--channel", "call")
    assert code == 3 and "permis init" in err and "upgrade" in err


def test_unreachable_database_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PERMIS_DATABASE_URL", "postgresql://nobody:secret@127.0.0.1:1/none")
    code = main(["check", "--contact", "0612345678", "--channel", "call"])
    err = capsys.readouterr().err
    assert code == 3 and "Cannot reach PostgreSQL" in err and "secret" not in err


def test_audit_verify(ready) -> None:  # type: ignore[no-untyped-def]
    ready("record", "objection", "--contact", "0612345678", "--source", "agent")
    code, out, _ = ready("audit", "verify", "--json")
    assert code == 0 and json.loads(out)["ok"] is True


def test_console_script_runs_as_a_process(empty_database_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "PERMIS_DATABASE_URL": empty_database_url}
    exe = Path(sys.executable).parent / "permis"
    subprocess.run([exe, "init"], env=env, check=True, capture_output=True)
    proc = subprocess.run(
        [
            exe,
            "check",
            "--contact",
            "achats@entreprise.fr",
            "--channel",
            "email",
            "--audience",
            "professional",
            "--at",
            "2026-11-24T10:30:00+01:00",
        ],
        env=env,
        check=False,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("ALLOWED")


def test_the_demo_tells_the_whole_story(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--database", str(tmp_path / "demo.db")]) == 0
    out = capsys.readouterr().out
    for expected in (
        "OUTSIDE_HOURS",
        "LEGAL_CAP",
        "OBJECTION",
        "PERSONAL_BUDGET",
        "OPPOSITION_LIST_STALE",
        "INVALID_CONTACT",
        "5 rows: 1 allowed, 3 refused, 1 invalid",
        "rejected line 2 (Martin): OBJECTION|LEGAL_CAP",
        "hash chain intact",
        "objection delivered 4 time(s): abidjan, lille, marketing, tunis",
        "abidjan  2026-11-24T13:10 UTC: AGAINST THE RULES (OBJECTION,LEGAL_CAP), replayed",
        "violations: 1",
    ):
        assert expected in out, expected
