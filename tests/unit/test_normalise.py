"""The vectorised normaliser gives, row by row, the answers of ``parse_phone``."""

from __future__ import annotations

import random
import sys

import polars as pl
import pytest

from permis.domain.contact import OVERSEAS_PREFIXES, parse_phone
from permis.errors import InvalidContact, UsageError
from permis.services import normalise
from permis.services.normalise import COLUMNS, WHITESPACE, normalise_phones

SEPARATORS = [" ", ".", "-", "", "  ", " - ", "/", "\u00a0", "\u202f", "\u2011", "\u2013", "\t"]
ODD_SPACES = ["\u2003", "\x1c", "\u3000", "\x85", "\u200b", "\ufeff", "\u180e", "\r\n"]
MAINLAND_FIRST = "1234567896677899"
OTHER_OVERSEAS = ["7090", "7091", "7092", "7093", "7084", "7085", "2688", "2689", "5987"]
OTHER_OVERSEAS += ["939", "9396", "947", "9475", "976", "9760", "9769", "2631", "2630", "2639"]
FOREIGN = [
    ("1", ["212555", "208456", "555555", "416555", "800555", "3105"], 10),
    ("44", ["2079", "7911", "1632", "800", "207"], 10),
    ("49", ["30", "151", "89", "170"], 11),
    ("32", ["4", "2", "47"], 9),
    ("41", ["7", "22", "44"], 9),
    ("212", ["6", "5", "7"], 9),
    ("34", ["6", "91", "7"], 9),
    ("7", ["916", "495", "3012"], 10),
    ("39", ["3", "06", "02"], 10),
    ("508", ["41", "55", "70840", "70850", "80"], 6),
    ("508", ["70840", "70855", "41"], 9),
    ("800", ["1234"], 8),
    ("999", ["1"], 9),
    ("590", ["5908", "690", "976", "0"], 9),
    ("262", ["2692", "6921", "639", "2631"], 9),
]
GARBAGE = [
    "",
    "   ",
    "tel:",
    "TeL:",
    "+",
    "++33612345678",
    "+33+612345678",
    "abc",
    "n/a",
    "N/A",
    "-",
    "0",
    "12345",
    "0612345678@",
    "06 12 34 56 78 (bureau)",
    "tel: 06 12 34 56 78 (bureau)",
    "06 12 34 56 78 ext 12",
    "06 12 34 56 78 x12",
    "+33612345678;ext=1",
    "06 12 34 56 78 #12",
    "06 AB 34 56 78",
    "+33 (0)6 12 (0)3 45 67",
    "(0)(0)612345678",
    "( 0 )6 12 34 56 78",
    "+33 ( 0)6 12 34 56 78",
    "+33 (0 )6 12 34 56 78",
    "06 ( 0)12 34 56 78",  # a trunk (0) with spaces inside, where it is removed
    "+33 6 ( 0 ) 12 34 56 78",
    "+(0)33612345678",
    "(0)0033612345678",
    "((0)612345678",
    "(0))612345678",
    "\uff10\uff16\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18",
    "06 12 34 56 78 " + "0 " * 40,
    "0" * 200,
    " " * 70 + "0612345678",
    "0" + " " * 54 + "612345678",  # 64 characters once stripped: read
    "0" + " " * 55 + "612345678",  # 65: refused
    "+33" + "." * 52 + "612345678",
    "+33" + "." * 53 + "612345678",
    "0612345678" + "\u00a0" * 60,
    "tel:tel:0612345678",
    "tel 0612345678",
    "tél:0612345678",
    "0612345678tel:",
    "00 12 34 56 78",
    "0000612345678",
    "+0612345678",
    "+00612345678",
    "0033",
    "+33",
    "+3",
    "+33 6",
    "06 12 34 56 78\n06 12 34 56 79",
]


def _group(digits: str, rng: random.Random, sep: str) -> str:
    parts, i = [], 0
    while i < len(digits):
        size = rng.choice([1, 2, 2, 2, 3, 4])
        parts.append(digits[i : i + size])
        i += size
    return sep.join(parts)


def _spaced(text: str, rng: random.Random) -> str:
    sep = rng.choice(SEPARATORS)
    return " ".join(text.split(" ")) if sep == " " else text.replace(" ", sep)


