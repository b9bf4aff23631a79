"""Campaign files in and out (``permis.adapters.files``), on real files written in tmp_path."""

from __future__ import annotations

import csv
import io
import os
import random
import zipfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter
from hypothesis import given, settings
from hypothesis import strategies as st

from permis.adapters import _csv, files
from permis.adapters.files import BrokenRow, FileFormat, FileInfo
from permis.errors import UsageError

LINE = "permis_line"


@dataclass
class Read:
    table: pl.DataFrame
    broken: list[BrokenRow]
    blank_lines: int
    sizes: list[int]  # rows per batch

    @property
    def batches(self) -> int:
        return len(self.sizes)


def read(path: Path, info: FileInfo | None = None, **options: int) -> Read:
    info = info or files.sniff(path)
    batches = list(files.read_batches(path, info, **options))
    return Read(
        pl.concat([b.table for b in batches]),
        [r for b in batches for r in b.broken],
        sum(b.blank_lines for b in batches),
        [b.table.height for b in batches],
    )


def write(path: Path, text: str | bytes, encoding: str = "utf-8") -> Path:
    path.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))
    return path


def rows(table: pl.DataFrame) -> list[tuple[object, ...]]:
    return table.rows()


# ---------------------------------------------------------------------------------------------
# CSV dialects
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sep", [";", ",", "\t", "|"], ids=["semicolon", "comma", "tab", "pipe"])
def test_each_separator_is_detected_and_respects_quotes(tmp_path: Path, sep: str) -> None:
    text = (
        f"nom{sep}telephone{sep}ville\n"
        f'"Dupont{sep} Jean"{sep}06 12 34 56 78{sep}Paris\n'
        f"Martin{sep}+33698765432{sep}Lyon\n"
        f"Durand{sep}0611223344{sep}Nice\n"
    )
    path = write(tmp_path / "f.csv", text)
    info = files.sniff(path)
    assert (info.format, info.separator, info.has_header) == (FileFormat.CSV, sep, True)
    got = read(path)
    assert got.table.columns == ["nom", "telephone", "ville", LINE]
    assert rows(got.table)[0] == (f"Dupont{sep} Jean", "06 12 34 56 78", "Paris", 2)
    assert got.table[LINE].to_list() == [2, 3, 4]
    assert got.broken == [] and got.blank_lines == 0


def test_semicolon_wins_over_decimal_commas(tmp_path: Path) -> None:
    path = write(tmp_path / "f.csv", "id;montant;tel\n1;12,5;0612345678\n2;7,25;0698765432\n")
    assert files.sniff(path).separator == ";"


def test_forced_separator_and_header(tmp_path: Path) -> None:
    path = write(tmp_path / "f.txt", "a|b\n0612345678|x\n")
    info = files.sniff(path, separator="pipe", has_header=False)
    assert (info.separator, info.has_header) == ("|", False)
    assert rows(read(path, info).table) == [("a", "b", 1), ("0612345678", "x", 2)]
    with pytest.raises(UsageError, match="separator"):
        files.sniff(path, separator="ab")


@pytest.mark.parametrize(
    ("encoding", "label"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("cp1252", "cp1252"), ("latin-1", "cp1252")],
)
def test_each_encoding(tmp_path: Path, encoding: str, label: str) -> None:
    euro = "€ " if encoding != "latin-1" else ""
    text = f"nom;tel;note\nHélène Çà;0612345678;{euro}déjà vu\nZoë;0698765432;garçon\n"
    path = write(tmp_path / "f.csv", text, encoding)
    info = files.sniff(path)
    assert info.encoding == label
    got = read(path)
    assert got.table.columns == ["nom", "tel", "note", LINE]  # no BOM in the first name
    assert rows(got.table) == [
        ("Hélène Çà", "0612345678", f"{euro}déjà vu", 2),
        ("Zoë", "0698765432", "garçon", 3),
    ]


