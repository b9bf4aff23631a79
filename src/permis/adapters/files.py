"""Campaign files in and out: CSV as French offices produce it, Parquet, XLSX.

Design choices:

- **Format by content**, never by name alone: ``PAR1`` is Parquet, a zip holding
  ``xl/workbook.xml`` is XLSX, text is CSV; anything else (PDF, image, .xls, other zip, UTF-16,
  random bytes), a directory, a missing, unreadable or empty file is a :class:`UsageError` whose
  one-line message names the file and the problem, never its content.
- **CSV dialect sniffed on the first MiB**: the separator (``;``, ``,``, tab, ``|``) that gives the
  most consistent field count outside quotes (ties: more fields, then ``;``); the encoding by
  majority of lines (valid UTF-8 is UTF-8, anything else Windows-1252, named Latin-1 when bytes
  cp1252 leaves undefined occur). Decoding is always *per line*: a mostly UTF-8 file with some
  cp1252 lines decodes both right, never to U+FFFD. charset-normalizer is not used: this rule is
  deterministic and covers the encodings such files come in, where a statistical guess could
  pick another legacy code page. The header is detected: the first record is a header when none
  of its fields looks like a phone number, an e-mail address or a number and a later record has
  one (else when it names a contact column, else when its fields are distinct and non-empty).
  Only ``"`` quotes (``FileInfo.quote``) are supported.
- **Every row accounted for**: each batch carries the rows read (CSV and XLSX columns as text,
  empty CSV fields as ``""`` and empty XLSX cells as null; Parquet keeps its dtypes), plus
  ``permis_line``, the physical line where the row starts (XLSX: the sheet row; Parquet: the row
  index + 2, as if a header were line 1), the rows that could not be read (:class:`BrokenRow`:
  line and reason, never the content) and the number of blank lines (spaces, tabs and
  separators only, or all values blank; XLSX: empty rows). Rows read + broken rows = the records
  of the file. An unbalanced quote breaks one row, never the rows after it (see ``_csv``). An
  input column named ``permis_line`` (a file Permis wrote) is kept as ``permis_line_previous``.
- **Streaming**: CSV is read with ``os.pread`` in chunks of about 64 MiB cut after a newline; each
  chunk goes through Polars' CSV reader whole and falls back to per-line handling only when
  Polars' result cannot be proven right (``_csv`` explains the proof). Parquet is read by row
  groups (``iter_batches``); an XLSX sheet (the first one holding data) is read whole (Excel caps
  a sheet at 1,048,576 rows).
- **Atomic outputs**: a writer writes ``.NAME.part-<random>`` next to the target and renames it
  over the target in :meth:`Writer.close`; :meth:`Writer.abort` removes it, and a crash never
  leaves a file at the target path. XLSX outputs are written at close, strings stay strings
  (never formulas or links); nested Parquet values are written to CSV/XLSX as JSON text.
"""

from __future__ import annotations

import abc
import contextlib
import json
import os
import re
import secrets
import stat
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

import fastexcel
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from xlsxwriter import Workbook

from permis.adapters import _csv
from permis.adapters._csv import BrokenRow
from permis.errors import UsageError

__all__ = [
    "Batch",
    "BrokenRow",
    "FileFormat",
    "FileInfo",
    "Writer",
    "guess_contact_column",
    "open_writer",
    "read_batches",
    "sniff",
]

LINE = _csv.LINE
CHUNK_BYTES = _csv.CHUNK_BYTES
XLSX_MAX_ROWS = 1_048_576
SNIFF_RECORDS = 50
GUESS_ROWS = 1000


