"""Opposition lists: dated snapshots, validity, the gate's answers, import and export."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from permis.adapters.db import snapshots as snapshot_repo
from permis.adapters.db.migrate import upgrade
from permis.adapters.db.numbers import BLOCK, series_from_blocks
from permis.bootstrap import App
from permis.domain.model import Channel, Source
from permis.errors import UsageError
from permis.services.gate import CheckQuery
from permis.services.lists import import_list, parse_as_of, snapshots

BEFORE_SWITCH = datetime.fromisoformat("2026-08-05T11:00:00+02:00")


def t(text: str) -> datetime:
    return datetime.fromisoformat(text)


def codes(app: App, contact: str, at: datetime = BEFORE_SWITCH) -> list[str]:
    return list(app.gate.check(CheckQuery(contact, Channel.CALL, at)).codes)


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_listed_number_is_refused_in_any_written_form(app: App, tmp_path: Path) -> None:
    listed = write(tmp_path / "bloctel.txt", ["06 12 34 56 78", "+33 7 81 00 00 01", "n/a", ""])
    result = import_list(app.db, "bloctel", listed, t("2026-07-20T00:00:00+02:00"), app.clock())
    assert (result.numbers, result.invalid, result.lines) == (2, 1, 3)
    assert codes(app, "0612345678") == ["OPPOSITION_LIST"]
    assert codes(app, "0033781000001") == ["OPPOSITION_LIST"]
    assert codes(app, "06 12 34 56 79") == []


def test_no_valid_snapshot_is_a_refusal_with_stale(app: App, tmp_path: Path) -> None:
    assert codes(app, "06 12 34 56 79") == ["OPPOSITION_LIST_STALE"]  # no snapshot at all
    listed = write(tmp_path / "bloctel.txt", ["0612345678"])
    import_list(app.db, "bloctel", listed, t("2026-06-01T00:00:00+02:00"), app.clock())
    assert codes(app, "06 12 34 56 79", t("2026-06-30T11:00:00+02:00")) == []
    assert codes(app, "06 12 34 56 79", t("2026-07-01T11:00:00+02:00")) == [
        "OPPOSITION_LIST_STALE"
    ]  # 30 days of validity are over
    assert codes(app, "06 12 34 56 79", t("2026-05-29T11:00:00+02:00")) == [
        "OPPOSITION_LIST_STALE"
    ]  # a snapshot does not cover the days before it


def test_the_latest_snapshot_on_the_date_wins(app: App, tmp_path: Path) -> None:
    first = write(tmp_path / "a.txt", ["0612345678"])
    second = write(tmp_path / "b.txt", ["0612345679"])
    import_list(app.db, "bloctel", first, t("2026-07-01T00:00:00+02:00"), app.clock())
    import_list(app.db, "bloctel", second, t("2026-07-25T00:00:00+02:00"), app.clock())
    assert codes(app, "0612345678", t("2026-07-20T11:00:00+02:00")) == ["OPPOSITION_LIST"]
    assert codes(app, "0612345678", t("2026-08-05T11:00:00+02:00")) == []
    assert codes(app, "0612345679", t("2026-08-05T11:00:00+02:00")) == ["OPPOSITION_LIST"]


def test_many_numbers_span_blocks_and_every_one_is_found(app: App, tmp_path: Path) -> None:
    numbers = [f"06{i:08d}" for i in range(0, 3 * BLOCK * 7, 7)]
    listed = write(tmp_path / "big.txt", numbers + numbers[:100])
    result = import_list(app.db, "bloctel", listed, t("2026-07-20T00:00:00+02:00"), app.clock())
    assert (result.numbers, result.duplicates) == (len(numbers), 100)
    for probe in (numbers[0], numbers[BLOCK - 1], numbers[BLOCK], numbers[-1]):
        assert codes(app, probe) == ["OPPOSITION_LIST"]
    assert codes(app, "0600000001") == []
    with app.db.transaction() as cur:
        blocks = snapshot_repo.snapshot_blocks(cur, result.snapshot_id)
    every = series_from_blocks(blocks)
    assert len(blocks) == 3 and every.is_sorted() and every.n_unique() == len(numbers)


def test_a_snapshot_dated_in_the_future_is_refused(app: App, tmp_path: Path) -> None:
    listed = write(tmp_path / "bloctel.txt", ["0612345678"])
    with pytest.raises(UsageError, match="future"):
        import_list(app.db, "bloctel", listed, t("2026-12-01T00:00:00+01:00"), app.clock())
    assert snapshots(app.db) == []


def test_validity_per_list_and_override(app: App, tmp_path: Path) -> None:
    listed = write(tmp_path / "l.txt", ["+14155550123"])
    dnc = import_list(app.db, "us-dnc", listed, t("2026-11-01T00:00:00+01:00"), app.clock())
    tps = import_list(app.db, "uk-tps", listed, t("2026-11-01T00:00:00+01:00"), app.clock())
    own = import_list(app.db, "legacy", listed, t("2026-11-01T00:00:00+01:00"), app.clock(), 90)
    assert (dnc.valid_until - dnc.as_of).days == 31
    assert (tps.valid_until - tps.as_of).days == 28
    assert (own.valid_until - own.as_of).days == 90
    with pytest.raises(UsageError):
        import_list(app.db, "legacy", listed, t("2026-11-01T00:00:00+01:00"), app.clock(), 0)


def test_parse_as_of() -> None:
    assert parse_as_of("2026-07-20") == t("2026-07-20T00:00:00+02:00")
    with pytest.raises(UsageError):
        parse_as_of("20/07/2026")
    with pytest.raises(UsageError):
        parse_as_of("2026-07-20T10:00:00")


def test_migration_0002_converts_snapshots_of_0001(empty_database_url: str) -> None:
    upgrade(empty_database_url, "0001")
    from permis.adapters.db.database import Database

    db = Database(empty_database_url)
    with db.transaction(write=True) as cur:
        cur.execute(
            "INSERT INTO opposition_snapshots (id, list_name, as_of, valid_until, entries, "
            "imported_at) VALUES (1, 'bloctel', 0, 1, 2, 0)"
        )
        cur.execute(
            "INSERT INTO opposition_entries VALUES (1, '+33612345678'), (1, '+33612345677')"
        )
    db.close()
    upgrade(empty_database_url)
    with db.transaction() as cur:
        blocks = snapshot_repo.snapshot_blocks(cur, 1)
        assert snapshot_repo.load_snapshots(cur, "+33612345678")[0].listed
        assert not snapshot_repo.load_snapshots(cur, "+33612345679")[0].listed
    assert series_from_blocks(blocks).to_list() == [33612345677, 33612345678]
    db.close()


# -- the command line ----------------------------------------------------------------------------


@pytest.fixture
def ready(cli):  # type: ignore[no-untyped-def]
    assert cli("init")[0] == 0
    return cli


def test_cli_import_show_export(ready, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    listed = write(tmp_path / "bloctel.csv", ["numero", "06 12 34 56 78", "0781000001"])
    code, out, err = ready(
        "lists", "import", "bloctel", str(listed), "--as-of", "2026-11-20", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["numbers"] == 2
    code, out, _ = ready("lists", "show", "--json")
    assert [s["list"] for s in json.loads(out)["snapshots"]] == ["bloctel"]
    code, _, err = ready(
        "record",
        "consent",
        "--contact",
        "06 11 22 33 44",
        "--channel",
        "call",
        "--source",
        Source.WEB.value,
    )
    assert code == 0, err
    target = tmp_path / "to-clean.txt"
    code, out, err = ready("lists", "export", str(target), "--json")
    assert code == 0, err
    assert target.read_text() == "+33611223344\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--as-of", "2030-01-01"], "future"),
        (["--as-of", "01/01/2026"], "--as-of"),
    ],
)
def test_cli_import_bad_input_is_exit_2_and_writes_nothing(
    ready, tmp_path: Path, args: list[str], message: str
) -> None:  # type: ignore[no-untyped-def]
    listed = write(tmp_path / "bloctel.txt", ["0612345678"])
    code, _, err = ready("lists", "import", "bloctel", str(listed), *args)
    assert code == 2 and message in err and err.count("\n") == 1
    assert json.loads(ready("lists", "show", "--json")[1])["snapshots"] == []


def test_cli_import_unreadable_files_are_exit_2(ready, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    binary = tmp_path / "list.pdf"
    binary.write_bytes(b"%PDF-1.7\x00\x01\x02\xff\xfe" * 50)
    for path in (tmp_path / "missing.txt", binary, tmp_path):
        code, _, err = ready("lists", "import", "bloctel", str(path), "--as-of", "2026-11-20")
        assert code == 2 and err.startswith("error") and err.count("\n") == 1, err
    assert json.loads(ready("lists", "show", "--json")[1])["snapshots"] == []
