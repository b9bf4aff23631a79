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
from typing import Any

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
    if type(payload) is not dict:
        return None
    items = payload.get("requests")
    if type(items) is not list or len(items) > MAX_BATCH:
        return None
    contacts: list[str] = []
    group: list[int] = []
    seen: dict[tuple[Any, ...], int] = {}
    questions: list[DecisionRequest] = []
    for item in items:
        if type(item) is not dict:
            return None
        contact = item.get("contact")
        if type(contact) is not str or not _SHORTEST <= len(contact) <= _LONGEST:
            return None
        key = tuple(map(item.get, FIELDS))
        if (key[3] is None and "purpose" in item) or (key[4] is None and "audience" in item):
            return None  # an explicit null where the field has a default: pydantic says
        try:
            found = seen.get(key)
        except TypeError:  # a list or an object among the fields: unhashable, and invalid
            return None
        if found is None:
            question = _question(key)
            if question is None:
                return None
            found = seen[key] = len(questions)
            questions.append(question)
        contacts.append(contact)
        group.append(found)
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
