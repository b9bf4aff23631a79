"""The body of ``POST /v1/decisions`` read as columns: one contact per row, one question per group.

Pydantic building and validating 10,000 ``DecisionRequest`` models cost about 15 ms a batch, a
third of the time the batch may take. A batch asks one or a few questions (channel, time,
purpose...) of many contacts, so this reader checks each row's contact by hand (a string of 1 to
320 characters, as ``DecisionRequest`` says) and validates each distinct set of the other fields
once, with ``DecisionRequest`` itself. Anything it does not recognise as plainly valid (a row
that is not an object, a field that is not a string or null, a group that does not validate,
more than :data:`MAX_BATCH` rows) sends the whole body through ``BatchRequest``, whose errors
are the route's 422 ``USAGE_ERROR`` message as before: the reader never decides what is an
error, pydantic does.

Grouping on raw JSON values is exact because only strings and nulls are grouped: a string equals
only the same string, so a group's validation holds for every row sharing its values.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import repeat
from typing import Any, cast

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from permis.entrypoints.api.decisions_model import MAX_BATCH, BatchRequest, DecisionRequest

FIELDS = ("channel", "at", "processor", "purpose", "audience", "sector", "campaign")
"""Every field of ``DecisionRequest`` but ``contact`` (a test checks the list is complete);
``purpose`` (3) and ``audience`` (4) have a default but are not nullable."""
_LIMITS = {type(m).__name__: m for m in DecisionRequest.model_fields["contact"].metadata}
_SHORTEST: int = _LIMITS["MinLen"].min_length
_LONGEST: int = _LIMITS["MaxLen"].max_length


@dataclass(frozen=True, slots=True)
class BatchColumns:
    contacts: list[str]
    group: list[int]
    """For each row, its question in :attr:`questions`."""
    questions: list[DecisionRequest]
    """Each distinct question once (its ``contact`` is a placeholder)."""


def read_batch(payload: Any) -> BatchColumns:
    """The batch in ``payload`` (the JSON body as FastAPI parsed it), or
    ``RequestValidationError`` with pydantic's own errors for ``BatchRequest``."""
    columns = _columns(payload)
    if columns is not None:
        return columns
    try:
        batch = BatchRequest.model_validate(payload)
    except ValidationError as error:
        raise RequestValidationError(error.errors()) from None
    return BatchColumns(
        [r.contact for r in batch.requests], list(range(len(batch.requests))), batch.requests
    )


def _columns(payload: Any) -> BatchColumns | None:
    """The columns, read with C-level ``map``s over the rows (no Python step per row: about
    2 µs a row before), or None for anything not plainly valid."""
    if type(payload) is not dict:
        return None
    items = payload.get("requests")
    if type(items) is not list or len(items) > MAX_BATCH:
        return None
    if not items:
        return BatchColumns([], [], [])
    if set(map(type, items)) != {dict}:
        return None
    contacts = cast(list[str], list(map(dict.get, items, repeat("contact"))))
    if set(map(type, contacts)) != {str}:
        return None
    if min(map(len, contacts)) < _SHORTEST or max(map(len, contacts)) > _LONGEST:
        return None
    present = set().union(*items)  # a field no row gives is a column of nulls: not read
    columns = {f: list(map(dict.get, items, repeat(f))) for f in FIELDS if f in present}
    for name in ("purpose", "audience"):  # an explicit null where the field has a default
        if name in columns:
            given = sum(map(dict.__contains__, items, repeat(name)))
            if given != len(items) - columns[name].count(None):
                return None  # pydantic says
    return _grouped(contacts, list(columns), list(columns.values()))


def _grouped(
    contacts: list[str], names: list[str], columns: list[list[Any]]
) -> BatchColumns | None:
    """Rows grouped by their values of the fields ``names`` (``columns``), each group's
    question validated once. Usually every row asks the same: each column equals its first
    value (``count``: no tuple per row); a column holding a non-string there fails ``_question``
    (a string equals only a string, ``None`` only ``None``)."""
    if all(c.count(c[0]) == len(c) for c in columns):
        keys: list[tuple[Any, ...]] = [tuple(c[0] for c in columns)]
        group = [0] * len(contacts)
    else:
        rows = list(zip(*columns, strict=True))
        try:
            number = {key: i for i, key in enumerate(dict.fromkeys(rows))}
        except TypeError:  # a list or an object among the fields: unhashable, and invalid
            return None
        keys = list(number)
        group = list(map(number.__getitem__, rows))
    questions = []
    for key in keys:
        values = dict(zip(names, key, strict=True))
        question = _question(tuple(map(values.get, FIELDS)))
        if question is None:
            return None
        questions.append(question)
    return BatchColumns(contacts, group, questions)


def _question(key: tuple[Any, ...]) -> DecisionRequest | None:
    """The fields of ``key`` validated once, or None (not only strings and nulls, or invalid).
    A null field is left out: for the nullable fields that is the same (their default is
    null); for ``purpose`` and ``audience`` an explicit null is refused by the caller."""
    if any(v is not None and type(v) is not str for v in key):
        return None
    fields = {name: v for name, v in zip(FIELDS, key, strict=True) if v is not None}
    try:
        return DecisionRequest.model_validate({**fields, "contact": "-"})
    except ValidationError:
        return None