def test_latin1_is_named_when_bytes_undefined_in_cp1252_occur(tmp_path: Path) -> None:
    path = write(tmp_path / "f.csv", b"nom;tel\nA\x81b\xe9;0612345678\n")
    assert files.sniff(path).encoding == "latin-1"
    assert rows(read(path).table) == [("A\x81bé", "0612345678", 2)]


def test_mixed_encodings_are_decoded_line_by_line(tmp_path: Path) -> None:
    lines = [b"nom;tel"]
    expected = []
    for i in range(300):  # more cp1252 lines than one repair pass handles: both strategies
        name = f"Hélène{i} Lefèvre’s"
        raw = name.encode("cp1252" if i % 3 == 0 else "utf-8")
        lines.append(raw + f";06{i:08d}".encode())
        expected.append(name)
    path = write(tmp_path / "f.csv", b"\n".join(lines) + b"\n")
    assert files.sniff(path).encoding == "utf-8"
    table = read(path).table
    assert table["nom"].to_list() == expected
    assert not table["nom"].str.contains("\ufffd").any()


@pytest.mark.parametrize("share", [0.0, 0.01, 0.3, 0.7, 0.99, 1.0])
def test_both_decoding_strategies_agree(share: float) -> None:
    rng = random.Random(share)
    words = ["Hélène", "Œuvre", "déjà", "€5", "naïve’s", "plain"]
    lines = [
        " ".join(rng.choices(words, k=3)).encode("cp1252" if rng.random() < share else "utf-8")
        for _ in range(2000)
    ]
    raw = b"\n".join(lines)
    expected = b"\n".join(
        line if _is_utf8(line) else line.decode("cp1252").encode() for line in lines
    )
    assert _csv.to_utf8(raw, legacy=False) == expected
    assert _csv.to_utf8(raw, legacy=True) == expected


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def test_mostly_cp1252_file_keeps_its_utf8_lines(tmp_path: Path) -> None:
    body = ["Orléans;0612345678".encode("cp1252")] * 5 + ["Orléans;0612345678".encode()]
    path = write(tmp_path / "f.csv", b"ville;tel\n" + b"\n".join(body))
    assert files.sniff(path).encoding == "cp1252"
    assert read(path).table["ville"].to_list() == ["Orléans"] * 6


def test_quoted_fields_crlf_embedded_newlines_and_doubled_quotes(tmp_path: Path) -> None:
    text = (
        "nom;adresse;tel\r\n"
        'Dupont;"12 rue des Lilas\r\n75001 Paris";0612345678\r\n'
        'Martin;"dit ""le grand""; vraiment";0698765432\r\n'
        '"";"";0611111111\r\n'
        "Durand;Nice;0622222222"  # no newline at the end
    )
    got = read(write(tmp_path / "f.csv", text))
    assert rows(got.table) == [
        ("Dupont", "12 rue des Lilas\n75001 Paris", "0612345678", 2),  # line breaks: \n
        ("Martin", 'dit "le grand"; vraiment', "0698765432", 4),
        ("", "", "0611111111", 5),
        ("Durand", "Nice", "0622222222", 6),
    ]


def test_quote_inside_an_unquoted_field_is_text(tmp_path: Path) -> None:
    got = read(write(tmp_path / "f.csv", 'nom;ecran;tel\nA;15" plat;0612345678\nB;x;0698765432\n'))
    assert rows(got.table)[0] == ("A", '15" plat', "0612345678", 2)
    assert got.broken == []


def test_header_detection(tmp_path: Path) -> None:
    data = write(tmp_path / "a.csv", "Dupont;0612345678\nMartin;0698765432\n")
    info = files.sniff(data)
    assert not info.has_header
    got = read(data)
    assert got.table.columns == ["column_1", "column_2", LINE]
    assert got.table[LINE].to_list() == [1, 2]
    named = write(tmp_path / "b.csv", "Nom;Téléphone\nDupont;0612345678\n")
    assert files.sniff(named).has_header


