"""The batch body read as columns: rows grouped by their question, the rest left to pydantic."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.exceptions import RequestValidationError

from permis.entrypoints.api.batch_body import FIELDS, _columns, read_batch
from permis.entrypoints.api.decisions_model import DecisionRequest

ROW = {"contact": "0612345678", "channel": "call", "at": "2026-11-20T21:05:00+01:00"}


def test_the_grouped_fields_are_every_field_but_the_contact() -> None:
    assert {"contact", *FIELDS} == set(DecisionRequest.model_fields)
    assert FIELDS[3:5] == ("purpose", "audience")  # the not-nullable defaults, by position


def test_rows_asking_the_same_question_share_one_validation() -> None:
    rows: list[dict[str, Any]] = [ROW, {**ROW, "contact": "0712345678"}, {**ROW, "channel": "sms"}]
    rows.append({**ROW, "contact": "x", "processor": None})  # null = absent for a nullable field
    columns = _columns({"requests": rows})
    assert columns is not None
    assert columns.contacts == ["0612345678", "0712345678", "0612345678", "x"]
    assert columns.group == [0, 0, 1, 0]
    assert [q.channel.value for q in columns.questions] == ["call", "sms"]


@pytest.mark.parametrize(
    "row",
    [
        {**ROW, "purpose": None},
        {**ROW, "audience": None},
        {**ROW, "at": 1795000000},
        {**ROW, "contact": 5},
        {**ROW, "channel": "pigeon"},
        {**ROW, "campaign": ["a list"]},
        {**ROW, "campaign": {"an": "object"}},
        {**ROW, "contact": ""},
        {**ROW, "contact": "0" * 321},
        {"channel": "call"},
        ["not", "an", "object"],
    ],
)
def test_anything_unusual_is_left_to_pydantic(row: Any) -> None:
    assert _columns({"requests": [ROW, row]}) is None
    assert _columns({"requests": [row, ROW, ROW]}) is None
    assert _columns({"requests": [row] * 3}) is None


def test_a_field_on_some_rows_only_and_in_any_order() -> None:
    later = {"at": ROW["at"], "campaign": "c1", "channel": "call", "contact": "0712345678"}
    columns = _columns({"requests": [ROW, later, {**ROW, "purpose": "care"}, ROW]})
    assert columns is not None
    assert columns.group == [0, 1, 2, 0]
    assert [(q.campaign, q.purpose) for q in columns.questions] == [
        (None, "prospecting"),
        ("c1", "prospecting"),
        (None, "care"),
    ]
    assert _columns({"requests": []}) == _columns({"requests": []})


def test_every_row_with_only_a_contact_is_left_to_pydantic() -> None:
    assert _columns({"requests": [{"contact": "0612345678"}] * 2}) is None


def test_an_explicit_null_default_is_refused_even_on_the_first_row() -> None:
    with pytest.raises(RequestValidationError):
        read_batch({"requests": [{**ROW, "purpose": None}, ROW]})


def test_what_pydantic_accepts_the_slow_path_reads() -> None:
    columns = read_batch({"requests": [{**ROW, "at": 1795000000}, ROW]})
    assert columns.contacts == ["0612345678", "0612345678"]
    assert columns.group == [0, 1]
    assert columns.questions[0].at is not None and columns.questions[0].at.year == 2026
