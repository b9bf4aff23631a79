"""The CSV engine behind :mod:`permis.adapters.files` (private; read that module's docstring first).

A chunk of the file (about 64 MiB, cut after a newline) goes through three steps:

1. **encoding**: the chunk becomes UTF-8, one line at a time: a line that is valid UTF-8 stays as
   it is, any other line is Windows-1252 (the five bytes cp1252 leaves undefined read as Latin-1).
   A clean UTF-8 chunk costs one validation; a clean cp1252 chunk one decode.
2. **fast path**: Polars reads the whole chunk. The result is trusted only when it provably has one
   row per line with the right number of fields: no error (more fields raise), as many rows as
   lines (or as lines minus the newlines inside quoted values), and as many separators in the
   chunk as ``(fields - 1) x rows`` plus the separators inside the values.
3. **slow path**, when the fast path fails (a ragged row, an unbalanced quote, a blank line):
   Polars splits the chunk into lines and classifies them, vectorised: blank; *simple* (every
   quoted field starts and ends on the line), with its field count; *open* (a field starts with
   a quote that the line does not close). Simple lines with the right count go back to Polars as
   one block; simple lines with another count are broken rows. Only the open lines are read in
   Python, one record each (``csv`` module, at most ``MAX_RECORD_LINES`` lines): a record that
   does not close, or whose closing quote is not followed by a separator, is a broken row *at its
   first line* and reading resumes at the next physical line, so one stray quote never swallows
   the rows after it. A record still open at the end of a chunk is read again with the next one.

Quotes follow RFC 4180 and Excel: a quote opens a quoted field only at the start of a field (a
quote inside an unquoted field is text), ``""`` inside a quoted field is one quote.
"""

from __future__ import annotations

import codecs
import csv
import io
import mmap
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
SEPARATORS = (";", ",", "\t", "|")
QUOTE = '"'
BOM = codecs.BOM_UTF8
LEGACY_ENCODINGS = ("cp1252", "latin-1")
LINE = "permis_line"
MAX_REPAIRED_LINES = 64
INCOMPLETE = "quoted field not closed"
BLANK_VALUE = r"^[ \t]*$"


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


def legacy_text(raw: bytes) -> str:
    """Windows-1252, with the five bytes it leaves undefined read as Latin-1."""
    return raw.decode("cp1252", "permis.latin1")


def to_utf8(raw: bytes, legacy: bool) -> bytes:
    """``raw`` as UTF-8, line by line: valid UTF-8 lines unchanged, the others read as cp1252.

    ``legacy`` (the file was sniffed as cp1252/Latin-1) only picks the faster strategy: both give
    the same bytes.
    """
    if raw.isascii():
        return raw
    if legacy:
        return _from_legacy(raw)
    bad = _first_invalid(raw, 0)
    return raw if bad is None else _repair(raw, bad)


def _first_invalid(raw: bytes, start: int) -> int | None:
    try:
        codecs.utf_8_decode(memoryview(raw)[start:], "strict", True)
    except UnicodeDecodeError as error:
        return start + error.start
    return None


def _line_around(raw: bytes, floor: int, at: int) -> tuple[int, int]:
    start = max(raw.rfind(b"\n", floor, at) + 1, floor)
    end = raw.find(b"\n", at)
    return start, len(raw) if end < 0 else end


def _repair(raw: bytes, bad: int | None) -> bytes:
    """A mostly UTF-8 chunk: re-read each invalid line as cp1252 (many: switch strategy)."""
    parts: list[bytes] = []
    pos = repaired = 0
    while bad is not None:
        repaired += 1
        if repaired > MAX_REPAIRED_LINES:
            return _from_legacy(raw)
        start, end = _line_around(raw, pos, bad)
        parts += [raw[pos:start], legacy_text(raw[start:end]).encode()]
        pos = end
        bad = _first_invalid(raw, pos)
    parts.append(raw[pos:])
    return b"".join(parts)