def test_header_names_are_made_unique(tmp_path: Path) -> None:
    path = write(tmp_path / "f.csv", "nom; ;nom;permis_line\nA;B;C;7\n")
    table = read(path).table
    assert table.columns == ["nom", "column_2", "nom_2", "permis_line_previous", LINE]
    assert rows(table) == [("A", "B", "C", "7", 2)]


def test_trailing_separator_on_data_lines_only(tmp_path: Path) -> None:
    path = write(tmp_path / "f.csv", "nom;tel\nA;0612345678;\nB;0698765432;\n")
    got = read(path)
    assert got.table.columns == ["nom", "tel", "column_3", LINE]
    assert got.broken == []


# ---------------------------------------------------------------------------------------------
# broken rows, blank lines, accounting
# ---------------------------------------------------------------------------------------------

SECRET = "Zorglub"


def test_ragged_rows_and_blank_lines_are_accounted_for(tmp_path: Path) -> None:
    text = (
        "nom;tel;ville\n"  # 1
        "A;0612345678;Paris\n"  # 2
        "\n"  # 3 blank
        f"{SECRET};0612345678\n"  # 4 too few
        "  ; ;\t\n"  # 5 blank (spaces and separators)
        f"{SECRET};0612345678;x;y\n"  # 6 too many
        "B;0698765432;Lyon\n"  # 7
        "\n"  # 8 blank
    )
    got = read(write(tmp_path / "f.csv", text))
    assert got.table[LINE].to_list() == [2, 7]
    assert got.broken == [
        BrokenRow(4, "2 fields where 3 were expected"),
        BrokenRow(6, "4 fields where 3 were expected"),
    ]
    assert got.blank_lines == 3


def test_unbalanced_quote_breaks_one_row_only(tmp_path: Path) -> None:
    text = (
        "nom;tel;ville\n"  # 1
        f'A;"{SECRET};Paris\n'  # 2: the quote never closes
        "B;0612345678;Lyon\n"  # 3
        'C;0698765432;"Saint-Denis; Réunion"\n'  # 4
        'D;"0611111111";Nice\n'  # 5
        f'E;0622222222;"{SECRET}\n'  # 6: open until the end of the file
        "F;0633333333;Lille\n"  # 7
    )
    got = read(write(tmp_path / "f.csv", text))
    assert got.table["nom"].to_list() == ["B", "C", "D", "F"]
    assert got.table[LINE].to_list() == [3, 4, 5, 7]
    assert [b.line for b in got.broken] == [2, 6]
    assert got.broken[1].reason == "quoted field not closed before the end of the file"
    assert all(SECRET not in b.reason for b in got.broken)


def test_quote_open_for_too_many_lines_is_broken_and_reading_resumes(tmp_path: Path) -> None:
    body = [f"x{i};06{i:08d}" for i in range(150)]
    path = write(tmp_path / "f.csv", "nom;tel\n" + 'bad;"06\n' + "\n".join(body) + '\nlast;"z"\n')
    got = read(path, chunk_bytes=512)
    assert got.broken == [BrokenRow(2, "quoted field not closed within 100 lines")]
    assert got.table.height == 151
    assert got.table[LINE].to_list() == list(range(3, 154))


def test_text_after_closing_quote_is_broken(tmp_path: Path) -> None:
    got = read(write(tmp_path / "f.csv", 'nom;tel\n"A"B;0612345678\nC;0698765432\n'))
    assert got.broken == [BrokenRow(2, "text after a closing quote")]
    assert got.table[LINE].to_list() == [3]


@dataclass
class Messy:
    """A generated file and what reading it must give."""

    lines: list[bytes] = field(default_factory=list)
    rows: list[tuple[str, str, str, int]] = field(default_factory=list)
    broken: list[int] = field(default_factory=list)
    blank: int = 0

    def add(self, raw: str | bytes, row: tuple[str, str, str] | None = None) -> None:
        number = len(self.lines) + 1
        if row is not None:
            self.rows.append((*row, number))
        data = raw if isinstance(raw, bytes) else raw.encode()
        self.lines.extend(data.split(b"\n"))


