"""The CSV engine behind :mod:`permis.adapters.files` (private; read that module's docstring first).

A chunk of the file (about 64 MiB, cut after a newline) goes through three steps:

1. **encoding**: the chunk becomes UTF-8, one line at a time: a line that is valid UTF-8 stays as
   it is, any other line is Windows-1252 (the five bytes cp1252 leaves undefined read as Latin-1).
   In a file sniffed as cp1252, a line is kept as UTF-8 only when it decodes to Latin text
   (``é’’`` in cp1252 is valid UTF-8 for a CJK character). A clean UTF-8 chunk costs nothing
   more (Polars validates it), a clean cp1252 chunk one decode.
2. **fast path**: Polars reads the whole chunk. The result is trusted only when it provably has one
   row per line with the right number of fields: no error (more fields raise), as many rows as
   lines, and, when a last value is empty (Polars pads short rows with empty values), as many
   separators in the chunk as ``(fields - 1) x rows`` plus those inside the values. Rows whose
   values are all blank are blank lines.
3. **slow path**, for the other chunks (a ragged row, a blank line, a stray quote, a value with
   a newline, a lone ``\r``): Polars reads the chunk as lines and classifies them, vectorised:
   blank; *simple* (every quoted field starts and ends on the line), with its field count;
   *open* (a field starts with a quote the line does not close, or a lone ``\r``). Simple lines
   with the right count are read by Polars (or taken from the fast path's reading when it had one
   row per line); simple lines with another count are broken rows. Only open lines are read in
   Python, one record each (``csv`` module, at most ``MAX_RECORD_LINES`` lines): a record that
   does not close, or whose closing quote is not followed by a separator, is a broken row *at its
   first line* and reading resumes at the next physical line, so a stray quote never swallows the
   rows after it. A record still open at the end of a chunk is read again with the next chunk.
   (Polars is laxer with stray quotes in values with newlines: that is why they are not left to
   the fast path. A one-line record it reads, though, is read the same in both paths.)

Quotes follow RFC 4180 and Excel: a quote opens a quoted field only at the start of a field (a
quote inside an unquoted field is text), ``""`` inside a quoted field is one quote. A line ends
with ``\n``, ``\r\n`` or ``\r\r\n``; line breaks inside values are returned as ``\n``.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import functools
import io
import os
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from permis.errors import UsageError

CHUNK_BYTES = 64 << 20
SAMPLE_BYTES = 1 << 20
MAX_RECORD_LINES = 100
FIRST_WINDOW = 8  # lines read for a record at first (most span two or three)
SEPARATORS = (";", ",", "\t", "|")
QUOTE = '"'
BOM = codecs.BOM_UTF8
LEGACY_ENCODINGS = ("cp1252", "latin-1")
LINE = "permis_line"
UTF8_WINDOW = 1 << 16
MAX_ODD_LINES = 64  # beyond 64 lines of the other encoding, one every 512 bytes or more often:
ODD_LINE_SPACING = 512  # decode the chunk the other way round (same result, faster)
LONG_LINE_STEP = 1 << 20
INCOMPLETE = "quoted field not closed"
BLANK_VALUE = r"^[ \t]*$"
CR_STAND_IN = "\uffff"  # a noncharacter


@dataclass(frozen=True)
class BrokenRow:
    """A record that could not be read: its first physical line and why (never its content)."""

    line: int
    reason: str


@dataclass
class Parsed:
    """What one chunk gave: the rows read, the rows that could not be read, the blank lines."""

    table: pl.DataFrame
    broken: list[BrokenRow]
    blank_lines: int


# ---------------------------------------------------------------------------------------------
# encodings
# ---------------------------------------------------------------------------------------------


def _latin1_fallback(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):  # pragma: no cover - decoding only
        raise error
    return error.object[error.start : error.end].decode("latin-1"), error.end


codecs.register_error("permis.latin1", _latin1_fallback)

_UTF8_PAIR = re.compile(rb"[\xc2-\xf4][\x80-\xbf]")
_NOT_CONTINUATION = bytes(range(0x80)) + bytes(range(0xC0, 0x100))
_CP1252_UNDEFINED = frozenset(b"\x81\x8d\x8f\x90\x9d")
_LATIN = re.compile("[\x00-\x7f\u00a0-\u024f\u2000-\u206f\u20ac\u2122]*")


def legacy_text(raw: bytes) -> str:
    """Windows-1252, with the five bytes it leaves undefined read as Latin-1."""
    return raw.decode("cp1252", "permis.latin1")


def to_utf8(raw: bytes, legacy: bool) -> bytes:
    """``raw`` as UTF-8, line by line: valid UTF-8 lines unchanged, the others read as cp1252.

    ``legacy`` (the file was sniffed as cp1252/Latin-1) only picks the first strategy tried:
    both give the same bytes, and each hands over to the other when the chunk proves to be
    mostly of the other kind.
    """
    if raw.isascii():
        return raw
    return _from_legacy(raw, switch=True) if legacy else _repair(raw, switch=True)


def _first_invalid(raw: bytes, start: int) -> int | None:
    """Where the first invalid UTF-8 sequence from ``start`` is (None: there is none).

    Decoded a window at a time: decoding the whole rest each time would be quadratic."""
    view = memoryview(raw)
    while start < len(raw):
        try:
            _, used = codecs.utf_8_decode(view[start : start + UTF8_WINDOW], "strict", False)
        except UnicodeDecodeError as error:
            return start + error.start
        if not used:  # an incomplete sequence at the very end
            return start
        start += used
    return None


def _line_around(raw: bytes, floor: int, at: int) -> tuple[int, int]:
    start = max(raw.rfind(b"\n", floor, at) + 1, floor)
    end = raw.find(b"\n", at)
    return start, len(raw) if end < 0 else end


def _dense(count: int, position: int) -> bool:
    """Many odd lines, close together: the chunk is mostly of the other kind."""
    return count > MAX_ODD_LINES and position < count * ODD_LINE_SPACING


def _repair(raw: bytes, switch: bool) -> bytes:
    """A mostly UTF-8 chunk: re-read each invalid line as cp1252."""
    parts: list[bytes] = []
    pos = repaired = 0
    bad = _first_invalid(raw, 0)
    while bad is not None:
        repaired += 1
        if switch and _dense(repaired, bad):
            return _from_legacy(raw, switch=False)
        start, end = _line_around(raw, pos, bad)
        parts += [raw[pos:start], legacy_text(raw[start:end]).encode()]
        pos = end
        bad = _first_invalid(raw, pos)
    parts.append(raw[pos:])
    return b"".join(parts) if repaired else raw


def _latin_utf8(line: bytes) -> bool:
    """Valid UTF-8 decoding to Latin text: cp1252 bytes that happen to be valid UTF-8 (``é’’``
    is E9 92 92, a CJK character in UTF-8) decode to something else."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return _LATIN.fullmatch(text) is not None


