"""The policy, the pressure view and signed receipts, through the CLI and the services."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from permis.bootstrap import App
from permis.domain.model import Channel, Period, Source
from permis.errors import ConfigError, UsageError
from permis.services.gate import CheckQuery
from permis.services.policy import PolicyInvalid, set_policy, show_policy
from permis.services.receipts import ReceiptInvalid, issue_receipt, public_key, verify_receipt

from .conftest import Cli

EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "policy.toml"
SECRET = "correct horse battery staple"
NUMBER = "06 12 34 56 78"


def _json(out: str) -> dict:  # type: ignore[type-arg]
    return json.loads(out)


def test_policy_set_show_and_a_bad_file_keeps_the_previous_one(cli: Cli, tmp_path: Path) -> None:
    assert cli("init")[0] == 0
    code, out, err = cli("policy", "show", "--json")
    assert code == 0 and _json(out)["version"] is None
    assert cli("policy", "set", str(EXAMPLE))[0] == 0
    shown = _json(cli("policy", "show", "--json")[1])
    assert shown["version"] == "acme-2026-12"
    assert shown["policy"]["quiet_hours"]["call"]["hours"] == ["19:00-24:00", "00:00-10:30"]
    assert "[[caps]]" in cli("policy", "show")[1]

    bad = tmp_path / "bad.toml"
    text = EXAMPLE.read_text().replace('version = "acme-2026-12"', 'version = "acme-2027-01"')
    bad.write_text(text.replace("max = 3", "maxi = 3"))
    code, out, err = cli("policy", "set", str(bad))
    assert code == 2
    assert "error [POLICY_INVALID]: bad.toml line 21: unknown key 'maxi' in [[caps]] #1" in err
    hours = tmp_path / "hours.toml"
    hours.write_text(text.replace('"20:00-09:00"', '"20:00-24:30"'))
    code, _, err = cli("policy", "set", str(hours))
    assert code == 2 and "hours.toml line 14: hours outside 00:00-24:00" in err
    period = tmp_path / "period.toml"
    period.write_text(text.replace('per = "month"', 'per = "fortnight"'))
    code, _, err = cli("policy", "set", str(period))
    assert code == 2 and "period.toml line 28: impossible period 'fortnight'" in err
    same_version = tmp_path / "same.toml"
    same_version.write_text(EXAMPLE.read_text().replace("max = 3", "max = 4"))
    code, _, err = cli("policy", "set", str(same_version))
    assert code == 2 and "already in force with other content" in err
    assert _json(cli("policy", "show", "--json")[1])["version"] == "acme-2026-12"

    good = tmp_path / "next.toml"
    good.write_text(text)
    assert _json(cli("policy", "set", str(good), "--json")[1])["created"] is True
    again = _json(cli("policy", "set", str(good), "--json")[1])
    assert again["created"] is False and again["version"] == "acme-2027-01"
    assert cli("audit", "verify")[0] == 0


def test_the_gate_applies_the_policy_in_force_and_says_its_version(cli: Cli) -> None:
    cli("init")
    cli("record", "consent", "--contact", NUMBER, "--channel", "call", "--source", "web",
        "--at", "2026-11-01T10:00:00+01:00")  # fmt: skip
    at = ("--at", "2026-11-19T19:15:00+01:00")
    code, out, _ = cli("check", "--contact", NUMBER, "--channel", "call", *at, "--json")
    assert code == 0 and "policy_version" not in _json(out)
    cli("policy", "set", str(EXAMPLE))
    code, out, _ = cli("check", "--contact", NUMBER, "--channel", "call", *at, "--json")
    decision = _json(out)
    assert code == 1 and decision["policy_version"] == "acme-2026-12"
    assert [(r["code"], r["rule"]) for r in decision["reasons"]] == [
        ("OUTSIDE_HOURS", "POLICY.quiet_hours.call")
    ]
    assert decision["next_allowed_at"] == "2026-11-20T10:30:00+01:00"


def test_the_pressure_view_and_summary(cli: Cli) -> None:
    cli("init")
    cli("policy", "set", str(EXAMPLE))
    cli("record", "budget", "--contact", NUMBER, "--channel", "all", "--max", "2", "--per",
        "month", "--at", "2026-11-01T10:00:00+01:00")  # fmt: skip
    for when, channel, processor in (
        ("2026-11-05T11:00:00+01:00", "sms", "lille"),
        ("2026-11-18T11:00:00+01:00", "call", "tunis"),
    ):
        cli("record", "attempt", "--contact", NUMBER, "--channel", channel, "--at", when,
            "--processor", processor)  # fmt: skip
    at = ("--at", "2026-11-20T12:00:00+01:00")
    code, out, _ = cli("pressure", "--contact", NUMBER, *at, "--json")
    view = _json(out)
    assert code == 0 and view["policy_version"] == "acme-2026-12"
    call = {limit["rule"]: limit for limit in view["channels"]["call"]["limits"]}
    assert call["FR.D223-9.cap"]["used"] == 1 and call["FR.D223-9.cap"]["left"] == 3
    budget = call["PERMIS.budget.all"]
    assert (budget["used"], budget["left"], budget["at_cap"]) == (2, 0, True)
    assert budget["frees_at"] == "2026-12-05T11:00:00+01:00"
    assert call["POLICY.cap.all-week"]["used"] == 1
    assert call["POLICY.cap.phone-sms-month"]["used"] == 2
    assert call["POLICY.cap.phone-sms-month"]["frees_at"] == "2026-12-05T11:00:00+01:00"
    assert view["channels"]["email"]["left"] == 0
    assert "never" not in cli("pressure", "--contact", NUMBER, *at)[1]
    code, out, _ = cli("pressure", "--summary", *at, "--json")
    summary = _json(out)
    assert summary["people"] == 1 and summary["channels"]["sms"]["at_cap"] == 1
    assert cli("pressure", *at)[0] == 2  # neither --contact nor --summary


def test_receipts_issue_verify_and_fail_on_any_changed_byte(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PERMIS_RECEIPT_SECRET", SECRET)
    cli("init")
    code, out, _ = cli("record", "consent", "--contact", NUMBER, "--channel", "sms", "--source",
                       "web", "--at", "2026-11-01T10:00:00+01:00", "--json")  # fmt: skip
    event = _json(out)["event"]["id"]
    receipt, key = tmp_path / "receipt.jws", tmp_path / "key.json"
    assert cli("receipts", "issue", "--event", str(event), "--out", str(receipt))[0] == 0
    assert cli("receipts", "public-key", "--out", str(key))[0] == 0
    code, out, _ = cli("receipts", "verify", str(receipt), "--key", str(key), "--json")
    payload = _json(out)["receipt"]
    assert code == 0 and payload["version"] == "KI-CR-v1.1.0"
    assert payload["piiPrincipalId"] == "+33612345678"
    assert payload["permis"]["action"] == "consent_given"
    assert payload["services"][0]["purposes"][0]["purpose"] == "prospecting"
    assert cli("receipts", "verify", str(receipt))[0] == 0  # the register's published key

    jwk = json.loads(key.read_text())
    original = receipt.read_bytes()
    for index in range(len(original)):
        changed = bytearray(original)
        changed[index] = ord("A") if original[index] != ord("A") else ord("B")
        with pytest.raises(ReceiptInvalid):
            verify_receipt(changed.decode("latin-1"), jwk)
    tampered = tmp_path / "tampered.jws"
    tampered.write_bytes(original.replace(b".", b".e", 1))
    code, _, err = cli("receipts", "verify", str(tampered), "--key", str(key))
    assert code == 1 and "RECEIPT_INVALID" in err
    assert cli("audit", "verify")[0] == 0  # the key's creation is a chained event


def test_receipts_for_objections_and_budgets_only_with_the_secret(app: App) -> None:
    register = app.register
    objection = register.record_objection(
        principal=None, contact=NUMBER, source=Source.AGENT, channel="call"
    )
    budget = register.record_budget(
        principal=None, contact=NUMBER, channel="sms", maximum=0, per=Period.YEAR
    )
    attempt = register.record_attempt(principal=None, contact=NUMBER, channel=Channel.SMS)
    now = app.clock()
    with pytest.raises(ConfigError):
        issue_receipt(app.db, None, objection.event.id, "", now)
    jwk = public_key(app.db, None, SECRET, now)
    for recorded, action in ((objection, "objection_recorded"), (budget, "budget_set")):
        receipt = issue_receipt(app.db, None, recorded.event.id, SECRET, now)
        assert verify_receipt(receipt.token, jwk)["permis"]["action"] == action
    with pytest.raises(UsageError):
        issue_receipt(app.db, None, attempt.event.id, SECRET, now)
    with pytest.raises(ConfigError):  # another secret cannot open the sealed private key
        issue_receipt(app.db, None, objection.event.id, "wrong", now)
    other = public_key(app.db, None, "", now)  # reading the public key needs no secret
    assert other == jwk


def test_a_policy_change_is_a_chained_event_and_the_gate_reads_it(app: App) -> None:
    text = 'version = "calm"\n[[caps]]\nid = "none"\nchannels = ["sms"]\nmax = 0\ndays = 7\n'
    result = set_policy(app.db, None, text, app.clock())
    assert result.created and show_policy(app.db, None).version == "calm"
    with pytest.raises(PolicyInvalid):
        set_policy(app.db, None, text.replace("days = 7", "days = -7"), app.clock())
    assert show_policy(app.db, None).event_id == result.event_id
    decision = app.gate.check(CheckQuery(NUMBER, Channel.SMS))
    assert ("POLICY_CAP", "POLICY.cap.none") in [(r.code.value, r.rule) for r in decision.reasons]
    assert decision.policy_version == "calm"
    history = [e.type for e in app.register.history(None, NUMBER)]
    assert "PolicySet" not in history  # a principal's event, not a contact's