def _french_nsn(rng: random.Random) -> str:
    """Nine national digits: mostly mainland, often overseas, sometimes the odd ranges."""
    roll = rng.random()
    if roll < 0.45:
        prefix = rng.choice(MAINLAND_FIRST)
    elif roll < 0.75:
        prefix = rng.choice(sorted(OVERSEAS_PREFIXES))
    elif roll < 0.9:
        prefix = rng.choice(OTHER_OVERSEAS)
    else:
        prefix = "8" + rng.choice("0123456789")
    return prefix + "".join(rng.choice("0123456789") for _ in range(9 - len(prefix)))


def _french_form(nsn: str, rng: random.Random, dress: bool = True) -> str:
    code = rng.choice(["33", "33", "33", "590", "594", "596", "262", "508"])
    if nsn[:3] in OVERSEAS_PREFIXES and rng.random() < 0.7:
        code = str(OVERSEAS_PREFIXES[nsn[:3]])
    sep = rng.choice(SEPARATORS)
    national = "0" + nsn
    forms = [
        " ".join(national[i : i + 2] for i in range(0, 10, 2)),
        national,
        _group(national, rng, sep),
        f"{national[:4]} {nsn[3:5]} {nsn[5:7]} {nsn[7:]}",
        f"+{code}{nsn}",
        f"+{code} {_group(nsn, rng, sep)}",
        f"+{code}{sep}{_group(nsn, rng, sep)}",
        f"00{code}{nsn}",
        f"00 {code} {_group(nsn, rng, sep)}",
        f"(0){_group(nsn, rng, sep)}",
        f"(0) {_group(nsn, rng, sep)}",
        f"+{code} (0){_group(nsn, rng, sep)}",
        f"+{code}(0){nsn}",
        f"00{code} (0){nsn}",
        f"+{code} 0{nsn}",
        f"+{code}{national}",
        nsn,
        _group(nsn, rng, sep),
        f"({national[:4]}) {nsn[3:]}",
    ]
    return _dress(rng.choice(forms), rng) if dress else rng.choice(forms)


def _dress(form: str, rng: random.Random) -> str:
    """``tel:`` prefixes, surrounding blanks, and now and then a damaged number."""
    roll = rng.random()
    if roll < 0.04:  # one digit too many or too few
        form = form + rng.choice("0123456789") if rng.random() < 0.5 else form[:-1]
    elif roll < 0.06:
        i = rng.randrange(len(form) + 1)
        form = form[:i] + rng.choice(["x", "#", ";ext=", "+", "(0)", ":", "t", "e"]) + form[i:]
    elif roll < 0.08:
        form = form.replace(" ", rng.choice(ODD_SPACES))
    if rng.random() < 0.1:
        form = rng.choice(["tel:", "TEL:", "tel: ", "Tel:\u00a0", "tEl:\t"]) + form
    return (
        rng.choice(["", "", "", " ", "\t", "\u00a0", "\u2003"])
        + form
        + rng.choice(["", "", "", " ", "\n", "\u202f", "\x1c"])
    )


def _foreign(rng: random.Random) -> str:
    code, prefixes, size = rng.choice(FOREIGN)
    prefix = rng.choice(prefixes)
    rest = "".join(rng.choice("0123456789") for _ in range(max(size - len(prefix), 1)))
    sep = rng.choice(SEPARATORS)
    written = rng.choice([f"+{code}", f"00{code}", f"+{code} (0)", f"+ {code}"])
    return _dress(f"{written} {_group(prefix + rest, rng, sep)}", rng)


def _random_text(rng: random.Random) -> str:
    alphabet = "0123456789 +-.()/tel:#x\u00a0\u2013"
    return "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 20)))


def corpus(size: int = 50_000, seed: int = 20261124) -> list[str | None]:
    """Every written form, every territory, foreign numbers and garbage, seeded."""
    rng = random.Random(seed)
    texts: list[str | None] = [*GARBAGE, None]
    while len(texts) < size:
        roll = rng.random()
        if roll < 0.75:
            texts.append(_french_form(_french_nsn(rng), rng))
        elif roll < 0.9:
            texts.append(_foreign(rng))
        elif roll < 0.97:
            texts.append(_random_text(rng))
        else:
            texts.append(rng.choice(GARBAGE) if rng.random() < 0.5 else None)
    return texts


def expected(text: str | None, region: str = "FR") -> tuple[str | None, ...]:
    if text is None:
        return (None, None, None, None)
    try:
        point = parse_phone(text, region)
    except InvalidContact:
        return (None, None, None, None)
    return (point.value, point.country, point.region, ",".join(point.timezones))