def _from_legacy(raw: bytes, switch: bool) -> bytes:
    """A mostly cp1252 chunk: keep as UTF-8 the lines that are UTF-8 Latin text with non-ASCII.

    (In a mostly UTF-8 chunk, any valid UTF-8 line is UTF-8: :func:`_repair`.)"""
    if not raw.translate(None, _NOT_CONTINUATION):  # no byte can continue a UTF-8 sequence
        return legacy_text(raw).encode()
    parts: list[bytes] = []
    pos = checked = kept = 0
    for match in _UTF8_PAIR.finditer(raw):
        if match.start() < checked:
            continue
        start, end = _line_around(raw, pos, match.start())
        checked = end
        if not _latin_utf8(raw[start:end]):
            continue
        kept += 1
        if switch and _dense(kept, start):
            return _repair(raw, switch=False)
        parts += [legacy_text(raw[pos:start]).encode(), raw[start:end]]
        pos = end
    parts.append(legacy_text(raw[pos:]).encode())
    return b"".join(parts)


def detect_encoding(sample: bytes) -> str:
    """``utf-8-sig`` (BOM), ``utf-8``, ``cp1252`` or ``latin-1``, by majority of the lines."""
    if sample.startswith(BOM):
        return "utf-8-sig"
    if sample.isascii():
        return "utf-8"
    utf8 = legacy = 0
    undefined = False
    for line in sample.split(b"\n"):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            utf8 += 1
        except UnicodeDecodeError:
            legacy += 1
            undefined = undefined or not _CP1252_UNDEFINED.isdisjoint(line)
    if utf8 >= legacy:
        return "utf-8"
    return "latin-1" if undefined else "cp1252"