def messy(rng: random.Random, count: int, eol: str) -> Messy:
    file = Messy()
    file.add("id;nom;tel")
    for i in range(count):
        tel = f"06{i:08d}"
        kind = rng.choices(range(10), weights=[40, 6, 6, 4, 4, 3, 3, 3, 3, 3])[0]
        if kind == 0:
            file.add(f"{i};Nom{i};{tel}", (str(i), f"Nom{i}", tel))
        elif kind == 1:
            file.add(f'{i};"Dupont; Jean";{tel}', (str(i), "Dupont; Jean", tel))
        elif kind == 2:
            file.add(f'{i};"rue{eol}Paris";{tel}', (str(i), "rue\nParis", tel))
        elif kind == 3:
            file.add(f'{i};"dit ""X""";{tel}', (str(i), 'dit "X"', tel))
        elif kind == 4:
            file.add(f"{i};Orléans;{tel}".encode("cp1252"), (str(i), "Orléans", tel))
        elif kind == 5:
            file.add(rng.choice(["", "  ", ";;", " ; ;\t"]))
            file.blank += 1
        elif kind in (6, 7):
            file.broken.append(len(file.lines) + 1)
            file.add(f"{i};{SECRET}" if kind == 6 else f"{i};{SECRET};{tel};x")
        else:
            file.broken.append(len(file.lines) + 1)
            file.add(f'{i};"{SECRET};{tel}')
    return file


@pytest.mark.parametrize("eol", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_every_line_is_accounted_for_whatever_the_chunks(tmp_path: Path, eol: str) -> None:
    file = messy(random.Random(eol), 400, eol)
    data = eol.encode().join(line.removesuffix(b"\r") for line in file.lines) + eol.encode()
    path = write(tmp_path / "messy.csv", data)
    info = files.sniff(path)
    assert (info.separator, info.has_header) == (";", True)
    for chunk_bytes, batch_rows in [(files.CHUNK_BYTES, 1_000_000), (211, 7), (1500, 50)]:
        got = read(path, info, chunk_bytes=chunk_bytes, batch_rows=batch_rows)
        assert rows(got.table) == file.rows, chunk_bytes
        assert [b.line for b in got.broken] == file.broken, chunk_bytes
        assert got.blank_lines == file.blank
        assert all(SECRET not in b.reason for b in got.broken)
        assert got.table.height + len(got.broken) + got.blank_lines + 1 == len(file.lines) - sum(
            r[1].count("\n") for r in file.rows
        )
        assert max(got.sizes) <= batch_rows and got.sizes[0] > 0


CELL = st.text(alphabet='ab é€’;,|\t"\n', max_size=8)


@settings(max_examples=60, deadline=None)
@given(
    records=st.lists(st.lists(CELL, min_size=3, max_size=3), max_size=30),
    sep=st.sampled_from([";", ",", "\t", "|"]),
    encoding=st.sampled_from(["utf-8", "cp1252"]),
    eol=st.sampled_from(["\n", "\r\n"]),
    chunk_bytes=st.integers(min_value=1, max_value=400),
)
def test_what_python_csv_writes_is_read_back(
    tmp_path_factory: pytest.TempPathFactory,
    records: list[list[str]],
    sep: str,
    encoding: str,
    eol: str,
    chunk_bytes: int,
) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=sep, lineterminator=eol)
    writer.writerow(["id", "a", "b", "c"])
    writer.writerows([str(i), *r] for i, r in enumerate(records))
    path = tmp_path_factory.mktemp("prop") / "f.csv"
    write(path, buffer.getvalue(), encoding)
    info = FileInfo(FileFormat.CSV, encoding, sep, True)
    got = read(path, info, chunk_bytes=chunk_bytes, batch_rows=5)
    assert got.broken == [] and got.blank_lines == 0
    assert [r[:4] for r in rows(got.table)] == [(str(i), *r) for i, r in enumerate(records)]