def _disagreements(texts: list[str | None], region: str = "FR") -> list[tuple[object, ...]]:
    frame = normalise_phones(pl.Series("phone", texts, dtype=pl.Utf8), region)
    assert frame.columns == list(COLUMNS)
    assert frame.height == len(texts)
    assert all(dtype == pl.Utf8 for dtype in frame.dtypes)
    return [
        (text, want, got)
        for text, got in zip(texts, frame.iter_rows(), strict=True)
        if (want := expected(text, region)) != got
    ]


def test_the_corpus_agrees_with_parse_phone_row_by_row() -> None:
    texts = corpus()
    assert len(texts) >= 50_000
    assert _disagreements(texts) == []


def test_the_corpus_covers_every_outcome() -> None:
    texts = corpus(5_000)
    frame = normalise_phones(pl.Series(texts, dtype=pl.Utf8))
    countries = set(frame["country"].drop_nulls())
    assert {"FR", "GP", "BL", "MF", "GF", "MQ", "RE", "YT", "PM", "US", "GB", "DE"} <= countries
    assert frame["contact"].null_count() > len(texts) // 20  # garbage and unlucky digits
    assert "" in set(frame["timezones"].drop_nulls())  # +800: valid, no zone


@pytest.mark.parametrize("region", ["GP", "re", "YT", "MQ"])
def test_french_territories_read_the_integrated_plan(region: str) -> None:
    assert _disagreements(corpus(3_000, seed=7), region) == []


@pytest.mark.parametrize("region", ["US", "GB", "BE", "CH"])
def test_other_default_regions_fall_back_to_the_library(region: str) -> None:
    texts = [*corpus(2_000, seed=11), "(208) 456-7890", "020 7946 0958", "0470 12 34 56"]
    assert _disagreements(texts, region) == []


def test_french_forms_never_reach_the_library(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def spy(text: str, region: str = "FR") -> object:
        calls.append(text)
        return parse_phone(text, region)

    monkeypatch.setattr(normalise, "parse_phone", spy)
    rng = random.Random(5)
    texts: list[str | None] = [
        _french_form(_french_nsn(rng), rng, dress=False) for _ in range(5_000)
    ]
    texts += ["", "  ", "abc", "06 12 34 56", "06 12 34 56 78 x12", "+33 6 12 34 56 78 9", None]
    frame = normalise_phones(pl.Series(texts, dtype=pl.Utf8))
    assert calls == []
    assert frame["contact"].null_count() < len(texts)
    foreign = ["+44 20 7946 0958", "+1 212-555-1234", "+44 20 7946 0958", "00 44 20 7946 0958"]
    normalise_phones(pl.Series(foreign * 50))
    assert sorted(calls) == sorted(set(foreign))  # once per distinct value


def test_unknown_default_region() -> None:
    with pytest.raises(UsageError):
        normalise_phones(pl.Series(["06 12 34 56 78"]), "XX")


def test_order_length_and_nulls() -> None:
    texts = [None, "06 12 34 56 78", "", "+1 212-555-1234", None, "0690 12 34 56", "abc", None]
    frame = normalise_phones(pl.Series(texts, dtype=pl.Utf8))
    assert frame["contact"].to_list() == [
        None,
        "+33612345678",
        None,
        "+12125551234",
        None,
        "+590690123456",
        None,
        None,
    ]
    assert frame.row(1) == ("+33612345678", "FR", "metropole", "Europe/Paris")
    assert frame.row(3) == ("+12125551234", "US", None, "America/New_York")
    assert frame.row(5) == ("+590690123456", "GP", "GP", "America/Guadeloupe")
    assert frame.row(0) == (None, None, None, None)


def test_empty_and_all_null_columns() -> None:
    assert normalise_phones(pl.Series([], dtype=pl.Utf8)).shape == (0, 4)
    frame = normalise_phones(pl.Series([None, None], dtype=pl.Utf8))
    assert frame.null_count().row(0) == (2, 2, 2, 2)


def test_repeated_values_and_chunked_input() -> None:
    texts = ["+44 20 7946 0958", "06 12 34 56 78", "+44 20 7946 0958", "0976 01 23 45"] * 3
    series = pl.concat([pl.Series(texts[:5]), pl.Series(texts[5:])], rechunk=False)
    assert series.n_chunks() == 2
    frame = normalise_phones(series)
    assert (
        frame["contact"].to_list() == ["+442079460958", "+33612345678", "+442079460958", None] * 3
    )


def test_whitespace_is_what_python_strips() -> None:
    spaces = {chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()}
    assert set(WHITESPACE) == spaces
    assert len(WHITESPACE) == len(spaces)