class FileFormat(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"
    XLSX = "xlsx"


@dataclass(frozen=True)
class FileInfo:
    """What :func:`sniff` found (``separator`` is ``;`` and ``encoding`` utf-8 for non-CSV)."""

    format: FileFormat
    encoding: str
    separator: str
    has_header: bool
    quote: str = '"'


@dataclass
class Batch:
    table: pl.DataFrame
    broken: list[BrokenRow]
    blank_lines: int


# ---------------------------------------------------------------------------------------------
# what a value or a column name looks like
# ---------------------------------------------------------------------------------------------

_PHONE_SEPARATORS = r"[\s.\-/()]"
_PHONE = r"^\+?\d{8,}$"
_STRONG_PHONE = r"^(?:\+|00)[1-9]\d{6,14}$|^0[1-9]\d{8}$"
_DATE = r"^\d{1,4}[./\-]\d{1,2}[./\-]\d{1,4}$"
_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


def looks_like_contact(value: str) -> bool:
    """A phone number (8 digits or more once separators and ``+`` are gone) or an e-mail."""
    text = value.strip()
    if re.fullmatch(_EMAIL, text):
        return True
    digits = re.sub(_PHONE_SEPARATORS, "", text)
    return bool(re.fullmatch(_PHONE, digits)) and not re.fullmatch(_DATE, text)


def _normal_name(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name.casefold())
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", "_", plain).strip("_")


_PHONE_NAMES = {
    "telephone", "tel", "phone", "mobile", "portable", "gsm", "num_tel", "numtel", "no_tel",
    "n_tel", "phone_number", "telephone_mobile", "tel_mobile", "tel_portable", "cellulaire",
    "msisdn", "numero_de_telephone", "numero_telephone", "num_telephone",
}  # fmt: skip
_PHONE_WORDS = {"tel", "telephone", "phone", "mobile", "portable", "gsm", "cellulaire", "msisdn"}
_NUMBER_NAMES = {"numero", "num", "no", "n"}
_EMAIL_NAMES = {"email", "e_mail", "courriel", "mail", "adresse_email", "adresse_mail"}
_EMAIL_WORDS = {"email", "courriel", "mail"}


def name_rank(name: str) -> int | None:
    """How surely a column name means the contact point (0 best), None when it does not."""
    normal = _normal_name(name)
    words = {re.sub(r"\d+$", "", w) for w in normal.split("_")}
    squashed = normal.replace("_", "")
    ranks = [
        (normal in _PHONE_NAMES, 0),
        (bool(words & _PHONE_WORDS) or "telephone" in squashed or "phone" in squashed, 1),
        (normal in _NUMBER_NAMES, 2),
        (normal in _EMAIL_NAMES, 3),
        (bool(words & _EMAIL_WORDS) or "email" in squashed or "courriel" in squashed, 4),
        ("contact" in words, 5),
    ]
    return next((rank for matched, rank in ranks if matched), None)


def header_likely(records: list[list[str]]) -> bool:
    """Is the first record a header? Not when it holds a phone number, an e-mail or a number;
    yes when a later record holds one of those, or when it names a contact column; otherwise
    when its fields are distinct and non-empty."""
    if not records:
        return True
    first, rest = records[0], [v for record in records[1:] for v in record]
    if any(looks_like_contact(v) or _is_number(v) for v in first):
        return False
    if any(looks_like_contact(v) or _is_number(v) for v in rest):
        return True
    if any(name_rank(v) is not None for v in first):
        return True
    names = [v.strip() for v in first]
    return all(names) and len(set(names)) == len(names)


def _is_number(value: str) -> bool:
    return bool(re.fullmatch(r"\s*[+-]?\d[\d\s.,:/+-]*", value))


# ---------------------------------------------------------------------------------------------
# sniff
# ---------------------------------------------------------------------------------------------

_MAGIC = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel 97-2003 (.xls) or encrypted Office file"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"\x7fELF", "a program"),
    (b"SQLite format 3", "an SQLite database"),
    (b"\xff\xfe", "UTF-16 text"),
    (b"\xfe\xff", "UTF-16 text"),
)
_CONTROL = bytes([*range(0x00, 0x09), *range(0x0E, 0x1A), *range(0x1C, 0x20), 0x7F])
_KEEP_CONTROL = bytes(b for b in range(256) if b not in _CONTROL)


def _unsupported(path: Path, what: str) -> UsageError:
    return UsageError(f"{path} is {what}: save it as CSV (UTF-8), XLSX or Parquet")


def _read_sample(path: Path) -> bytes:
    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            raise UsageError(f"{path} is a directory, not a file")
        if not stat.S_ISREG(mode):
            raise UsageError(f"{path} is not a regular file")
        with path.open("rb") as handle:
            sample = handle.read(_csv.SAMPLE_BYTES)
    except FileNotFoundError:
        raise UsageError(f"file not found: {path}") from None
    except PermissionError:
        raise UsageError(f"cannot read {path}: permission denied") from None
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror or 'input/output error'}") from None
    if not sample:
        raise UsageError(f"{path} is empty")
    return sample


