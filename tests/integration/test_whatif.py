"""What-if (the same file on another date, or under another date's rules) and campaign checks,
on a real register, through the service and through the command line."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from permis.bootstrap import App
from permis.domain.model import Channel, Source
from permis.errors import UsageError
from permis.services.lists import import_list
from permis.services.scrub import ScrubRequest
from permis.services.whatif import parse_on, run_whatif
from tests.integration.conftest import Cli


def t(text: str) -> datetime:
    return datetime.fromisoformat(text)


CONSENTED, CUSTOMER, LISTED, PLAIN = "0612345601", "0612345602", "0612345603", "0612345604"
US = "+1 415 555 0123"
FILE = f"id;tel\n1;{CONSENTED}\n2;{CUSTOMER}\n3;{LISTED}\n4;{PLAIN}\n5;{US}\n6;n/a\n"
BEFORE = "2026-08-05T11:00:00+02:00"  # a Wednesday under Bloctel; 02:00 in Los Angeles


def _register(app: App, tmp_path: Path) -> Path:
    reg = app.register
    reg.record_consent(
        principal=None,
        contact=CONSENTED,
        channel=Channel.CALL,
        source=Source.WEB,
        purpose="prospecting",
        at=t("2026-06-01T10:00:00+02:00"),
    )
    reg.record_contract(principal=None, contact=CUSTOMER, start=t("2026-01-01T00:00:00+01:00"))
    bloctel = tmp_path / "bloctel.txt"
    bloctel.write_text(f"{LISTED}\n")
    import_list(app.db, "bloctel", bloctel, t("2026-07-20T00:00:00+02:00"), app.clock())
    source = tmp_path / "campaign.csv"
    source.write_text(FILE)
    return source


def test_a_call_list_across_11_august_2026(app: App, tmp_path: Path) -> None:
    source = _register(app, tmp_path)
    request = ScrubRequest(Channel.CALL, t(BEFORE))
    result = run_whatif(app.db, app.gate.rules, source, request, parse_on("2026-08-12", t(BEFORE)))
    assert result.after_at == t("2026-08-12T11:00:00+02:00")
    assert (result.before.allowed, result.after.allowed) == (3, 2)
    assert result.by_reason() == {
        "INVALID_CONTACT": {"before": 1, "after": 1, "change": 0},
        "NO_CONSENT": {"before": 0, "after": 2, "change": 2},
        "OPPOSITION_LIST": {"before": 1, "after": 0, "change": -1},
        "OPPOSITION_LIST_STALE": {"before": 1, "after": 1, "change": 0},
        "OUTSIDE_HOURS": {"before": 1, "after": 1, "change": 0},
    }
    assert (result.to_refused, result.to_allowed, result.other_reasons) == (1, 0, 1)
    assert result.rows == [
        {
            "line": 4,
            "contact": "+336******03",
            "before": ["OPPOSITION_LIST"],
            "after": ["NO_CONSENT"],
        },
        {"line": 5, "contact": "+336******04", "before": [], "after": ["NO_CONSENT"]},
    ]
    assert result.before.rules_version == "fr-2025-07-02,us-2018-05-25"
    assert result.after.rules_version == "fr-2026-08-11,us-2018-05-25"


def test_the_rules_of_another_date(app: App, tmp_path: Path) -> None:
    source = _register(app, tmp_path)
    request = ScrubRequest(Channel.CALL, t(BEFORE))
    on = t("2026-08-12T11:00:00+02:00")
    result = run_whatif(app.db, app.gate.rules, source, request, on, "fr@2026-08-01")
    # Bloctel still in force for every row, the US number under the French hours (02:00 there)
    assert result.after.rules_version == "fr-2025-07-02"
    assert result.after.by_reason == {
        "INVALID_CONTACT": 1,
        "OPPOSITION_LIST": 1,
        "OUTSIDE_HOURS": 1,
    }
    assert [(r["line"], r["before"], r["after"]) for r in result.rows] == [
        (6, ["OUTSIDE_HOURS", "OPPOSITION_LIST_STALE"], ["OUTSIDE_HOURS"])
    ]
    frozen = run_whatif(app.db, app.gate.rules, source, request, on, "all@2026-08-01")
    assert frozen.after.rules_version == "fr-2025-07-02,us-2018-05-25"
    assert frozen.rows == []


def test_bad_dates_and_packs_are_usage_errors(app: App, tmp_path: Path) -> None:
    source = _register(app, tmp_path)
    request = ScrubRequest(Channel.CALL, t(BEFORE))
    with pytest.raises(UsageError):
        parse_on("12/08/2026", t(BEFORE))
    with pytest.raises(UsageError):
        parse_on("2026-08-12T11:00:00", t(BEFORE))
    with pytest.raises(UsageError):
        run_whatif(app.db, app.gate.rules, source, request, t(BEFORE), "mars@2026-01-01")


# -- the command line ----------------------------------------------------------------------------


@pytest.fixture
def ready(cli: Cli) -> Cli:
    code, out, _ = cli("init", "--principal", "choucroute")
    assert code == 0, out
    return cli


def test_whatif_command_json_and_text(ready: Cli, tmp_path: Path) -> None:
    source = tmp_path / "c.csv"
    source.write_text("tel\n0612345678\n+14155550123\n")
    args = ("whatif", str(source), "--at", BEFORE, "--on", "2026-08-12")
    code, out, err = ready(*args, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert set(data) == {"file", "before", "after", "by_reason", "flips", "rows"}
    assert data["before"]["input_rows"] == data["after"]["input_rows"] == 2
    assert data["by_reason"]["NO_CONSENT"] == {"before": 0, "after": 1, "change": 1}
    assert data["flips"] == {"to_refused": 0, "to_allowed": 0, "other_reasons": 1}
    code, out, _ = ready(*args)
    assert code == 0 and "rows that flip" in out and "OPPOSITION_LIST_STALE -> NO_CONSENT" in out
    assert "+33612345678" not in out
    assert ready(*args, "--rules", "nowhere@2026-01-01")[0] == 2
    assert ready("whatif", str(tmp_path / "missing.csv"), "--on", "2026-08-12")[0] == 2


def test_campaign_check_command(ready: Cli, tmp_path: Path) -> None:
    code, out, _ = ready(
        "campaign", "check", "--channel", "automated_call", "--sender", "0162123456", "--json"
    )
    assert code == 0 and json.loads(out)["allowed"] is True
    code, out, _ = ready(
        "campaign", "check", "--channel", "automated_call", "--sender", "0612345678", "--json"
    )
    assert code == 1
    assert [r["code"] for r in json.loads(out)["reasons"]] == ["BAD_SENDER_ID"]
    message = tmp_path / "sms.txt"
    message.write_text("Promo -20% ce week-end")
    code, out, _ = ready(
        "campaign", "check", "--channel", "sms", "--sender", "36123", "--message", str(message)
    )
    assert code == 1 and "MISSING_OPTOUT" in out
    message.write_text("Promo -20% ce week-end. STOP au 36123")
    code, _, _ = ready(
        "campaign", "check", "--channel", "sms", "--sender", "36123", "--message", str(message)
    )
    assert code == 0
    assert ready("campaign", "check", "--channel", "pigeon", "--sender", "36123")[0] == 2


def test_rules_markdown_is_docs_rules_md(ready: Cli) -> None:
    code, out, _ = ready("rules", "--markdown")
    root = Path(__file__).resolve().parents[2]
    assert code == 0
    assert out == (root / "docs" / "rules.md").read_text(encoding="utf-8")
    for pack in ("fr", "eu", "de", "es", "be", "us", "uk", "ca"):
        assert f"## Pack `{pack}`" in out


@pytest.mark.parametrize("suffix", [".parquet", ".xlsx"])
def test_whatif_reads_back_parquet_and_xlsx(app: App, tmp_path: Path, suffix: str) -> None:
    import polars as pl

    _register(app, tmp_path)
    frame = pl.DataFrame({"id": ["1", "2", "3"], "tel": [CONSENTED, PLAIN, "n/a"]})
    source = tmp_path / f"c{suffix}"
    if suffix == ".parquet":
        frame.write_parquet(source)
    else:
        frame.write_excel(source)
    request = ScrubRequest(Channel.CALL, t(BEFORE))
    result = run_whatif(app.db, app.gate.rules, source, request, t("2026-08-12T11:00:00+02:00"))
    assert (result.to_refused, result.to_allowed, result.other_reasons) == (1, 0, 0)
    assert [(r["before"], r["after"]) for r in result.rows] == [([], ["NO_CONSENT"])]


def test_a_principal_override_decides_every_contact(
    ready: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ("check", "--contact", "06 12 34 56 78", "--channel", "call", "--json")
    at = ("--at", "2026-12-02T22:00:00+01:00")  # 22:00 in Paris: outside the French hours
    code, out, _ = ready(*args, *at)
    assert code == 1 and json.loads(out)["rules_version"] == "fr-2026-08-11"
    code, out, _ = ready(
        "check", "--contact", "+1 415 555 0123", "--channel", "call", "--json", *at
    )
    assert json.loads(out)["rules_version"] == "us-2018-05-25"
    monkeypatch.setenv("PERMIS_RULE_PACK_OVERRIDES", "choucroute=us")
    code, out, _ = ready(*args, *at)
    decision = json.loads(out)
    assert decision["rules_version"] == "us-2018-05-25"  # the US pack: 8am-9pm, the registry
    assert [r["code"] for r in decision["reasons"]] == ["OUTSIDE_HOURS", "OPPOSITION_LIST_STALE"]
    assert decision["reasons"][0]["rule"] == "US.TCPA.hours"
    monkeypatch.setenv("PERMIS_RULE_PACK_OVERRIDES", "choucroute=mars")
    code, _, err = ready(*args, *at)
    assert code == 2 and "CONFIG_ERROR" in err