def _from_legacy(raw: bytes) -> bytes:
    """A mostly cp1252 chunk: keep as UTF-8 the lines that are valid UTF-8 with non-ASCII."""
    if not raw.translate(None, _NOT_CONTINUATION):  # no byte can continue a UTF-8 sequence
        return legacy_text(raw).encode()
    parts: list[bytes] = []
    pos = checked = 0
    for match in _UTF8_PAIR.finditer(raw):
        if match.start() < checked:
            continue
        start, end = _line_around(raw, pos, match.start())
        checked = end
        try:
            raw[start:end].decode("utf-8")
        except UnicodeDecodeError:
            continue
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
    """Lines for ``csv.reader``, remembering how many it took and whether it wanted more."""

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
        return self.lines[self.used - 1] + "\n"


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
        return f'{self.sep}"(?:[^"]|"")*"{self.sep}'

    def empty(self) -> pl.DataFrame:
        return pl.DataFrame(schema={**dict.fromkeys(self.names, pl.String), LINE: pl.Int64})

    def is_clean(self, text: str) -> bool:
        sep = self.separator
        wrapped = sep + text.replace(sep, sep * 2) + sep
        return f"{sep}{QUOTE}" not in re.sub(self.clean_field, sep * 2, wrapped)

    def parse_record(self, lines: list[str]) -> tuple[int, list[str] | None, str]:
        """One record from ``lines[0]`` on: (lines used, fields or None, why not)."""
        feed = _Feed(lines)
        reader = csv.reader(feed, delimiter=self.separator, quotechar=QUOTE, strict=False)
        try:
            fields = next(reader)
        except (csv.Error, StopIteration):
            return max(feed.used, 1), None, "unreadable record"
        if feed.exhausted:
            return feed.used, None, INCOMPLETE
        text = "\n".join(lines[: feed.used]).removesuffix("\r")
        if not self.is_clean(text):
            return feed.used, None, "text after a closing quote"
        return feed.used, fields, ""


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


def _fast(data: bytes, dialect: Dialect, base: int, nlines: int) -> Parsed | None:
    """The whole chunk through Polars, kept only when it provably read every line as a row
    (or as part of a row, for values with newlines)."""
    try:
        table = _polars(data, dialect)
    except pl.exceptions.PolarsError:
        return None
    rows = table.height
    if rows == 0 or rows > nlines or not _all_full(data, table, dialect):
        return None
    first = pl.int_range(base + 1, base + 1 + rows, dtype=pl.Int64, eager=True)
    if rows == nlines:
        return _finish(table, first)
    newlines = _count_in_values(table, "\n")
    most = newlines.max()
    if not isinstance(most, int) or most >= MAX_RECORD_LINES:
        return None
    if rows + int(newlines.sum()) != nlines:
        return None
    return _finish(table, first + newlines.cum_sum().shift(1, fill_value=0).cast(pl.Int64))


def _lines(data: bytes) -> pl.Series:
    """The chunk's physical lines (``\\r`` kept), as a Polars string Series."""
    lines = pl.Series("text", [data], dtype=pl.Binary).cast(pl.String).str.split("\n").explode()
    return lines.head(lines.len() - 1) if data.endswith(b"\n") else lines