def _zip_format(path: Path) -> FileFormat:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError):
        raise _unsupported(path, "a damaged zip archive") from None
    if "xl/workbook.xml" in names:
        return FileFormat.XLSX
    if "xl/workbook.bin" in names:
        raise _unsupported(path, "an Excel binary workbook (.xlsb)")
    if "content.xml" in names:
        raise _unsupported(path, "an OpenDocument file (.ods)")
    raise _unsupported(path, "a zip archive, not an XLSX workbook")


def _format_of(path: Path, sample: bytes) -> FileFormat:
    if sample.startswith(b"PAR1"):
        return FileFormat.PARQUET
    if sample.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_format(path)
    for magic, what in _MAGIC:
        if sample.startswith(magic):
            raise _unsupported(path, what)
    controls = len(sample.translate(None, _KEEP_CONTROL))
    if b"\x00" in sample or controls * 100 > len(sample):
        raise _unsupported(path, "a binary file, not text")
    return FileFormat.CSV


def _sniff_csv(
    path: Path, sample: bytes, separator: str | None, has_header: bool | None
) -> FileInfo:
    if len(sample) >= _csv.SAMPLE_BYTES and sample.rfind(b"\n") > 0:
        sample = sample[: sample.rfind(b"\n") + 1]
    encoding = _csv.detect_encoding(sample)
    body = sample.removeprefix(_csv.BOM)
    legacy = encoding in _csv.LEGACY_ENCODINGS
    text = _csv.to_utf8(body, legacy).decode("utf-8", "replace")
    sep = _csv.check_separator(separator) if separator else _csv.detect_separator(text)
    records = _csv.sample_records(text, sep, SNIFF_RECORDS + 1)
    if not records:
        raise UsageError(f"{path} holds no data (only blank lines)")
    header = header_likely(records) if has_header is None else has_header
    return FileInfo(FileFormat.CSV, encoding, sep, header)


def sniff(path: Path, separator: str | None = None, has_header: bool | None = None) -> FileInfo:
    """The file's format and, for CSV, its dialect; ``separator``/``has_header`` force them."""
    sample = _read_sample(path)
    fmt = _format_of(path, sample)
    if fmt is FileFormat.PARQUET:
        _parquet_file(path)
        return FileInfo(FileFormat.PARQUET, "utf-8", ";", True)
    if fmt is FileFormat.XLSX:
        if has_header is None:
            rows = _xlsx_sheet(path, SNIFF_RECORDS * 4)
            blank = _blank_cells(rows)
            records = [[v or "" for v in row] for row in rows.filter(~blank).rows()]
            has_header = header_likely(records[: SNIFF_RECORDS + 1])
        return FileInfo(FileFormat.XLSX, "utf-8", ";", has_header)
    return _sniff_csv(path, sample, separator, has_header)


# ---------------------------------------------------------------------------------------------
# read
# ---------------------------------------------------------------------------------------------


def _parquet_file(path: Path) -> Any:
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowException, OSError, ValueError):
        raise _unsupported(path, "a damaged Parquet file") from None


def _with_line(table: pl.DataFrame, first: int) -> pl.DataFrame:
    """``table`` numbered from ``first``; a ``permis_line`` it had (a file Permis wrote) is
    kept as ``permis_line_previous``."""
    if LINE in table.columns:
        previous = f"{LINE}_previous"
        while previous in table.columns:
            previous += "_"
        table = table.rename({LINE: previous})
    lines = pl.int_range(first, first + table.height, dtype=pl.Int64, eager=True)
    return table.with_columns(lines.alias(LINE))