@settings(max_examples=80, deadline=None)
@given(
    body=st.text(alphabet='a ;"\n\ré\t', max_size=300),
    chunk_bytes=st.integers(min_value=1, max_value=120),
)
def test_any_text_reads_the_same_whatever_the_chunks_and_accounts_for_every_line(
    tmp_path_factory: pytest.TempPathFactory, body: str, chunk_bytes: int
) -> None:
    data = ("h1;h2;h3\n" + body).encode()
    path = write(tmp_path_factory.mktemp("any") / "f.csv", data)
    info = FileInfo(FileFormat.CSV, "utf-8", ";", True)
    whole, small = read(path, info), read(path, info, chunk_bytes=chunk_bytes, batch_rows=3)
    assert rows(small.table) == rows(whole.table)
    assert (small.broken, small.blank_lines) == (whole.broken, whole.blank_lines)
    inside = sum(str(v).count("\n") for row in rows(whole.table) for v in row[:-1])
    physical = data.count(b"\n") + (not data.endswith(b"\n"))
    assert 1 + whole.blank_lines + whole.table.height + inside + len(whole.broken) == physical


def test_quoted_newline_across_a_chunk_boundary(tmp_path: Path) -> None:
    head = "nom;adresse;tel\n" + "".join(f"n{i};a{i};06{i:08d}\n" for i in range(20))
    path = write(tmp_path / "f.csv", head + 'X;"1 rue\n2e étage\n75001 Paris";0612345678\nY;b;c\n')
    boundary = len(head.encode()) + 5  # inside the quoted field
    for chunk_bytes in (boundary, boundary + 12, 64):
        got = read(path, chunk_bytes=chunk_bytes, batch_rows=4)
        assert got.table.height == 22 and got.broken == []
        assert rows(got.table)[20] == ("X", "1 rue\n2e étage\n75001 Paris", "0612345678", 22)
        assert rows(got.table)[21][3] == 25
        assert got.batches > 1


def test_multiline_values_keep_their_line_numbers(tmp_path: Path) -> None:
    body = "".join(f'n{i};"a\nb";06{i:08d}\n' if i % 3 == 0 else f"n{i};a;0{i}\n" for i in range(9))
    got = read(write(tmp_path / "f.csv", "nom;adr;tel\n" + body))
    assert got.table[LINE].to_list() == [2, 4, 5, 6, 8, 9, 10, 12, 13]


def test_large_file_default_chunks(tmp_path: Path) -> None:
    lines = [f"{i};Nom {i};06{i:08d};{'x' * (i % 50)}" for i in range(40_000)]  # > 1 MiB
    lines[30_000] = '30000;"Nom;0612345678;x'  # sniffing reads only the first MiB
    path = write(tmp_path / "f.csv", "id;nom;tel;note\n" + "\n".join(lines) + "\n")
    info = files.sniff(path)
    assert (info.separator, info.has_header) == (";", True)
    got = read(path, info, batch_rows=15_000)
    assert got.batches == 3
    assert got.table.height == 39_999
    assert got.broken == [BrokenRow(30_002, "quoted field not closed within 100 lines")]
    assert got.table.filter(pl.col("id") == "30001")[LINE].to_list() == [30_003]


def test_header_only_file_gives_one_empty_batch(tmp_path: Path) -> None:
    got = read(write(tmp_path / "f.csv", "nom;tel\n\n"))
    assert got.batches == 1 and got.table.height == 0 and got.blank_lines == 1
    assert got.table.columns == ["nom", "tel", LINE]


# ---------------------------------------------------------------------------------------------
# Parquet and XLSX
# ---------------------------------------------------------------------------------------------


