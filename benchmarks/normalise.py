"""Phone normalisation: the vectorised column (``services.normalise``) against ``parse_phone``.

``python -m benchmarks.normalise [rows [library_rows]]`` prints the figures as JSON. The corpus
is what a French call file looks like: mostly distinct mobiles and landlines written in every
usual way, some overseas numbers, some foreign ones and about 1% garbage (``SHARES``).
"""

from __future__ import annotations

import json
import random
import sys
import time
from collections.abc import Mapping

import polars as pl

from permis.domain.contact import OVERSEAS_PREFIXES, parse_phone
from permis.errors import InvalidContact
from permis.services.normalise import normalise_phones

OVERSEAS = ["690", "691", "694", "696", "697", "692", "693", "639", "262", "590", "596", "594"]
FOREIGN = [("+32 4", 8), ("+41 7", 8), ("+44 7", 9), ("+49 15", 9), ("+1 ", 10), ("+212 6", 8)]
GARBAGE = ["", "n/a", "?", "00", "inconnu", "0000000000", "+33 6 12 34 56 78 9"]
SHARES = {"garbage": 0.01, "foreign": 0.01, "overseas": 0.04}
"""Of the rows; the rest are metropolitan mobiles (60%) and landlines, all French forms."""


def corpus(rows: int, seed: int = 2026, shares: Mapping[str, float] = SHARES) -> list[str]:
    """``rows`` written numbers, mostly distinct (random subscriber digits)."""
    rng = random.Random(seed)
    digits = "0123456789"
    garbage, foreign, overseas = (shares[key] for key in ("garbage", "foreign", "overseas"))
    texts = []
    for _ in range(rows):
        roll = rng.random()
        if roll < garbage / 2:  # the same few words, or a number with a digit missing
            texts.append(rng.choice(GARBAGE))
            continue
        if roll < garbage:
            texts.append(_written("6" + "".join(rng.choices(digits, k=7)), rng))
            continue
        roll -= garbage
        if roll < foreign:
            prefix, size = rng.choice(FOREIGN)
            texts.append(prefix + "".join(rng.choices(digits, k=size)))
            continue
        if roll < foreign + overseas:
            prefix = rng.choice(OVERSEAS)
        elif rng.random() < 0.6:
            prefix = rng.choice(["6", "7"]) + rng.choice("012345678")
        else:
            prefix = rng.choice("1234599") + rng.choice(digits)
        texts.append(_written(prefix + "".join(rng.choices(digits, k=9 - len(prefix))), rng))
    return texts


def _written(nsn: str, rng: random.Random) -> str:
    """One of the usual ways of writing it; overseas numbers with their own calling code."""
    code = OVERSEAS_PREFIXES.get(nsn[:3], 33)
    national = "0" + nsn
    pairs = " ".join(nsn[i : i + 2] for i in range(1, 9, 2))
    form = rng.random()
    if form < 0.35:
        return " ".join(national[i : i + 2] for i in range(0, 10, 2))
    if form < 0.6:
        return national
    if form < 0.7:
        return ".".join(national[i : i + 2] for i in range(0, 10, 2))
    if form < 0.85:
        return f"+{code}{nsn}" if rng.random() < 0.5 else f"+{code} {nsn[0]} {pairs}"
    if form < 0.9:
        return f"00{code}{nsn}"
    if form < 0.95:
        return f"+{code} (0){nsn[0]} {pairs}"
    return nsn if rng.random() < 0.5 else "-".join(national[i : i + 2] for i in range(0, 10, 2))


def _library(texts: list[str]) -> list[tuple[str | None, ...]]:
    """The four columns from ``parse_phone``, one call per row."""
    rows: list[tuple[str | None, ...]] = []
    for text in texts:
        try:
            point = parse_phone(text)
        except InvalidContact:
            rows.append((None, None, None, None))
        else:
            rows.append((point.value, point.country, point.region, ",".join(point.timezones)))
    return rows


def run(
    rows: int = 200_000, library_rows: int = 200_000, shares: Mapping[str, float] = SHARES
) -> dict[str, float | int]:
    """Best of 3 for the column; ``parse_phone`` once per row on the first ``library_rows``
    (all of them by default), where the disagreements (any of the four columns) are counted."""
    texts = corpus(rows, shares=shares)
    series = pl.Series("phone", texts)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        frame = normalise_phones(series)
        best = min(best, time.perf_counter() - start)
    sample = texts[:library_rows]
    start = time.perf_counter()
    reference = _library(sample)
    library = time.perf_counter() - start
    got = frame.head(len(sample)).iter_rows()
    vectorised_rate = rows / best
    library_rate = len(sample) / library
    return {
        "rows": rows,
        "vectorised_rows_per_second": round(vectorised_rate),
        "library_rows_per_second": round(library_rate),
        "speedup": round(vectorised_rate / library_rate, 1),
        "disagreements": sum(a != b for a, b in zip(got, reference, strict=True)),
    }


if __name__ == "__main__":
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    library_rows = int(sys.argv[2]) if len(sys.argv) > 2 else rows
    print(json.dumps(run(rows, library_rows), indent=2))
