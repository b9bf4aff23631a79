"""Phone numbers of a whole column, vectorised, with exactly the answers of ``parse_phone``.

Why vectorised: a campaign file holds ~10 million rows, mostly distinct numbers, and
``parse_phone`` costs tens of microseconds a row; Polars string kernels (Rust, no Python per row)
carry the written forms of the French plan at millions of rows a second.

How: the text is checked and reduced exactly like ``contact._compact`` (one anchored regex for
the allowed characters, one Aho-Corasick pass for the digits, ``+`` written ``00``), then the
digits are classified like ``contact._french_plan_number``. Metropolitan numbers are decided in
that pass; the numbers that may belong overseas (the prefix table, or any overseas number type)
are resolved on their own, a few percent of the rows, with every region's patterns.

Why metadata-derived patterns: validity must be ``phonenumbers.is_valid_number``, so it is read
from the library's own metadata: a number is valid in a region when it matches the general
description and one number type's ``national_number_pattern``; the region of +590 and +262 is the
first of the calling code's regions (in the library's order) where it is valid. The patterns are
compiled into anchored regexes on first use (``functools.cache``), never at import.

Why a distinct-value fallback: everything else (foreign numbers, odd forms, non-French default
regions) goes to ``parse_phone`` itself, once per *distinct* value, and is scattered back.

Invalid rows (and null, empty or blank input) are null in every column, ``timezones`` included;
a valid number without a known zone has ``timezones == ""``.
"""

from __future__ import annotations

import functools
from typing import Any, Final

import phonenumbers
import polars as pl

from permis.domain.contact import (
    _MAX_INPUT,
    _SEPARATORS,
    FRENCH_PLAN_ZONES,
    METROPOLE,
    NATIONAL_REGIONS,
    OVERSEAS_CODES,
    OVERSEAS_PREFIXES,
    parse_phone,
)
from permis.errors import InvalidContact, UsageError

COLUMNS: Final = ("contact", "country", "region", "timezones")

WHITESPACE: Final = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000"
)
"""Every character for which ``str.isspace()`` holds (what ``strip`` and ``split`` remove)."""


def _klass(chars: str) -> str:
    return "".join(f"\\x{{{ord(ch):x}}}" for ch in sorted(chars))


_WS: Final = f"[{_klass(WHITESPACE)}]"
_PREFIX: Final = f"^{_WS}*(?:[tT][eE][lL]:{_WS}*)?"  # strip, then ``tel:`` and lstrip
_SHAPE: Final = f"{_PREFIX}\\+?[0-9{_klass(WHITESPACE + ''.join(_SEPARATORS))}]*$"
_TRUNK: Final = f"\\({_WS}*0{_WS}*\\)"  # ``(0)`` once the spaces are gone
_TRUNK_FIRST: Final = f"{_PREFIX}\\+?{_WS}*{_TRUNK}"  # kept by ``_compact``: its 0 is a digit
_ODD_TRUNK: Final = f"(?s)\\((?:{_WS}+0{_WS}*|0{_WS}+)\\)|{_TRUNK}.*{_TRUNK}"  # to the library
_REMOVED: Final = {  # the (0) first: ``leftmost`` prefers the first of the patterns
    "(0)": "",
    "+": "00",
    **dict.fromkeys(WHITESPACE + "".join(sorted(_SEPARATORS)) + "tTeElL:", ""),
}
_FAST_CODES: Final = ("33", *sorted({str(cc) for cc in OVERSEAS_PREFIXES.values()}), "508")
_NATIONAL: Final = r"^0?[1-9]\d{8}$"  # 0 + 9 digits, or the 9 digits without the trunk 0
_INTERNATIONAL: Final = f"^00(?:{'|'.join(_FAST_CODES)})0?[1-9]\\d{{8}}$"
"""+cc and 9 digits, maybe after a 0 that ``phonenumbers.parse`` drops: no general description
of these codes holds a number starting with 0, so a 0 before 9 digits is the national prefix."""
_NSN: Final = 9
_PLAIN: Final = r"^(?:(?:\+33|0033) ?|0)?[1-9](?:[ .]?[0-9]{2}){4}$"
"""The usual written forms (``0612345678``, ``06 12 34 56 78``, ``06.12.34.56.78``, ``612345678``,
``+33 6 12 34 56 78``, ``0033612345678``): a national or +33 number, spaces or dots between pairs.
For these the general pass can only find its nine national digits; they skip its other tests."""
_CODES: Final = (33, *OVERSEAS_CODES)
_TYPES: Final = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
    "mobile",
)
"""The order of ``phonenumbers``' ``_number_type_helper``: valid when one of them matches."""
_INVALID, _DONE, _OVERSEAS, _LIBRARY = 0, 1, 2, 3  # what is left to do for a row