def test_parquet_keeps_dtypes_and_numbers_rows(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {
            "id": pl.Series(range(5), dtype=pl.Int64),
            "tel": [f"06{i:08d}" for i in range(5)],
            "score": [0.5] * 5,
            "seen": [date(2026, 1, i + 1) for i in range(5)],
            LINE: [9] * 5,
        }
    )
    path = tmp_path / "in.data"  # the name says nothing: the content does
    frame.write_parquet(path, row_group_size=2)
    info = files.sniff(path)
    assert info == FileInfo(FileFormat.PARQUET, "utf-8", ";", True)
    got = read(path, info, batch_rows=2)
    assert got.batches == 3
    assert got.table.schema["id"] == pl.Int64 and got.table.schema["seen"] == pl.Date
    assert got.table["permis_line_previous"].to_list() == [9] * 5
    assert got.table[LINE].to_list() == [2, 3, 4, 5, 6]
    assert files.guess_contact_column(got.table) == "tel"


def make_xlsx(path: Path) -> Path:
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("Contacts")
    sheet.write_row(1, 0, ["Nom", "Portable", "Note"])  # row 1 empty, header on row 2
    sheet.write_row(2, 0, ["Dupont", 612345678, 1.5])
    sheet.write_row(3, 0, ["Martin", "06 98 76 54 32", None])
    sheet.write_row(5, 0, ["Durand", 33611223344])  # row 5 empty
    sheet.write_string(5, 2, "=x")
    workbook.close()
    return path


def test_xlsx_cells_are_text_and_rows_are_sheet_rows(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "contacts.csv")  # a misleading name
    info = files.sniff(path)
    assert (info.format, info.has_header) == (FileFormat.XLSX, True)
    got = read(path)
    assert got.table.columns == ["Nom", "Portable", "Note", LINE]
    assert rows(got.table) == [
        ("Dupont", "612345678", "1.5", 3),
        ("Martin", "06 98 76 54 32", None, 4),
        ("Durand", "33611223344", "=x", 6),
    ]
    assert got.blank_lines == 2
    assert files.guess_contact_column(got.table) == "Portable"


def test_xlsx_without_header(tmp_path: Path) -> None:
    workbook = xlsxwriter.Workbook(str(tmp_path / "f.xlsx"))
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, ["Dupont", 612345678])
    sheet.write_row(1, 0, ["Martin", 698765432.0])
    workbook.close()
    info = files.sniff(tmp_path / "f.xlsx")
    assert not info.has_header
    got = read(tmp_path / "f.xlsx", info)
    assert rows(got.table) == [("Dupont", "612345678", 1), ("Martin", "698765432", 2)]
    assert files.guess_contact_column(got.table) == "column_2"


def test_xlsx_out_and_back(tmp_path: Path) -> None:
    table = read(make_xlsx(tmp_path / "in.xlsx")).table
    out = tmp_path / "out.xlsx"
    writer = files.open_writer(out, table.columns, files.sniff(tmp_path / "in.xlsx"))
    writer.write(table)
    writer.close()
    back = pl.read_excel(out, infer_schema_length=0)
    assert back["Portable"].to_list() == ["612345678", "06 98 76 54 32", "33611223344"]
    assert back["Note"].to_list()[2] == "=x"  # a string, not a formula