def _parquet_batches(path: Path, batch_rows: int) -> Iterator[Batch]:
    """Row groups as they come; ``permis_line`` is the row index + 2 (a header as line 1)."""
    parquet = _parquet_file(path)
    batches = parquet.iter_batches(batch_size=batch_rows)
    done = 0
    while True:
        try:
            batch = next(batches, None)
            table = None if batch is None else pl.DataFrame(pl.from_arrow(batch))
        except (pa.ArrowException, OSError, pl.exceptions.PolarsError):
            raise UsageError(f"{path}: damaged Parquet data after row {done}") from None
        if table is None:
            break
        yield Batch(_with_line(table, done + 2), [], 0)
        done += table.height
    if not done:
        yield Batch(
            _with_line(pl.DataFrame(pl.from_arrow(parquet.schema_arrow.empty_table())), 2), [], 0
        )


def _xlsx_sheet(path: Path, rows: int | None = None) -> pl.DataFrame:
    """The first sheet holding data, every cell as text, one row per sheet row from row 1."""
    try:
        reader = fastexcel.read_excel(path)
        for name in reader.sheet_names:
            sheet = reader.load_sheet(
                name, header_row=None, skip_rows=0, n_rows=rows, dtypes="string"
            )
            if sheet.width:
                return pl.DataFrame(sheet.to_polars())
    except (fastexcel.FastExcelError, OSError):
        raise _unsupported(path, "a damaged or unreadable XLSX workbook") from None
    raise UsageError(f"{path} holds no data (every sheet is empty)")


def _blank_cells(table: pl.DataFrame) -> pl.Series:
    empty = [pl.col(c).is_null() | pl.col(c).str.contains(_csv.BLANK_VALUE) for c in table.columns]
    return table.select(pl.all_horizontal(empty)).to_series()


def _xlsx_part(path: Path, info: FileInfo) -> _csv.Parsed:
    raw = _xlsx_sheet(path)
    blank = _blank_cells(raw)
    rows = _with_line(raw, 1).filter(~blank)
    header: list[str | None] = []
    if info.has_header and rows.height:
        header = list(rows.row(0)[:-1])
        rows = rows.slice(1)
    names = _csv.unique_names(header, raw.width)
    return _csv.Parsed(
        rows.rename(dict(zip(raw.columns, names, strict=True))), [], int(blank.sum())
    )


def _rebatch(parts: Iterator[_csv.Parsed], batch_rows: int) -> Iterator[Batch]:
    """At most ``batch_rows`` rows a batch; broken rows and blank lines ride with the next batch
    that has rows (so the first batch has rows whenever the file has any)."""
    broken: list[BrokenRow] = []
    blank, yielded, empty = 0, False, None
    for part in parts:
        broken, blank, empty = broken + part.broken, blank + part.blank_lines, part.table.clear()
        for start in range(0, part.table.height, batch_rows):
            yield Batch(part.table.slice(start, batch_rows), broken, blank)
            broken, blank, yielded = [], 0, True
    if empty is not None and (broken or blank or not yielded):
        yield Batch(empty, broken, blank)


def read_batches(
    path: Path, info: FileInfo, batch_rows: int = 1_000_000, *, chunk_bytes: int = CHUNK_BYTES
) -> Iterator[Batch]:
    """The file's rows in batches (see the module docstring for what a batch holds).

    Every file gives at least one batch, possibly empty. ``chunk_bytes`` is the size of the CSV
    chunks (tests use small ones)."""
    if batch_rows < 1:
        raise ValueError("batch_rows must be positive")
    if info.format is FileFormat.PARQUET:
        yield from _parquet_batches(path, batch_rows)
    elif info.format is FileFormat.XLSX:
        yield from _rebatch(iter([_xlsx_part(path, info)]), batch_rows)
    else:
        parts = _csv.read_chunks(path, info.separator, info.encoding, info.has_header, chunk_bytes)
        yield from _rebatch(parts, batch_rows)


# ---------------------------------------------------------------------------------------------
# the contact column
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Content:
    values: int
    phone: float = 0.0
    strong: float = 0.0
    email: float = 0.0