# ---------------------------------------------------------------------------------------------
# dialect: separator, names, records
# ---------------------------------------------------------------------------------------------


def _regex_char(char: str) -> str:
    return f"\\x{ord(char):02x}"


@functools.cache
def _clean_field(separator: str) -> str:
    sep = _regex_char(separator)
    return f'{sep}"(?:[^"]|"")*"{sep}'


@functools.cache
def _clean_regex(separator: str) -> re.Pattern[str]:
    return re.compile(_clean_field(separator))


def check_separator(separator: str) -> str:
    aliases = {"tab": "\t", "\\t": "\t", "semicolon": ";", "comma": ",", "pipe": "|"}
    value = aliases.get(separator.lower(), separator)
    if len(value) != 1 or not value.isascii() or value.isalnum() or value in '"\r\n ':
        raise UsageError("the separator must be one character such as ';', ',', '|' or 'tab'")
    return value


def sample_records(text: str, separator: str, limit: int) -> list[list[str]]:
    """The first ``limit`` non-blank records of ``text`` (an unreadable tail is dropped)."""
    reader = csv.reader(io.StringIO(text), delimiter=separator, quotechar=QUOTE, strict=False)
    records: list[list[str]] = []
    try:
        for record in reader:
            if any(field.strip() for field in record):
                records.append(record)
            if len(records) >= limit:
                break
    except csv.Error:
        pass
    return records


def detect_separator(text: str) -> str:
    """The separator giving the most consistent field count (ties: more fields, then ``;``)."""
    scored: list[tuple[float, int, int, str]] = []
    for rank, separator in enumerate(SEPARATORS):
        counts = Counter(len(r) for r in sample_records(text, separator, 200))
        if not counts:
            continue
        width, seen = counts.most_common(1)[0]
        if width >= 2:
            scored.append((seen / sum(counts.values()), width, -rank, separator))
    if not scored:
        return ";"
    best = max(score for score, *_ in scored)
    return max((s for s in scored if s[0] >= best - 0.1), key=lambda s: (s[1], s[2]))[3]


def unique_names(header: list[str | None], width: int) -> list[str]:
    """Column names: stripped, empty ones ``column_N``, duplicates suffixed, ``width`` of them."""
    names = [(h or "").strip() for h in header]
    while len(names) > width and not names[-1]:
        names.pop()
    names += [""] * (width - len(names))
    seen: set[str] = set()
    result: list[str] = []
    for index, given in enumerate(names, start=1):
        base = given or f"column_{index}"
        base = f"{LINE}_previous" if base == LINE else base
        name, suffix = base, 2
        while name in seen:
            name, suffix = f"{base}_{suffix}", suffix + 1
        seen.add(name)
        result.append(name)
    return result