def test_xlsx_writer_refuses_more_rows_than_a_sheet_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files, "XLSX_MAX_ROWS", 3)
    writer = files.open_writer(
        tmp_path / "o.xlsx", ["a"], FileInfo(FileFormat.CSV, "utf-8", ";", True)
    )
    writer.write(pl.DataFrame({"a": ["1", "2"]}))
    with pytest.raises(UsageError, match="at most 2 rows"):
        writer.write(pl.DataFrame({"a": ["3"]}))
    writer.abort()
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------
# the contact column
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        (["nom", "Téléphone", "email"], "Téléphone"),
        (["E-mail", "TEL_PORTABLE"], "TEL_PORTABLE"),
        (["nom", "N° de tél."], "N° de tél."),
        (["nom", "Courriel"], "Courriel"),
        (["nom", "numéro", "ville"], "numéro"),
        (["nom", "contact"], "contact"),
        (["GSM", "mobile"], "GSM"),
    ],
)
def test_contact_column_by_name(columns: list[str], expected: str) -> None:
    table = pl.DataFrame({c: ["x"] for c in columns}).with_columns(pl.lit(2).alias(LINE))
    table = table.with_columns(pl.lit("0612345678").alias(expected))
    assert files.guess_contact_column(table) == expected


def test_contact_column_by_content() -> None:
    table = pl.DataFrame(
        {
            "a": ["Dupont", "Martin", "Durand", "X"],
            "b": ["12/03/2024", "01/02/2023", "2024-01-05", None],  # dates are not phones
            "c": ["06 12 34 56 78", "+33 6 98 76 54 32", "n/a", None],
            "d": ["a@b.fr", "c@d.fr", "e@f.fr", "g@h.fr"],
            LINE: [1, 2, 3, 4],
        }
    )
    assert files.guess_contact_column(table) == "c"  # phones before e-mails
    assert files.guess_contact_column(table.drop("c")) == "d"


def test_named_column_whose_content_contradicts_its_name_loses() -> None:
    table = pl.DataFrame({"numero": ["12", "14"], "x": ["0612345678", "0698765432"]})
    assert files.guess_contact_column(table) == "x"
    assert files.guess_contact_column(table.drop("x")) == "numero"


def test_requested_column() -> None:
    table = pl.DataFrame({"Téléphone Fixe": ["1"], "nom": ["a"], LINE: [2]})
    assert files.guess_contact_column(table, "Téléphone Fixe") == "Téléphone Fixe"
    assert files.guess_contact_column(table, "telephone fixe") == "Téléphone Fixe"
    with pytest.raises(UsageError) as error:
        files.guess_contact_column(table, "tel")
    assert "Téléphone Fixe, nom" in error.value.message
    assert LINE not in error.value.message


def test_no_contact_column() -> None:
    table = pl.DataFrame({"a": ["x", "y"], LINE: [10_000_000_000, 10_000_000_001]})
    with pytest.raises(UsageError) as error:
        files.guess_contact_column(table)
    assert error.value.message == (
        "no column looks like a phone number or e-mail address; name it with --column"
    )


# ---------------------------------------------------------------------------------------------
# bad inputs
# ---------------------------------------------------------------------------------------------


def _zip(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(name, f"{SECRET} content")
    return path.read_bytes()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"%PDF-1.7\n" + SECRET.encode(), "PDF"),
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "PNG"),
        (random.Random(1).randbytes(4096), "binary"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), ".xls"),
        (b"PK\x03\x04broken", "damaged zip"),
        (b"PAR1" + SECRET.encode() * 3, "damaged Parquet"),
        ("nom;tel\n".encode("utf-16"), "UTF-16"),
        (b"", "empty"),
        (b"\n\n  \n;;\n", "no data"),
    ],
    ids=["pdf", "png", "random", "xls", "badzip", "badparquet", "utf16", "empty", "blank"],
)
def test_bad_inputs_are_usage_errors(tmp_path: Path, content: bytes, message: str) -> None:
    path = write(tmp_path / "in.csv", content)
    with pytest.raises(UsageError, match=message) as error:
        files.sniff(path)
    assert "\n" not in error.value.message and SECRET not in error.value.message


@pytest.mark.parametrize(
    ("inner", "message"), [("word/document.xml", "zip archive"), ("content.xml", "OpenDocument")]
)
def test_zip_that_is_not_xlsx(tmp_path: Path, inner: str, message: str) -> None:
    path = tmp_path / "in.xlsx"
    _zip(path, inner)
    with pytest.raises(UsageError, match=message):
        files.sniff(path)