def normalise_phones(raw: pl.Series, default_region: str = "FR") -> pl.DataFrame:
    """Columns contact, country, region, timezones; one row per input row, same order."""
    region = default_region.upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise UsageError(f"unknown default region {default_region!r}")
    text = raw.cast(pl.Utf8).rename("raw")
    frame = _first_pass(text, region in NATIONAL_REGIONS)
    overseas = (frame["todo"] == _OVERSEAS).arg_true()
    library = (frame["todo"] == _LIBRARY).arg_true()
    digits, texts = frame["k"].gather(overseas), frame["raw"].gather(library)
    columns = {name: frame.drop_in_place(name) for name in COLUMNS}  # owned: scattered in place
    del frame
    if len(overseas):
        _scatter(columns, overseas, _overseas(digits))
    if len(library):
        _scatter(columns, library, _library(texts, region))
    return pl.DataFrame(columns)


def _first_pass(text: pl.Series, national: bool) -> pl.DataFrame:
    """Every row checked and reduced; metropolitan numbers decided, the rest flagged (``todo``).

    Rows in a usual written form (``_PLAIN``, most of a campaign file) take a shorter pass
    (``_plain_pass``); the others the general one, on their own, scattered back."""
    raw = pl.col("raw")
    if not national:  # ``_compact`` refusals here, everything else to the library
        shaped = raw.str.contains(_SHAPE).fill_null(False)
        todo = pl.when(shaped).then(_LIBRARY).otherwise(_INVALID).cast(pl.UInt8).alias("todo")
        nulls = (pl.lit(None, pl.Utf8).alias(name) for name in COLUMNS)
        return pl.DataFrame({"raw": text}).select(raw, todo, *nulls, k=pl.lit(None, pl.Utf8))
    plain = text.str.contains(_PLAIN).fill_null(False)
    if not plain.any():
        return _general_pass(text)
    frame = _plain_pass(text)
    others = (~plain).arg_true()
    if not len(others):
        return frame
    general = _general_pass(text.gather(others))
    return pl.DataFrame([frame[c].scatter(others, general[c]) for c in frame.columns])


def _decided(valid: pl.Expr, nsn: pl.Expr) -> list[pl.Expr]:
    """The columns of a metropolitan number, null where ``valid`` does not hold."""
    return [
        pl.when(valid).then("+33" + nsn).alias("contact"),
        pl.when(valid).then(pl.lit("FR")).alias("country"),
        pl.when(valid).then(pl.lit(METROPOLE)).alias("region"),
        pl.when(valid).then(pl.lit(FRENCH_PLAN_ZONES["FR"])).alias("timezones"),
    ]


def _valid(nsn: pl.Expr) -> pl.Expr:
    """The nine digits ``nsn`` are a valid metropolitan number (with ``todo`` done)."""
    # every nsn here is [1-9] + 8 digits: a general description saying just that is implied
    patterns = [p for p in _region_patterns("FR") if p != _anchored([r"[1-9]\d{8}"])]
    return pl.all_horizontal(pl.col("todo") == _DONE, *(nsn.str.contains(p) for p in patterns))