def _content(values: pl.Series) -> _Content:
    """Shares of the non-empty values that look like phone numbers / e-mail addresses."""
    if values.dtype.is_nested():
        return _Content(0)
    text = values.cast(pl.String, strict=False).drop_nulls().str.strip_chars()
    text = text.filter(text != "")
    if text.is_empty():
        return _Content(0)
    shares = pl.DataFrame({"t": text}).select(
        phone=(
            pl.col("t").str.replace_all(_PHONE_SEPARATORS, "").str.contains(_PHONE)
            & ~pl.col("t").str.contains(_DATE)
        ).mean(),
        strong=pl.col("t")
        .str.replace_all(_PHONE_SEPARATORS, "")
        .str.contains(_STRONG_PHONE)
        .mean(),
        email=pl.col("t").str.contains(_EMAIL).mean(),
    )
    phone, strong, email = (float(v or 0.0) for v in shares.row(0))
    return _Content(text.len(), phone, strong, email)


def _requested(columns: list[str], requested: str) -> str:
    if requested in columns:
        return requested
    matches = [c for c in columns if _normal_name(c) == _normal_name(requested)]
    if len(matches) == 1:
        return matches[0]
    shown = ", ".join(columns[:50]) + (", ..." if len(columns) > 50 else "")
    problem = "several columns match" if matches else "no column matches"
    raise UsageError(f"{problem} --column {requested!r}; the columns are: {shown}")


def guess_contact_column(table: pl.DataFrame, requested: str | None = None) -> str:
    """The column holding the contact points: ``requested`` (exact, else ignoring case, accents
    and punctuation), else a column named like one (phone names first) whose values do not
    contradict it, else the column whose values look most like phone numbers (then e-mails),
    at least half of them."""
    columns = [c for c in table.columns if c != LINE]
    if requested is not None:
        return _requested(columns, requested)
    sample = table.head(GUESS_ROWS)
    content = {c: _content(sample[c]) for c in columns}
    named = sorted(
        (rank, i, c) for i, c in enumerate(columns) if (rank := name_rank(c)) is not None
    )
    for _, _, column in named:
        found = content[column]
        if not found.values or max(found.phone, found.email) >= 0.5:
            return column
    phones = [c for c in columns if content[c].phone >= 0.5]
    if phones:
        return max(phones, key=lambda c: (content[c].strong, content[c].phone))
    emails = [c for c in columns if content[c].email >= 0.5]
    if emails:
        return max(emails, key=lambda c: content[c].email)
    if named:
        return named[0][2]
    raise UsageError("no column looks like a phone number or e-mail address; name it with --column")


# ---------------------------------------------------------------------------------------------
# write
# ---------------------------------------------------------------------------------------------

BOM_ENCODINGS = ("utf-8-sig", *_csv.LEGACY_ENCODINGS)