def _classify(lines: pl.Series, dialect: Dialect) -> pl.DataFrame:
    """Per line: blank, open (a quoted field it does not close) and its field count."""
    sep, s = dialect.separator, dialect.sep
    frame = pl.DataFrame({"st": lines.str.strip_suffix("\r")}).with_row_index("idx")
    shape = frame.select(
        "idx",
        blank=pl.col("st").str.contains(f"^[ \\t{s}]*$"),
        quoted=pl.col("st").str.contains(QUOTE, literal=True),
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
    return shape.select("idx", "blank").with_columns(fields.alias("fields"), open_.alias("open"))


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


def _read_open(
    lines: pl.Series, starts: list[int], dialect: Dialect, base: int, last: bool
) -> _Records:
    found = _Records([], [], [], lines.len())
    free = 0
    for start in starts:
        if start < free:
            continue
        window = lines.slice(start, MAX_RECORD_LINES).to_list()
        used, fields, why = dialect.parse_record(window)
        if why == INCOMPLETE and not last and len(window) < MAX_RECORD_LINES:
            found.stop = start
            break
        reason = _open_reason(why, fields, used, len(window), dialect.width)
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


def _slow(data: bytes, dialect: Dialect, base: int, last: bool) -> tuple[Parsed, int]:
    lines = _lines(data)
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
    table = _good_table(lines.filter(good), numbers, dialect, broken)
    if found.rows:
        records = _rows_table([(base + i + 1, f) for i, f in found.rows], dialect)
        table = pl.concat([table, records]).sort(LINE)
    broken.sort(key=lambda b: b.line)
    return Parsed(table, broken, int((keep & shape["blank"]).sum())), found.stop


def _count_lines(data: bytes) -> int:
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def is_blank(line: str, separator: str) -> bool:
    return not line.replace(separator, "").strip(" \t\r")


def parse_chunk(
    raw: bytes, legacy: bool, dialect: Dialect, base: int, last: bool
) -> tuple[Parsed, int, int]:
    """The records of ``raw`` (whole lines; line ``base + 1`` first): what was read, how many
    lines were used (fewer than all when a record goes on in the next chunk), how many lines.

    A UTF-8 file is validated only when Polars refuses the chunk (it checks UTF-8 itself)."""
    nlines = _count_lines(raw)
    if not nlines:
        return Parsed(dialect.empty(), [], 0), 0, 0
    data = to_utf8(raw, legacy) if legacy else raw
    fast = _fast(data, dialect, base, nlines)
    if fast is None and not legacy:
        data = to_utf8(raw, legacy)
        fast = None if data is raw else _fast(data, dialect, base, nlines)
    if fast is not None:
        return fast, nlines, nlines
    parsed, done = _slow(data, dialect, base, last)
    return parsed, done, nlines


# ---------------------------------------------------------------------------------------------
# the file
# ---------------------------------------------------------------------------------------------


def _cut(view: mmap.mmap, pos: int, want: int, floor: int = 0) -> int:
    """The end of a chunk from ``pos``: just after a newline found after ``floor``, about
    ``want`` bytes on (further when a line is longer)."""
    size = len(view)
    end = max(pos + want, floor)
    if end >= size:
        return size
    newline = view.rfind(b"\n", max(pos, floor), end)
    if newline < 0:
        newline = view.find(b"\n", end)
    return size if newline < 0 else newline + 1


def _skip_lines(view: mmap.mmap, pos: int, count: int) -> int:
    for _ in range(count):
        newline = view.find(b"\n", pos)
        pos = len(view) if newline < 0 else newline + 1
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


def _start(view: mmap.mmap, separator: str, legacy: bool, has_header: bool) -> _Start:
    begin = len(BOM) if view[: len(BOM)] == BOM else 0
    lines = to_utf8(view[begin : _cut(view, begin, SAMPLE_BYTES)], legacy).decode().split("\n")
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
    offset = _skip_lines(view, begin, blank + used)
    return _Start(Dialect(separator, tuple(names)), offset, blank + used, blank)


def _chunks(view: mmap.mmap, start: _Start, legacy: bool, chunk_bytes: int) -> Iterator[Parsed]:
    pos, line, size, floor = start.offset, start.line, len(view), 0
    blank, yielded = start.blank_lines, False
    while pos < size:
        end = _cut(view, pos, chunk_bytes, floor)
        raw = view[pos:end]
        parsed, done, total = parse_chunk(raw, legacy, start.dialect, line, end >= size)
        parsed.blank_lines, blank = parsed.blank_lines + blank, 0
        yield parsed
        yielded = True
        if done < total:  # a record goes on in the next bytes: read it again with them
            pos, floor = pos + _start_of_last_lines(raw, total - done), end
        else:
            pos = end
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
        try:
            view = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except (ValueError, OSError):
            raise UsageError(f"cannot read {path}: empty or not a regular file") from None
        with view:
            start = _start(view, separator, legacy, has_header)
            yield from _chunks(view, start, legacy, max(chunk_bytes, 1))