def _plain_pass(text: pl.Series) -> pl.DataFrame:
    """``_general_pass`` for rows in a ``_PLAIN`` form (the others get meaningless values).

    There ``_compact`` only drops spaces and dots, so the digits end with the nine national
    ones (``k`` keeps just those: enough for ``_overseas``); a +33 or 0033 form is metropolitan
    (``_todo``: ``_INTERNATIONAL`` starting with 0033), a national one may be overseas."""
    raw, nsn = pl.col("raw"), pl.col("nsn")
    international = raw.str.starts_with("+") | raw.str.starts_with("00")
    national = nsn.str.starts_with("8") | ~nsn.str.contains(_overseas_pattern())
    todo = pl.when(international | national).then(_DONE).otherwise(_OVERSEAS).cast(pl.UInt8)
    return (
        pl.LazyFrame({"raw": text})
        .with_columns(
            nsn=raw.str.replace_all(" ", "", literal=True)
            .str.replace_all(".", "", literal=True)
            .str.slice(-_NSN)
        )
        .with_columns(todo=todo)
        .select(raw, nsn.alias("k"), pl.col("todo"), *_decided(_valid(nsn), nsn))
        .collect(engine="streaming")
    )


def _general_pass(text: pl.Series) -> pl.DataFrame:
    """Every row checked and reduced like ``_compact``, then classified (``_todo``)."""
    raw, k, nsn = pl.col("raw"), pl.col("k"), pl.col("nsn")
    digits = raw.str.replace_many(_REMOVED, leftmost=True)
    return (
        pl.LazyFrame({"raw": text})
        .with_columns(
            k=pl.when(raw.str.contains(_TRUNK_FIRST)).then("0" + digits).otherwise(digits)
        )
        .with_columns(nsn=k.str.slice(-_NSN))
        .with_columns(todo=_todo())
        .select(raw, k, pl.col("todo"), *_decided(_valid(nsn), nsn))
        .collect(engine="streaming")
    )


def _todo() -> pl.Expr:
    """What is left to do for a row, from its digits ``k`` (``+`` as 00) and last 9 ``nsn``."""
    raw, k, nsn = pl.col("raw"), pl.col("k"), pl.col("nsn")
    shaped = raw.str.contains(_SHAPE).fill_null(False)
    odd = (raw.str.len_chars() > _MAX_INPUT) | raw.str.contains(_ODD_TRUNK)
    # 8: special rates, metropolitan from everywhere; else overseas when it may be
    national = pl.when(nsn.str.starts_with("8") | ~nsn.str.contains(_overseas_pattern()))
    international = pl.when(k.str.starts_with("0033"))
    return (
        pl.when(~shaped)
        .then(_INVALID)
        .when(odd)
        .then(_LIBRARY)
        .when(k.str.contains(_NATIONAL))
        .then(national.then(_DONE).otherwise(_OVERSEAS))
        .when(k.str.contains(_INTERNATIONAL))
        .then(international.then(_DONE).otherwise(_OVERSEAS))
        .when(k.str.starts_with("00") & ~k.str.starts_with("0033"))
        .then(_LIBRARY)
        .otherwise(_INVALID)  # +33 in any other shape, or not 9 national digits
        .cast(pl.UInt8)
    )


def _overseas(digits: pl.Series) -> pl.DataFrame:
    """Numbers that may be overseas: the calling code as written, else routed like ``contact``;
    then each calling code's patterns on its own rows only."""
    k, nsn, code = pl.col("k"), pl.col("nsn"), pl.col("code")
    table = {prefix: str(cc) for prefix, cc in OVERSEAS_PREFIXES.items()}
    frame = (
        digits.to_frame()
        .with_row_index("row")
        .with_columns(nsn=k.str.slice(-_NSN))
        .with_columns(
            code=pl.coalesce(
                pl.when(k.str.starts_with("00")).then(k.str.slice(2, 3)),
                nsn.str.slice(0, 3).replace_strict(table, default=None, return_dtype=pl.Utf8),
            )
        )
    )
    found = [_country(cc, nsn).is_not_null() for cc in OVERSEAS_CODES]
    routed = pl.when(pl.sum_horizontal(found) <= 1).then(  # null when ambiguous
        pl.coalesce(
            *(
                pl.when(f).then(pl.lit(str(cc)))
                for f, cc in zip(found, OVERSEAS_CODES, strict=True)
            ),
            pl.lit("33"),
        )
    )
    frame = pl.concat(
        [frame.filter(code.is_not_null()), frame.filter(code.is_null()).with_columns(code=routed)]
    )
    parts = [
        part.with_columns(country=_country(int(cc), nsn) if cc else pl.lit(None, pl.Utf8))
        for (cc,), part in frame.partition_by("code", as_dict=True).items()
    ]
    country = pl.col("country")
    return (
        pl.concat(parts)
        .sort("row")
        .select(
            pl.when(country.is_not_null()).then("+" + code + nsn).alias("contact"),
            country,
            pl.when(country == "FR").then(pl.lit(METROPOLE)).otherwise(country).alias("region"),
            country.replace_strict(FRENCH_PLAN_ZONES, default=None).alias("timezones"),
        )
    )


