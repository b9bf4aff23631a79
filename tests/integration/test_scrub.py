"""The scrub gives, row by row, the answers of the single check (``decide`` through the gate)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from permis.bootstrap import App
from permis.domain.model import Audience, Channel, Outcome, Period, Sector, Source
from permis.domain.pressure import Policy, PolicyCap
from permis.services.gate import CheckQuery, Gate
from permis.services.lists import import_list
from permis.services.scrub import ScrubRequest, run_scrub

ROWS = 100_000


def t(text: str) -> datetime:
    return datetime.fromisoformat(text)


def written_forms(e164: str, rng: random.Random) -> str:
    """One common written form of a +33 / overseas number."""
    national = {"+33": "0", "+262": "0", "+590": "0", "+594": "0", "+596": "0"}
    for code, zero in national.items():
        if e164.startswith(code):
            digits = zero + e164[len(code) :]
            break
    else:
        return e164
    pairs = " ".join(digits[i : i + 2] for i in range(0, 10, 2))
    forms = [
        digits,
        pairs,
        pairs.replace(" ", "."),
        pairs.replace(" ", "-"),
        e164,
        e164[:3] + " " + e164[3:],
        "00" + e164[1:],
    ]
    if e164.startswith("+33"):
        forms += [digits[1:], "+33 (0)" + digits[1:], "(0)" + digits[1:]]
    return rng.choice(forms)


def pool(rng: random.Random) -> tuple[list[str], list[str]]:
    """Distinct numbers: mainland, overseas, foreign, plus invalid strings."""
    numbers = [f"+336{rng.randrange(10**7, 10**8)}" for _ in range(900)]
    numbers += [f"+337{rng.choice('5678')}{rng.randrange(10**6, 10**7)}" for _ in range(300)]
    numbers += [f"+331{rng.randrange(10**7, 10**8)}" for _ in range(200)]
    numbers += [f"+262692{rng.randrange(10**5, 10**6)}" for _ in range(60)]
    numbers += [f"+262639{rng.choice('01')}{rng.randrange(10**4, 10**5)}" for _ in range(30)]
    numbers += [f"+590690{rng.randrange(10**5, 10**6)}" for _ in range(60)]
    numbers += [f"+596696{rng.randrange(10**5, 10**6)}" for _ in range(60)]
    numbers += [f"+594694{rng.randrange(10**5, 10**6)}" for _ in range(60)]
    numbers += ["+14155550123", "+442079460000", "+4930123456", "+32470123456"]
    numbers += foreign(rng)
    invalid = [
        "tel: 06 12 34 56 78 (bureau)",
        "06 12",
        "+33 692 12 34 56",
        "n/a",
        "",
        "061234567890123",
        "abc@",
        "07-81",
    ]
    return sorted(n for n in set(numbers) if _valid(n)), invalid


US_AREAS = ("212", "415", "208", "907", "605", "808", "312", "787")  # 208, 907, 605: two zones
CA_AREAS = ("416", "604", "709", "306")  # 709: Halifax and St John's


def foreign(rng: random.Random) -> list[str]:
    """Numbers decided by the other packs: US (one or several zones), CA, UK, DE, ES, BE, IT."""
    line = lambda: f"{rng.randrange(200, 1000)}{rng.randrange(10**3, 10**4)}"  # noqa: E731
    numbers = [f"+1{rng.choice(US_AREAS)}{line()}" for _ in range(120)]
    numbers += [f"+1{rng.choice(CA_AREAS)}{line()}" for _ in range(60)]
    numbers += [f"+447{rng.choice('45789')}{rng.randrange(10**7, 10**8)}" for _ in range(40)]
    numbers += [f"+4915{rng.choice('12')}{rng.randrange(10**7, 10**8)}" for _ in range(30)]
    numbers += [f"+346{rng.randrange(10**7, 10**8)}" for _ in range(30)]
    numbers += [f"+3247{rng.randrange(10**6, 10**7)}" for _ in range(30)]
    numbers += [f"+393{rng.randrange(10**8, 10**9)}" for _ in range(20)]
    return numbers


FOREIGN_LISTS = ("us-dnc", "us-dnc-tx", "uk-tps", "uk-ctps", "ca-dncl", "es-robinson", "be-dncm")


def _valid(number: str) -> bool:
    from permis.domain.contact import parse_phone
    from permis.errors import InvalidContact

    try:
        parse_phone(number)
    except InvalidContact:
        return False
    return True


def build_register(app: App, numbers: list[str], rng: random.Random) -> None:
    reg = app.register
    for name in ("lille", "tunis"):
        reg.add_processor(None, name, ["call", "sms"])
    for i, number in enumerate(numbers[:400]):
        kind = i % 10
        if kind in (0, 1, 2, 3):
            reg.record_consent(
                principal=None,
                contact=number,
                channel=Channel.CALL,
                source=Source.WEB,
                purpose="prospecting",
                at=t("2026-09-01T10:00:00+02:00") - timedelta(days=rng.choice([0, 200, 400])),
            )
        if kind == 4:
            reg.record_objection(
                principal=None,
                contact=number,
                source=Source.AGENT,
                channel=rng.choice(["all", "call", "sms"]),
                at=t("2026-07-01T10:00:00+02:00"),
            )
        if kind in (1, 5):
            for day in range(rng.choice([3, 4, 5])):
                reg.record_attempt(
                    principal=None,
                    contact=number,
                    channel=Channel.CALL,
                    at=t("2026-07-20T10:00:00+02:00") + timedelta(days=day * 3),
                    processor=rng.choice(["lille", "tunis"]),
                    outcome=Outcome.NO_ANSWER,
                )
                reg.record_attempt(
                    principal=None,
                    contact=number,
                    channel=Channel.CALL,
                    at=t("2027-04-05T10:00:00+02:00") + timedelta(days=day * 3),
                    processor="lille",
                    outcome=Outcome.BUSY,
                )
        if kind == 6:
            reg.record_refusal(principal=None, contact=number, at=t("2026-07-15T11:00:00+02:00"))
        if kind == 7:
            reg.record_contract(
                principal=None, contact=number, start=t("2026-01-01T00:00:00+01:00")
            )
        if kind == 2:
            reg.record_budget(
                principal=None,
                contact=number,
                channel="all",
                maximum=1,
                per=Period.YEAR,
                at=t("2026-09-01T10:00:00+02:00"),
            )
            reg.record_attempt(
                principal=None,
                contact=number,
                channel=Channel.SMS,
                at=t("2026-10-01T10:00:00+02:00"),
                outcome=Outcome.SENT,
            )
        if kind == 8:
            reg.record_consent(
                principal=None,
                contact=number,
                channel=Channel.SMS,
                source=Source.SMS,
                purpose="prospecting",
                at=t("2026-03-01T10:00:00+01:00"),
            )


@pytest.fixture(scope="module")
def corpus() -> tuple[list[str], list[str], list[str]]:
    rng = random.Random(2026)
    numbers, invalid = pool(rng)
    raws = [written_forms(n, rng) for n in numbers for _ in range(2)] + invalid
    return numbers, sorted(set(raws)), invalid


def write_file(path: Path, raws: list[str], rng: random.Random) -> None:
    column = [rng.choice(raws) for _ in range(ROWS)]
    pl.DataFrame(
        {"id": [str(i) for i in range(ROWS)], "nom": ["Dupont; Émile"] * ROWS, "telephone": column}
    ).write_csv(path, separator=";")


EXPECTED_CODES = {
    "after-switch-call-mayotte-holiday": {
        "INVALID_CONTACT",
        "NO_CONSENT",
        "CONSENT_EXPIRED",
        "OBJECTION",
        "HOLIDAY",
        "OUTSIDE_HOURS",
        "LEGAL_CAP",
        "PERSONAL_BUDGET",
    },
    "before-switch-call-bloctel": {
        "OPPOSITION_LIST",
        "REFUSAL_COOLDOWN",
        "OBJECTION",
        "INVALID_CONTACT",
        "LEGAL_CAP",
    },
    "before-switch-stale-list": {"OPPOSITION_LIST_STALE"},
    "sms-renovation-processor": {"SECTOR_BAN", "NO_CONSENT"},
    "sms-policy-cap": {"POLICY_CAP", "PROCESSOR_NOT_AUTHORIZED"},
    "foreign-call-lists": {"OPPOSITION_LIST", "OUTSIDE_HOURS", "NO_CONSENT", "OBJECTION"},
    "foreign-evening-stale-lists": {"OPPOSITION_LIST_STALE", "OUTSIDE_HOURS", "NO_CONSENT"},
}
"""Together the scenarios exercise every reason code a contact can be refused with."""

SCENARIOS = [
    (
        "after-switch-call-mayotte-holiday",
        "2027-04-27T14:30:00+02:00",
        Channel.CALL,
        None,
        None,
        None,
    ),
    (
        "before-switch-call-bloctel",
        "2026-08-05T11:00:00+02:00",
        Channel.CALL,
        "2026-07-20",
        None,
        None,
    ),
    (
        "before-switch-stale-list",
        "2026-08-05T11:00:00+02:00",
        Channel.CALL,
        "2026-06-01",
        None,
        None,
    ),
    (
        "sms-renovation-processor",
        "2026-11-24T10:30:00+01:00",
        Channel.SMS,
        None,
        "tunis",
        Sector.ENERGY_RENOVATION,
    ),
    ("sms-policy-cap", "2026-11-24T10:30:00+01:00", Channel.SMS, None, "nobody", None),
    # 09:30 in New York, 06:30 in Los Angeles, 07:30/06:30 for Boise numbers, 15:30 in Paris
    ("foreign-call-lists", "2026-11-24T15:30:00+01:00", Channel.CALL, "2026-11-20", None, None),
    # 23:30 in Paris, 14:30 in Los Angeles, 22:30 in London; the lists are too old
    (
        "foreign-evening-stale-lists",
        "2026-11-24T23:30:00+01:00",
        Channel.CALL,
        "2026-09-01",
        None,
        None,
    ),
]


@pytest.mark.parametrize(
    ("name", "at", "channel", "list_as_of", "processor", "sector"),
    SCENARIOS,
    ids=[s[0] for s in SCENARIOS],
)
def test_scrub_equals_decide_row_by_row(
    app: App,
    corpus: tuple[list[str], list[str], list[str]],
    tmp_path: Path,
    name: str,
    at: str,
    channel: Channel,
    list_as_of: str | None,
    processor: str | None,
    sector: Sector | None,
) -> None:
    numbers, raws, _ = corpus
    rng = random.Random(7)
    build_register(app, numbers, rng)
    if list_as_of is not None:
        listed = tmp_path / "bloctel.txt"
        listed.write_text("\n".join(rng.sample(raws, 600)))
        import_list(app.db, "bloctel", listed, t(list_as_of + "T00:00:00+02:00"), t(at))
        for list_name in FOREIGN_LISTS:
            listed.write_text("\n".join(rng.sample(raws, 300)))
            import_list(app.db, list_name, listed, t(list_as_of + "T00:00:00+02:00"), t(at))
    policy = (
        Policy("p1", (PolicyCap("POLICY.sms-week", frozenset({"sms"}), 0, 7),))
        if name == "sms-policy-cap"
        else Policy()
    )
    source = tmp_path / "campaign.csv"
    write_file(source, raws, rng)
    out, rejects = tmp_path / "ok.csv", tmp_path / "ko.csv"
    request = ScrubRequest(
        channel, t(at), processor=processor, sector=sector, audience=Audience.CONSUMER
    )
    summary = run_scrub(app.db, app.gate.rules, source, request, out, rejects, policy)

    assert summary.input_rows == ROWS
    assert summary.allowed + summary.refused + summary.invalid == ROWS
    allowed = pl.read_csv(out, separator=";", infer_schema=False)
    refused = pl.read_csv(rejects, separator=";", infer_schema=False)
    assert allowed.height == summary.allowed
    assert refused.height == summary.refused + summary.invalid
    assert {"id", "nom", "telephone", "permis_contact", "permis_line"} <= set(allowed.columns)
    assert "permis_reasons" in refused.columns

    gate = Gate(app.db, app.gate.rules, app.clock, policy)
    expected: dict[str, tuple[bool, str]] = {}
    versions: set[str] = set()
    for raw in set(allowed["telephone"].to_list()) | set(
        refused["telephone"].fill_null("").to_list()
    ):
        decision = gate.check(CheckQuery(raw, channel, t(at), processor=processor, sector=sector))
        expected[raw] = (decision.allowed, "|".join(decision.codes))
        if decision.contact is not None:
            versions.add(decision.rules_version)
    for raw in allowed["telephone"].to_list():
        assert expected[raw] == (True, ""), raw
    for raw, codes in refused.select(
        pl.col("telephone").fill_null(""), "permis_reasons"
    ).iter_rows():
        assert expected[raw] == (False, codes), raw
    found = {code for _, codes in expected.values() for code in codes.split("|") if code}
    assert found >= EXPECTED_CODES[name], EXPECTED_CODES[name] - found
    assert set(summary.rules_version.split(",")) == versions
    assert {v.split("-")[0] for v in versions} == {"fr", "eu", "de", "es", "be", "us", "uk", "ca"}


# -- accounting on messy files -------------------------------------------------------------------

MESSY = (
    "id;nom;téléphone\r\n"
    "1;Émile;06 12 34 56 78\r\n"
    "\r\n"
    '2;"Dupont; Jean";+33 7 81 00 00 01\r\n'
    '3;"Broken; quote;0612345679\r\n'
    "4;too;many;fields;0612345670\r\n"
    "5;Zoé;n/a\r\n"
    '6;"Multi\nline";0033612345671\r\n'
    "   \r\n"
    "7;Last;0690 12 34 56\r\n"
).encode() + "8;Hélène;0612345672\r\n".encode("cp1252")


def test_every_row_of_a_messy_file_is_accounted_for(app: App, tmp_path: Path) -> None:
    source = tmp_path / "messy.csv"
    source.write_bytes(MESSY)
    out, rejects = tmp_path / "ok.csv", tmp_path / "ko.csv"
    request = ScrubRequest(Channel.SMS, t("2026-11-24T10:30:00+01:00"))
    summary = run_scrub(app.db, app.gate.rules, source, request, out, rejects)
    assert summary.input_rows == 8  # 6 readable rows and 2 broken ones; blank lines are not rows
    assert summary.allowed + summary.refused + summary.invalid == summary.input_rows
    assert summary.column == "téléphone"
    broken = {b["line"] for b in summary.broken_rows}
    assert 6 in broken  # the wrong number of fields, with its physical line number
    refused = pl.read_csv(rejects, separator=";", infer_schema=False)
    allowed = pl.read_csv(out, separator=";", infer_schema=False)
    assert allowed.height == summary.allowed
    assert refused.height == summary.refused + summary.invalid
    assert "Hélène" in refused["nom"].to_list()  # the Windows-1252 line, decoded as such
    assert set(refused["permis_line"].cast(pl.Int64).to_list()) >= broken
    assert summary.by_reason["INVALID_CONTACT"] >= 3


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"%PDF-1.7\n\x00\x01\x02\xff binary", "list.pdf", ""),
        (b"id;nom;ville\n1;Dupont;Lyon\n2;Martin;Metz\n", "no-contact.csv", "no column"),
        (b"", "empty.csv", ""),
    ],
)
def test_bad_input_is_exit_2_and_writes_nothing(
    app: App,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    content: bytes,
    name: str,
    message: str,
) -> None:
    tmp_path = tmp_path / "files"  # the SQLite register lives in tmp_path itself
    tmp_path.mkdir()
    from permis.entrypoints.cli import main

    monkeypatch.setenv("PERMIS_DATABASE_URL", database_url)
    source = tmp_path / name
    source.write_bytes(content)
    before = set(tmp_path.iterdir())
    code = main(["scrub", str(source), "--channel", "call"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error") and err.count("\n") == 1, err
    assert message in err
    assert set(tmp_path.iterdir()) == before


def test_unknown_column_and_missing_file_are_exit_2(
    app: App,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tmp_path = tmp_path / "files"  # the SQLite register lives in tmp_path itself
    tmp_path.mkdir()
    from permis.entrypoints.cli import main

    monkeypatch.setenv("PERMIS_DATABASE_URL", database_url)
    source = tmp_path / "c.csv"
    source.write_text("tel\n0612345678\n")
    assert main(["scrub", str(source), "--channel", "call", "--column", "phone"]) == 2
    assert main(["scrub", str(tmp_path / "missing.csv"), "--channel", "call"]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.csv"]
    capsys.readouterr()


def test_a_crash_leaves_no_output_under_the_final_names(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tmp_path = tmp_path / "files"  # the SQLite register lives in tmp_path itself
    tmp_path.mkdir()
    from permis.services import scrub as scrub_module

    source = tmp_path / "c.csv"
    source.write_text("tel\n" + "0612345678\n" * 10)
    calls = {"n": 0}
    original = scrub_module._account

    def failing(summary: object, decided: pl.DataFrame) -> None:
        calls["n"] += 1
        original(summary, decided)  # type: ignore[arg-type]
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(scrub_module, "_account", failing)
    with pytest.raises(RuntimeError):
        run_scrub(
            app.db,
            app.gate.rules,
            source,
            ScrubRequest(Channel.CALL, t("2026-11-24T10:30:00+01:00")),
            tmp_path / "ok.csv",
            tmp_path / "ko.csv",
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.csv"]


def test_parquet_and_xlsx_in_keep_their_format_out(app: App, tmp_path: Path) -> None:
    frame = pl.DataFrame({"id": [1, 2, 3], "mobile": ["0612345678", "n/a", "+33781000001"]})
    frame.write_parquet(tmp_path / "c.parquet")
    frame.write_excel(tmp_path / "c.xlsx")
    request = ScrubRequest(Channel.SMS, t("2026-11-24T10:30:00+01:00"))
    for name in ("c.parquet", "c.xlsx"):
        source = tmp_path / name
        summary = run_scrub(app.db, app.gate.rules, source, request, None, None)
        assert (summary.input_rows, summary.invalid) == (3, 1)
        rejects = source.with_name(f"c.rejects{source.suffix}")
        read = pl.read_parquet if name.endswith("parquet") else pl.read_excel
        assert read(rejects).height == 3  # no consent to SMS: all refused or invalid


# -- one million rows, in CI ---------------------------------------------------------------------


def test_a_million_rows(
    app: App, corpus: tuple[list[str], list[str], list[str]], tmp_path: Path
) -> None:
    numbers, raws, _ = corpus
    rng = random.Random(11)
    build_register(app, numbers, rng)
    listed = tmp_path / "bloctel.txt"
    listed.write_text("\n".join(rng.sample(raws, 600)))
    import_list(app.db, "bloctel", listed, t("2026-07-20T00:00:00+02:00"), app.clock())
    rows = 1_000_000
    source = tmp_path / "million.csv"
    index = pl.int_range(0, rows, eager=True)
    pl.DataFrame(
        {
            "id": index.cast(pl.Utf8),
            "telephone": pl.Series(raws).sample(rows, with_replacement=True, seed=3),
        }
    ).write_csv(source, separator=";")
    request = ScrubRequest(Channel.CALL, t("2026-08-05T11:00:00+02:00"))
    summary = run_scrub(app.db, app.gate.rules, source, request, None, None)
    assert summary.input_rows == rows
    assert summary.allowed + summary.refused + summary.invalid == rows
    assert summary.allowed > 0 and summary.refused > 0 and summary.invalid > 0
    assert summary.decisions < 5_000


def test_the_scenarios_cover_every_reason_code_of_a_contact() -> None:
    from permis.domain.model import ReasonCode

    campaign_level = {"BAD_SENDER_ID", "MISSING_OPTOUT"}
    every = {code.value for code in ReasonCode} - campaign_level
    assert set().union(*EXPECTED_CODES.values()) == every


def test_a_progress_bar_on_a_terminal_and_none_when_piped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io
    import sys

    from permis.entrypoints.render import progress_bar

    with progress_bar("scrubbing") as advance:
        assert advance is None  # pytest's stderr is not a terminal: nothing is drawn

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with progress_bar("scrubbing") as advance:
        assert advance is not None
        advance(1000)