class _Feed:
    """Lines for ``csv.reader``, remembering how many it took and whether it wanted more.

    A ``\r`` inside a line is text (Polars reads it so), not a line break as ``csv`` would have
    it: it goes through as ``CR_STAND_IN``."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.used = 0
        self.exhausted = False

    def __iter__(self) -> _Feed:
        return self

    def __next__(self) -> str:
        if self.used >= len(self.lines):
            self.exhausted = True
            raise StopIteration
        self.used += 1
        return self.lines[self.used - 1].replace("\r", CR_STAND_IN) + "\n"


@dataclass(frozen=True)
class Dialect:
    separator: str
    names: tuple[str, ...]

    @property
    def width(self) -> int:
        return len(self.names)

    @property
    def sep(self) -> str:
        return _regex_char(self.separator)

    @property
    def clean_field(self) -> str:
        """A quoted field closed before the next separator, in a line whose separators are doubled
        and which is wrapped in separators (so that each field has its own pair)."""
        return _clean_field(self.separator)

    def empty(self) -> pl.DataFrame:
        return pl.DataFrame(schema={**dict.fromkeys(self.names, pl.String), LINE: pl.Int64})

    def is_clean(self, text: str) -> bool:
        """Does every field starting with a quote end with a quote before a separator?"""
        sep = self.separator
        wrapped = sep + text.replace(sep, sep * 2) + sep
        return f"{sep}{QUOTE}" not in _clean_regex(sep).sub(sep * 2, wrapped)

    def parse_record(self, lines: list[str]) -> tuple[int, list[str] | None, str]:
        """One record from ``lines[0]`` on (lines without their line break): (lines used,
        fields or None, why not)."""
        feed = _Feed(lines)
        reader = csv.reader(feed, delimiter=self.separator, quotechar=QUOTE, strict=False)
        try:
            fields = next(reader)
        except (csv.Error, StopIteration):
            return max(feed.used, 1), None, "unreadable record"
        if feed.exhausted:
            return feed.used, None, INCOMPLETE
        if not self.is_clean("\n".join(lines[: feed.used])):
            return feed.used, None, "text after a closing quote"
        return feed.used, [f.replace(CR_STAND_IN, "\r") for f in fields], ""


def count_fields_reason(found: int, width: int) -> str:
    return f"{found} fields where {width} were expected"


# ---------------------------------------------------------------------------------------------
# one chunk
# ---------------------------------------------------------------------------------------------


def _polars(data: bytes, dialect: Dialect) -> pl.DataFrame:
    return pl.read_csv(
        data,
        has_header=False,
        separator=dialect.separator,
        quote_char=QUOTE,
        schema=dict.fromkeys(dialect.names, pl.String),
        infer_schema=False,
        empty_string_is_null=False,
        truncate_ragged_lines=False,
        raise_if_empty=False,
    )


def _count_in_values(table: pl.DataFrame, text: str) -> pl.Series:
    """Per row, how many times ``text`` occurs inside the values."""
    counts = [pl.col(c).str.count_matches(text, literal=True) for c in table.columns]
    return table.select(pl.sum_horizontal(counts).alias("n")).to_series()


def _blank_rows(table: pl.DataFrame) -> pl.Series:
    """Rows whose every value is empty or spaces and tabs (lines of separators and spaces)."""
    first = pl.col(table.columns[0])
    maybe = table.select(
        (first.str.len_bytes() == 0) | first.str.starts_with(" ") | first.str.starts_with("\t")
    ).to_series()
    if not maybe.any():
        return maybe
    blank = [pl.col(c).str.contains(BLANK_VALUE) for c in table.columns]
    return table.select(pl.all_horizontal(blank)).to_series()


def _finish(table: pl.DataFrame, lines: pl.Series) -> Parsed:
    table = table.with_columns(lines.alias(LINE))
    blank = _blank_rows(table.drop(LINE))
    blank_lines = int(blank.sum())
    if blank_lines:
        table = table.filter(~blank)
    return Parsed(table, [], blank_lines)


def _all_full(data: bytes, table: pl.DataFrame, dialect: Dialect) -> bool:
    """No row of ``table`` has fewer fields than the header (Polars raised on more).

    Polars fills a short row with empty strings, so only when the last column holds an empty
    value is the proof needed: every separator in the chunk is either between two fields of a
    row or inside a quoted value."""
    last = pl.col(table.columns[-1])
    if not table.select((last.str.len_bytes() == 0).any()).item():
        return True
    inside = int(_count_in_values(table, dialect.separator).sum()) if QUOTE.encode() in data else 0
    return data.count(dialect.separator.encode()) - inside == (dialect.width - 1) * table.height


def _strict(data: bytes, dialect: Dialect) -> pl.DataFrame | None:
    """The chunk through Polars; None when Polars refuses it (a row with too many fields, a
    badly quoted field, not UTF-8)."""
    try:
        return _polars(data, dialect)
    except pl.exceptions.PolarsError:
        return None


def _proven(
    table: pl.DataFrame, data: bytes, dialect: Dialect, base: int, nlines: int
) -> Parsed | None:
    """``table`` (Polars' reading of the whole chunk) when it provably holds every line as one
    row; None otherwise. (Values with newlines take the slow path: Polars is lenient with a
    stray quote there, and would let it swallow the next lines into one value.)"""
    rows = table.height
    if rows == 0 or rows != nlines or not _all_full(data, table, dialect):
        return None
    return _finish(table, pl.int_range(base + 1, base + 1 + rows, dtype=pl.Int64, eager=True))


def _lines(data: bytes, nlines: int) -> pl.Series | None:
    """The chunk's physical lines without their line break (``\n`` after any ``\r``); None
    when the chunk is not UTF-8.

    Polars reads them as a one-column CSV (no quotes, a separator absent from the chunk): that
    is parallel and 3x faster than splitting, and drops the ``\r`` of ``\r\n``."""
    if b"\x00" not in data:
        with contextlib.suppress(pl.exceptions.PolarsError):
            lines = pl.read_csv(
                data,
                has_header=False,
                separator="\x00",
                quote_char=None,
                schema={"text": pl.String},
                infer_schema=False,
                empty_string_is_null=False,
                raise_if_empty=False,
            ).to_series()
            if lines.len() == nlines:
                return lines.str.strip_chars_end("\r")
    try:
        text = pl.Series("text", [data], dtype=pl.Binary).cast(pl.String)
    except pl.exceptions.PolarsError:
        return None
    lines = text.str.split("\n").explode()
    lines = lines.head(lines.len() - 1) if data.endswith(b"\n") else lines
    return lines.str.strip_chars_end("\r")


def _classify(lines: pl.Series, dialect: Dialect) -> pl.DataFrame:
    """Per line: blank; its field count; open: a field starts with a quote the line does not
    close, or the line holds a ``\r`` (Polars is not consistent with those): read in Python."""
    sep, s = dialect.separator, dialect.sep
    frame = pl.DataFrame({"st": lines}).with_row_index("idx")
    shape = frame.select(
        "idx",
        blank=pl.col("st").str.contains(f"^[ \t{s}]*$"),
        quoted=pl.col("st").str.contains(QUOTE, literal=True),
        cr=pl.col("st").str.contains("\r", literal=True),
        fields=pl.col("st").str.count_matches(sep, literal=True) + 1,
    )
    quoted = frame.filter(shape["quoted"])
    wrapped = pl.lit(sep) + pl.col("st").str.replace_all(sep, sep * 2, literal=True) + pl.lit(sep)
    inner = quoted.select(
        "idx", stripped=wrapped.str.replace_all(dialect.clean_field, sep * 2)
    ).select(
        "idx",
        open=pl.col("stripped").str.contains(f"{s}{QUOTE}"),
        fields=pl.col("stripped").str.count_matches(sep, literal=True) // 2,
    )
    fields = shape["fields"].scatter(inner["idx"], inner["fields"])
    open_ = pl.repeat(False, frame.height, eager=True).scatter(inner["idx"], inner["open"])
    return shape.select("idx", "blank").with_columns(
        fields.alias("fields"), (open_ | shape["cr"]).alias("open")
    )


@dataclass
class _Records:
    """The open lines, read one record at a time in Python."""

    rows: list[tuple[int, list[str]]]
    broken: list[BrokenRow]
    inside: list[int]  # lines continuing a record
    stop: int  # lines from here on are read again with the next chunk


def _open_reason(why: str, fields: list[str] | None, used: int, window: int, width: int) -> str:
    """Why a record starting with an open quote is broken ("" when it is not)."""
    if why == INCOMPLETE:
        short = window < MAX_RECORD_LINES
        return f"{INCOMPLETE} {'before the end of the file' if short else f'within {window} lines'}"
    if fields is not None and len(fields) == width:
        return ""
    if used > 1:
        return "unbalanced quote"
    return why or count_fields_reason(len(fields or []), width)


def _as_polars_reads(line: str, dialect: Dialect, newline: bool) -> tuple[int, list[str]] | None:
    """A line Python's ``csv`` cannot read as a record, as the fast path would have read it:
    Polars tolerates some quoting that ``csv`` refuses (``""x""``), and the same line must give
    the same row whichever path reads it. None when Polars does not read it as one full row."""
    if "\r" in line:
        return None
    try:
        table = _polars(line.encode() + (b"\n" if newline else b""), dialect)
    except pl.exceptions.PolarsError:
        return None
    if table.height != 1:
        return None
    values = [str(v) for v in table.row(0)]
    inside = sum(v.count(dialect.separator) for v in values)
    if line.count(dialect.separator) - inside != dialect.width - 1:  # Polars filled a short row
        return None
    return 1, values


def _read_open(
    lines: pl.Series, starts: list[int], dialect: Dialect, base: int, last: bool | None
) -> _Records:
    """``last``: the chunk ends the file (None: and its last line has no newline)."""
    found = _Records([], [], [], lines.len())
    free = 0
    for start in starts:
        if start < free:
            continue
        window = lines.slice(start, FIRST_WINDOW).to_list()
        used, fields, why = dialect.parse_record(window)
        if why == INCOMPLETE and len(window) == FIRST_WINDOW:  # a longer record, or no end
            window = lines.slice(start, MAX_RECORD_LINES).to_list()
            used, fields, why = dialect.parse_record(window)
        reason = _open_reason(why, fields, used, len(window), dialect.width)
        newline = last is not None or start < lines.len() - 1
        lenient = _as_polars_reads(window[0], dialect, newline) if reason else None
        if lenient is not None:  # as the fast path would have read it
            (used, fields), reason = lenient, ""
        elif why == INCOMPLETE and last is False and len(window) < MAX_RECORD_LINES:
            found.stop = start
            break
        if reason or fields is None:
            found.broken.append(BrokenRow(base + start + 1, reason))
            continue
        found.rows.append((start, fields))
        found.inside.extend(range(start + 1, start + used))
        free = start + used
    return found


def _python_table(
    texts: list[str], numbers: list[int], dialect: Dialect, broken: list[BrokenRow]
) -> pl.DataFrame:
    """Last resort when Polars disagrees with the classification: one line at a time."""
    rows: list[tuple[int, list[str]]] = []
    for text, number in zip(texts, numbers, strict=True):
        _, fields, why = dialect.parse_record([text])
        if fields is not None and len(fields) == dialect.width:
            rows.append((number, fields))
        else:
            reason = why or count_fields_reason(len(fields or []), dialect.width)
            broken.append(BrokenRow(number, reason))
    return _rows_table(rows, dialect)


def _rows_table(rows: list[tuple[int, list[str]]], dialect: Dialect) -> pl.DataFrame:
    if not rows:
        return dialect.empty()
    table = pl.DataFrame([r for _, r in rows], schema=list(dialect.names), orient="row")
    return table.with_columns(pl.Series(LINE, [n for n, _ in rows], dtype=pl.Int64))


def _good_table(
    texts: pl.Series, numbers: pl.Series, dialect: Dialect, broken: list[BrokenRow]
) -> pl.DataFrame:
    """The simple lines with the right field count, through Polars in one block."""
    if texts.is_empty():
        return dialect.empty()
    data = texts.str.join("\n").cast(pl.Binary).item()
    try:
        table = _polars(data, dialect)
    except pl.exceptions.PolarsError:
        table = None
    if table is not None and table.height == texts.len():
        return table.with_columns(numbers.alias(LINE))
    return _python_table(texts.to_list(), numbers.to_list(), dialect, broken)


def _slow(
    lines: pl.Series, aligned: pl.DataFrame | None, dialect: Dialect, base: int, last: bool | None
) -> tuple[Parsed, int, bool]:
    """Line by line, vectorised; only lines opening a quoted field are read in Python.

    ``aligned`` is Polars' reading of the chunk when it has one row per line: its rows for the
    good lines are right, so they are kept instead of reading those lines again. Also says
    whether the chunk was plain (the fast path would have read it)."""
    shape = _classify(lines, dialect)
    found = _read_open(lines, shape.filter("open")["idx"].to_list(), dialect, base, last)
    idx = shape["idx"]
    keep = idx < found.stop
    if found.inside:
        keep = keep & ~pl.repeat(False, idx.len(), eager=True).scatter(found.inside, True)
    plain = keep & ~shape["blank"] & ~shape["open"]
    good = plain & (shape["fields"] == dialect.width)
    ragged = shape.filter(plain & (shape["fields"] != dialect.width))
    broken = found.broken + [
        BrokenRow(base + i + 1, count_fields_reason(n, dialect.width))
        for i, n in ragged.select("idx", "fields").iter_rows()
    ]
    numbers = (idx.filter(good).cast(pl.Int64) + base + 1).alias(LINE)
    if aligned is not None:
        table = aligned.filter(good).with_columns(numbers)
    else:
        table = _good_table(lines.filter(good), numbers, dialect, broken)
    if found.rows:
        records = _rows_table([(base + i + 1, f) for i, f in found.rows], dialect)
        table = pl.concat([table, records]).sort(LINE)
    broken.sort(key=lambda b: b.line)
    parsed = _finish(table.drop(LINE), table[LINE])  # rows of empty quoted fields are blank too
    parsed.broken = broken
    parsed.blank_lines += int((keep & shape["blank"]).sum())
    simple = not (broken or parsed.blank_lines or found.rows)  # the fast path would have done
    return parsed, found.stop, simple


def _count_lines(data: bytes) -> int:
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def is_blank(line: str, separator: str) -> bool:
    return not line.replace(separator, "").strip(" \t\r")


def _lone_cr(data: bytes) -> bool:
    """A ``\r`` that is not part of ``\r\n``: Polars drops it at the end of any field (Python's
    ``csv`` ends the line there), so such chunks take the slow path, which keeps it as text
    (``\r\r\n`` ends a line, as ``\r\n`` does)."""
    return b"\r" in data and data.count(b"\r") != data.count(b"\r\n")


def _attempt(
    data: bytes, dialect: Dialect, base: int, nlines: int, fast: bool
) -> tuple[Parsed | None, pl.DataFrame | None, pl.Series | None]:
    """The proven fast reading, else what the slow path needs: Polars' reading when it has one
    row per line, and the lines (None: not UTF-8)."""
    table = _strict(data, dialect) if fast else None
    if table is not None and (table.height != nlines or _lone_cr(data)):
        table = None  # values with newlines, or a lone \r: only the slow path reads them right
    quick = None if table is None else _proven(table, data, dialect, base, nlines)
    return quick, table, None if quick is not None else _lines(data, nlines)


def parse_chunk(
    raw: bytes, legacy: bool, dialect: Dialect, base: int, last: bool, fast: bool = True
) -> tuple[Parsed, int, int, bool]:
    """The records of ``raw`` (whole lines; line ``base + 1`` first): what was read, how many
    lines were used (fewer than all when a record goes on in the next chunk), how many lines
    there are, and whether to try the fast path on the next chunk.

    ``fast=False`` skips the fast path (it was of no use on the previous chunk). A UTF-8 file is
    validated only when Polars refuses the chunk (it checks UTF-8 itself)."""
    nlines = _count_lines(raw)
    if not nlines:
        return Parsed(dialect.empty(), [], 0), 0, 0, True
    quick, table, lines = _attempt(
        to_utf8(raw, legacy) if legacy else raw, dialect, base, nlines, fast
    )
    if quick is None and lines is None:  # not UTF-8: read the odd lines as cp1252, again
        quick, table, lines = _attempt(to_utf8(raw, legacy), dialect, base, nlines, fast)
    if quick is not None:
        return quick, nlines, nlines, True
    if lines is None:  # pragma: no cover - to_utf8 returns UTF-8
        raise ValueError("the chunk is not UTF-8 after decoding")
    open_end = None if last and not raw.endswith(b"\n") else last
    parsed, done, plain = _slow(lines, table, dialect, base, open_end)
    return parsed, done, nlines, table is not None or plain


# ---------------------------------------------------------------------------------------------
# the file
# ---------------------------------------------------------------------------------------------


def _read_chunk(fd: int, pos: int, want: int, floor: int) -> tuple[bytes, bool]:
    """The bytes from ``pos`` to just after a newline about ``want`` bytes on (and past
    ``floor``; further when a line is longer), and whether they reach the end of the file.

    ``os.pread`` rather than ``mmap``: a file truncated while it is read must not kill the
    process (SIGBUS)."""
    size = max(pos + want, floor) - pos
    data = os.pread(fd, size, pos)
    if len(data) < size:
        return data, True
    parts, cut = [data], data.rfind(b"\n", max(floor - pos, 0))
    while cut < 0:  # a line longer than the chunk
        more = os.pread(fd, LONG_LINE_STEP, pos + sum(map(len, parts)))
        if not more:
            return b"".join(parts), True
        newline = more.find(b"\n")
        if newline >= 0:
            parts.append(more[: newline + 1])
            return b"".join(parts), False
        parts.append(more)
    return data[: cut + 1], False


def _skip_lines(data: bytes, pos: int, count: int) -> int:
    for _ in range(count):
        newline = data.find(b"\n", pos)
        pos = len(data) if newline < 0 else newline + 1
    return pos


def _start_of_last_lines(raw: bytes, count: int) -> int:
    pos = len(raw) - 1 if raw.endswith(b"\n") else len(raw)
    for _ in range(count):
        pos = raw.rfind(b"\n", 0, pos)
    return pos + 1


def _width(header: list[str], counts: Counter[int]) -> int:
    """The number of fields: the header's, or the data's when the header only lacks or adds
    trailing empty names (a trailing separator on every line but one)."""
    if not counts:
        return max(len(header), 1)
    mode, seen = counts.most_common(1)[0]
    if not header or (mode > len(header) and seen * 2 >= counts.total()):
        return mode
    if mode < len(header) and not any(h.strip() for h in header[mode:]):
        return mode
    return len(header)


@dataclass(frozen=True)
class _Start:
    dialect: Dialect
    offset: int  # byte offset of the first data line
    line: int  # physical lines before it
    blank_lines: int


def _start(fd: int, separator: str, legacy: bool, has_header: bool) -> _Start:
    sample, _ = _read_chunk(fd, 0, SAMPLE_BYTES, 0)
    begin = len(BOM) if sample.startswith(BOM) else 0
    lines = [line.rstrip("\r") for line in to_utf8(sample[begin:], legacy).decode().split("\n")]
    blank = used = 0
    header: list[str] = []
    if has_header:
        while blank < len(lines) and is_blank(lines[blank], separator):
            blank += 1
        window = lines[blank : blank + MAX_RECORD_LINES]
        used, fields, _ = Dialect(separator, ()).parse_record(window) if window else (0, [], "")
        if fields is None:
            raise UsageError(f"the header (line {blank + 1}) cannot be read: check its quotes")
        header = fields
    rest = "\n".join(lines[blank + used :])
    counts = Counter(len(r) for r in sample_records(rest, separator, 1000))
    names = unique_names(list(header), _width(header, counts))
    offset = _skip_lines(sample, begin, blank + used)
    return _Start(Dialect(separator, tuple(names)), offset, blank + used, blank)


def _chunks(fd: int, start: _Start, legacy: bool, chunk_bytes: int) -> Iterator[Parsed]:
    pos, line, floor = start.offset, start.line, 0
    blank, yielded, fast, end = start.blank_lines, False, True, False
    while not end:
        raw, end = _read_chunk(fd, pos, chunk_bytes, floor)
        if not raw:
            break
        parsed, done, total, fast = parse_chunk(raw, legacy, start.dialect, line, end, fast)
        parsed.blank_lines, blank = parsed.blank_lines + blank, 0
        yield parsed
        yielded = True
        if done < total:  # a record goes on in the next bytes: read it again with them
            pos, floor = pos + _start_of_last_lines(raw, total - done), pos + len(raw)
        else:
            pos += len(raw)
        line += done
    if blank or not yielded:
        yield Parsed(start.dialect.empty(), [], blank)


def read_chunks(
    path: Path, separator: str, encoding: str, has_header: bool, chunk_bytes: int = CHUNK_BYTES
) -> Iterator[Parsed]:
    """The file's records, one :class:`Parsed` per chunk of about ``chunk_bytes`` bytes."""
    legacy = encoding in LEGACY_ENCODINGS
    try:
        handle = path.open("rb")
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror or 'error'}") from None
    with handle:
        start = _start(handle.fileno(), separator, legacy, has_header)
        yield from _chunks(handle.fileno(), start, legacy, max(chunk_bytes, 1))