def _library(raw: pl.Series, region: str) -> pl.DataFrame:
    """``parse_phone`` once per distinct value, joined back to the rows in their order."""
    parsed = [(value, *_parse(value, region)) for value in raw.unique().to_list()]
    schema = dict.fromkeys(("raw", *COLUMNS), pl.Utf8)
    table = pl.DataFrame(parsed, schema=schema, orient="row")
    return raw.to_frame().join(table, on="raw", how="left", maintain_order="left").select(COLUMNS)


def _parse(value: str, region: str) -> tuple[str | None, ...]:
    try:
        point = parse_phone(value, region)
    except InvalidContact:
        return (None, None, None, None)
    return (point.value, point.country, point.region, ",".join(point.timezones))


def _scatter(columns: dict[str, pl.Series], rows: pl.Series, values: pl.DataFrame) -> None:
    for name in COLUMNS:
        columns[name] = columns[name].scatter(rows, values[name])


# --- patterns from phonenumbers' metadata --------------------------------------------------------


def _country(cc: int, nsn: pl.Expr) -> pl.Expr:
    """``region_code_for_number`` of +cc nsn when ``is_valid_number`` holds, else null."""
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE[cc]
    country = pl.lit(None, pl.Utf8)
    for region in reversed(regions):
        general, types = _region_patterns(region)
        valid = nsn.str.contains(general) & nsn.str.contains(types)
        leading = _metadata(region).leading_digits
        if len(regions) == 1:
            chosen = pl.lit(True)
        else:  # the first region whose leading digits, or else whose patterns, match
            chosen = nsn.str.contains(f"^(?:{leading})") if leading else valid
        country = pl.when(chosen).then(pl.when(valid).then(pl.lit(region))).otherwise(country)
    return country


@functools.cache
def _region_patterns(region: str) -> tuple[str, str]:
    """(general description, any number type): both must match 9 digits valid in ``region``."""
    meta = _metadata(region)
    general = _pattern(meta.general_desc)
    types = _type_patterns(region)
    if general is None or not types:
        return "^$", "^$"  # never matches 9 digits
    return _anchored([general]), _anchored(types)


@functools.cache
def _overseas_pattern() -> str:
    """Nine digits that may belong overseas: the prefix table, or any overseas number type."""
    patterns = [f"(?:{'|'.join(sorted(OVERSEAS_PREFIXES))})\\d*"]
    for cc in OVERSEAS_CODES:
        for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE[cc]:
            patterns += _type_patterns(region)
    return _anchored(list(dict.fromkeys(patterns)))


def _type_patterns(region: str) -> list[str]:
    meta = _metadata(region)
    names = [n for n in _TYPES if n != "mobile" or not meta.same_mobile_and_fixed_line_pattern]
    return [p for p in (_pattern(getattr(meta, name)) for name in names) if p is not None]


def _pattern(desc: Any) -> str | None:
    """The desc's pattern when it may hold 9-digit numbers (``_is_number_matching_desc``)."""
    if desc is None or not desc.national_number_pattern:
        return None
    if desc.possible_length and _NSN not in desc.possible_length:
        return None
    return str(desc.national_number_pattern)


def _metadata(region: str) -> Any:
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if meta is None:
        raise LookupError("no phonenumbers metadata for a region of the French plan")
    return meta


def _anchored(patterns: list[str]) -> str:
    return "^(?:" + "|".join(f"(?:{p})" for p in patterns) + ")$"
