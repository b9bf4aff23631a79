"""The single check's query read by hand (``decisions._common_query``) must be what
``DecisionRequest`` reads from ``parse_qsl``: whenever the hand reader answers, pydantic accepts
the same query and gives the same fields; anything else goes to pydantic (and its 422s)."""

from __future__ import annotations

import random
from typing import Any
from urllib.parse import parse_qsl

import pytest
from pydantic import ValidationError

from permis.entrypoints.api.decisions import _common_query, read_query
from permis.entrypoints.api.decisions_model import DecisionRequest

VALUES: dict[str, list[str]] = {
    "contact": [
        "0612345678",
        "%2B33612345678",
        "06%2012%2034",
        "06+12+34+56+78",
        "zo%C3%A9%40example.org",
        "",
        "x" * 320,
        "x" * 321,
        "%ZZ",
        "%C3",
        "a=b",
        "é",
    ],
    "channel": ["call", "sms", "email", "CALL", "pigeon", "", "c%61ll", "call "],
    "at": [
        "2026-11-24T10%3A30%3A00%2B01%3A00",
        "2026-11-24T10:30:00Z",
        "2026-11-24T10:30:00-05:30",
        "2026-11-24T10:30:00",
        "2026-11-24T10:30:00.5%2B01:00",
        "2026-13-24T10:30:00Z",
        "2026-02-30T10:30:00Z",
        "2026-11-24T24:00:00Z",
        "2026-11-24T10:30:60Z",
        "2026-11-24T10:30:00%2B24:00",
        "2026-11-24T10:30:00%2B23:59",
        "2026-11-24T10:30:00-00:00",
        "0000-01-01T00:00:00Z",
        "2026-11-24 10:30:00Z",
        "1795000000",
        "",
    ],
    "purpose": ["prospecting", ""],
    "processor": ["tunis"],
    "cont%61ct": ["0612345678"],
}


def _queries(count: int) -> list[str]:
    rng = random.Random(11)
    names = list(VALUES)
    found = ["", "&", "contact=0612345678&channel=call&", "contact&channel=call"]
    for _ in range(count):
        if rng.random() < 0.6:  # the usual three (or two), in any order
            chosen = rng.sample(["contact", "channel", "at"], rng.choice([2, 3, 3]))
        else:
            chosen = rng.sample(names, rng.randint(1, 4))
        if rng.random() < 0.1:
            chosen.append(rng.choice(chosen))  # a repeated parameter
        parts = [f"{n}={rng.choice(VALUES[n])}" for n in chosen]
        found.append("&".join(parts))
    return found


def _pydantic(text: str) -> DecisionRequest | str:
    try:
        return DecisionRequest.model_validate(dict(parse_qsl(text, keep_blank_values=True)))
    except ValidationError as error:
        return str(error.errors(include_url=False))


def _fields(asked: DecisionRequest) -> dict[str, Any]:
    data = asked.model_dump()
    at = data.pop("at")
    return {**data, "at": None if at is None else (at, at.utcoffset(), at.isoformat())}


@pytest.mark.parametrize("text", _queries(3000))
def test_the_hand_reader_agrees_with_pydantic(text: str) -> None:
    expected = _pydantic(text)
    common = _common_query(text)
    if common is not None:
        assert isinstance(expected, DecisionRequest), text
        assert _fields(DecisionRequest.model_construct(**common)) == _fields(expected)
    if isinstance(expected, DecisionRequest):
        assert _fields(read_query(text)) == _fields(expected)
    else:
        with pytest.raises(ValidationError) as info:
            read_query(text)
        assert str(info.value.errors(include_url=False)) == expected


def test_the_usual_dialer_query_is_read_by_hand() -> None:
    """The benchmark's query (the one the route must answer fast) takes the hand reader."""
    text = "channel=call&at=2026-11-24T10%3A30%3A00%2B01%3A00&contact=0612345678"
    assert _common_query(text) is not None