def test_missing_directory_and_unreadable_inputs(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not found"):
        files.sniff(tmp_path / "nope.csv")
    with pytest.raises(UsageError, match="directory"):
        files.sniff(tmp_path)
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(UsageError, match="not a regular file"):
        files.sniff(tmp_path / "pipe")
    locked = write(tmp_path / "locked.csv", "a;b\n")
    locked.chmod(0)
    try:
        if os.access(locked, os.R_OK):
            pytest.skip("running as root: permissions are not enforced")
        with pytest.raises(UsageError, match="permission denied"):
            files.sniff(locked)
    finally:
        locked.chmod(0o600)


# ---------------------------------------------------------------------------------------------
# writers
# ---------------------------------------------------------------------------------------------

CP1252 = FileInfo(FileFormat.CSV, "cp1252", "\t", True)
TABLE = pl.DataFrame({"nom": ["Hélène", 'A "B"; C'], "tel": ["0612345678", None], LINE: [2, 3]})


def test_writer_is_atomic(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    writer = files.open_writer(out, TABLE.columns, CP1252)
    writer.write(TABLE)
    assert not out.exists()
    (temp,) = tmp_path.iterdir()
    assert temp.name.startswith(".out.csv.part-")
    writer.close()
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # cp1252 input: Excel users get a BOM
    assert data.decode("utf-8-sig").splitlines()[:2] == [
        "nom\ttel\tpermis_line",
        "Hélène\t0612345678\t2",
    ]


def test_abort_and_crash_leave_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out.parquet"
    out.write_bytes(b"previous")
    writer = files.open_writer(out, TABLE.columns, CP1252)
    writer.write(TABLE)
    writer.abort()
    assert [p.name for p in tmp_path.iterdir()] == ["out.parquet"]
    assert out.read_bytes() == b"previous"
    with pytest.raises(RuntimeError), files.open_writer(tmp_path / "x.csv", ["nom"], CP1252) as w:
        w.write(TABLE)
        raise RuntimeError("crash")
    assert [p.name for p in tmp_path.iterdir()] == ["out.parquet"]


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx", ".dat"])
def test_each_output_format(tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"out{suffix}"
    like = FileInfo(FileFormat.XLSX, "utf-8", ";", True)
    with files.open_writer(out, TABLE.columns, like) as writer:
        writer.write(TABLE.head(1))
        writer.write(TABLE.tail(1))
    back = files.sniff(out)
    if suffix in (".csv", ".dat"):
        assert out.read_bytes().startswith(b"nom;tel;permis_line\n")  # ';', no BOM, header
    got = read(out, back)
    assert got.table["nom"].to_list() == TABLE["nom"].to_list()


def test_nested_parquet_values_are_written_as_json_text(tmp_path: Path) -> None:
    table = pl.DataFrame({"tel": ["0612345678"], "tags": [["a", "é"]], "s": [{"x": 1}]})
    for suffix in (".csv", ".xlsx"):
        out = tmp_path / f"o{suffix}"
        with files.open_writer(
            out, table.columns, files.FileInfo(FileFormat.PARQUET, "utf-8", ";", True)
        ) as w:
            w.write(table)
        assert rows(read(out).table)[0][1:3] == ('["a", "é"]', '{"x": 1}')


def test_empty_output_still_has_a_header(tmp_path: Path) -> None:
    out = tmp_path / "o.csv"
    with files.open_writer(out, ["nom", "tel"], FileInfo(FileFormat.CSV, "utf-8", ",", True)):
        pass
    assert out.read_text() == "nom,tel\n"


def test_unwritable_outputs_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        files.open_writer(tmp_path / "missing" / "o.csv", ["a"], CP1252)
    with pytest.raises(UsageError, match="directory"):
        files.open_writer(tmp_path, ["a"], CP1252)