def _claim(path: Path) -> tuple[Path, int]:
    """A new temporary file next to ``path``: its name and an open descriptor."""
    if path.is_dir():
        raise UsageError(f"{path} is a directory, not a file")
    if not path.parent.is_dir():
        raise UsageError(f"output directory does not exist: {path.parent}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        temp = path.parent / f".{path.name}.part-{secrets.token_hex(6)}"
        try:
            return temp, os.open(temp, flags, 0o666)
        except FileExistsError:
            continue
        except PermissionError:
            raise UsageError(f"cannot write to {path.parent}: permission denied") from None
        except OSError as error:
            raise UsageError(f"cannot write {path}: {error.strerror or 'error'}") from None


class Writer(abc.ABC):
    """Writes batches under a temporary name next to ``path``; :meth:`close` renames the file
    over ``path``, :meth:`abort` deletes it. Use as a context manager, or call one of the two."""

    def __init__(self, path: Path, columns: list[str]) -> None:
        self.path = path
        self.columns = list(columns)
        self.rows = 0
        self.temp, descriptor = _claim(path)
        self._handle: IO[bytes] = os.fdopen(descriptor, "wb")
        self._open = True

    def write(self, df: pl.DataFrame) -> None:
        if not self._open:
            raise RuntimeError("the writer is closed")
        frame = df.select(self.columns)
        self._write(frame)
        self.rows += frame.height

    def close(self) -> None:
        """Finish the file and put it at ``path`` (replacing any file there)."""
        if not self._open:
            return
        try:
            self._finish()
            self._handle.close()
            os.replace(self.temp, self.path)
        except OSError as error:
            self.abort()
            raise UsageError(f"cannot write {self.path}: {error.strerror or 'error'}") from None
        except BaseException:
            self.abort()
            raise
        self._open = False

    def abort(self) -> None:
        """Forget everything written: nothing is left, neither at ``path`` nor beside it."""
        self._open = False
        with contextlib.suppress(Exception):
            self._release()
        with contextlib.suppress(Exception):
            self._handle.close()
        with contextlib.suppress(FileNotFoundError):
            self.temp.unlink()

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()

    @abc.abstractmethod
    def _write(self, frame: pl.DataFrame) -> None:
        """Write one batch in the format of the subclass."""

    def _finish(self) -> None:  # noqa: B027 - a hook: nothing buffered by default
        """Write what is still buffered (the handle is closed by :meth:`close`)."""

    def _release(self) -> None:  # noqa: B027 - a hook: nothing buffered by default
        """Drop what is buffered (on :meth:`abort`)."""

    def _empty(self) -> pl.DataFrame:
        return pl.DataFrame(schema=dict.fromkeys(self.columns, pl.String))


def _flat(frame: pl.DataFrame) -> pl.DataFrame:
    """Nested values (lists, structs from a Parquet input) as JSON text: cells are flat."""
    nested = [c for c, dtype in frame.schema.items() if dtype.is_nested()]
    return frame.with_columns(
        pl.Series(
            c,
            [
                None if v is None else json.dumps(v, default=str, ensure_ascii=False)
                for v in frame[c].to_list()
            ],
            dtype=pl.String,
        )
        for c in nested
    )


class _CsvWriter(Writer):
    def __init__(self, path: Path, columns: list[str], separator: str, bom: bool) -> None:
        super().__init__(path, columns)
        self.separator = separator
        self._header = True
        if bom:
            self._handle.write(_csv.BOM)

    def _write(self, frame: pl.DataFrame) -> None:
        _flat(frame).write_csv(self._handle, separator=self.separator, include_header=self._header)
        self._header = False

    def _finish(self) -> None:
        if self._header:
            self._write(self._empty())


class _ParquetWriter(Writer):
    def __init__(self, path: Path, columns: list[str]) -> None:
        super().__init__(path, columns)
        self._writer: Any = None

    def _write(self, frame: pl.DataFrame) -> None:
        table = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
        if self._writer is None:
            self._writer = pq.ParquetWriter(self._handle, table.schema, compression="zstd")
        elif table.schema != self._writer.schema:
            table = table.cast(self._writer.schema)
        self._writer.write_table(table)

    def _finish(self) -> None:
        if self._writer is None:
            self._write(self._empty())
        self._writer.close()

    def _release(self) -> None:
        if self._writer is not None:
            self._writer.close()


class _XlsxWriter(Writer):
    """Excel needs the whole sheet: batches are kept and written by :meth:`close`."""

    def __init__(self, path: Path, columns: list[str]) -> None:
        super().__init__(path, columns)
        self._frames: list[pl.DataFrame] = []

    def _write(self, frame: pl.DataFrame) -> None:
        if self.rows + frame.height >= XLSX_MAX_ROWS:
            raise UsageError(
                f"{self.path}: an XLSX sheet holds at most {XLSX_MAX_ROWS - 1:,} rows;"
                " write a .csv or .parquet file instead"
            )
        self._frames.append(_flat(frame))

    def _finish(self) -> None:
        table = pl.concat(self._frames) if self._frames else self._empty()
        options = {"strings_to_formulas": False, "strings_to_urls": False, "use_zip64": True}
        workbook = Workbook(self._handle, options)
        table.write_excel(workbook, worksheet="permis")
        workbook.close()


def open_writer(path: Path, columns: list[str], like: FileInfo) -> Writer:
    """A writer for ``path``: Parquet for ``.parquet``, XLSX for ``.xlsx``, otherwise CSV with
    the input's separator (``;`` for a non-CSV input), UTF-8, with a BOM when the input was
    cp1252, Latin-1 or UTF-8 with BOM (Excel users), always with a header."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return _ParquetWriter(path, columns)
    if suffix == ".xlsx":
        return _XlsxWriter(path, columns)
    from_csv = like.format is FileFormat.CSV
    separator = like.separator if from_csv else ";"
    return _CsvWriter(path, columns, separator, from_csv and like.encoding in BOM_ENCODINGS)
