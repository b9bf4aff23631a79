"""The single check's shortcuts give exactly what the general path gives: the query read by
splitting (``parse_qsl``), the question validated once per distinct rest of the query
(``DecisionRequest``), the Decision written directly (``json`` on ``to_dict``)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qsl

import pytest
from pydantic import ValidationError

from permis.domain.model import Channel, Decision, Reason, ReasonCode
from permis.entrypoints.api import decisions as api
from permis.entrypoints.api.decisions_model import DecisionRequest
from permis.errors import PermisError
from permis.services.keys import KeyInfo, Role

PARIS = timezone(timedelta(hours=1))
AT = datetime(2026, 11, 24, 10, 30, tzinfo=PARIS)


def _random_query(rng: random.Random) -> str:
    alphabet = "ab=&%+2Bé;0 c"
    return "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 24)))


def test_the_query_is_read_as_parse_qsl_reads_it() -> None:
    rng = random.Random(7)
    samples = [_random_query(rng) for _ in range(5000)]
    samples += ["", "&", "=", "a", "a=", "=b", "a=1&a=2", "contact=0612&channel=call&&x"]
    for text in samples:
        assert api._query_fields(text) == dict(parse_qsl(text, keep_blank_values=True)), text


def test_the_contact_length_bound_is_the_model_s() -> None:
    field = DecisionRequest.model_fields["contact"]
    bounds = {type(m).__name__: m for m in field.metadata}
    assert getattr(bounds["MaxLen"], "max_length", None) == api.MAX_CONTACT
    assert getattr(bounds["MinLen"], "min_length", None) == 1


def _general(info: KeyInfo, fields: dict[str, str]) -> object:
    try:
        return api._query(info, DecisionRequest.model_validate(fields))
    except ValidationError as error:
        return ("422", error.errors(include_url=False))
    except PermisError as error:
        return (error.code, error.message)


def _shortcut(info: KeyInfo, fields: dict[str, str]) -> object:
    try:
        return api._single_query(info, fields)
    except ValidationError as error:
        return ("422", error.errors(include_url=False))
    except PermisError as error:
        return (error.code, error.message)


@pytest.mark.parametrize("role", [Role.CAMPAIGN, Role.PROCESSOR])
def test_the_question_is_the_one_the_model_gives_valid_or_not(role: Role) -> None:
    info = KeyInfo("k1", 1, "acme", role, "lille" if role is Role.PROCESSOR else None, None)
    cases = [
        {"contact": "0612345678", "channel": "call"},
        {"contact": "0612345678", "channel": "call", "at": "2026-11-24T10:30:00+01:00"},
        {"contact": "0612345678", "channel": "call", "at": "2026-11-24T10:30:00"},  # naive
        {
            "contact": "0612345678",
            "channel": "fax",
            "audience": "professional",
            "sector": "cpf_training",
        },
        {"contact": "0612345678", "channel": "call", "processor": "lille", "campaign": "c1"},
        {"contact": "0612345678", "channel": "call", "processor": "other"},
        {"contact": "0612345678", "channel": "pigeon"},
        {"contact": "0612345678"},
        {"contact": "", "channel": "call"},
        {"contact": "x" * 320, "channel": "call"},
        {"contact": "x" * 321, "channel": "call"},
        {"channel": "call"},
        {"contact": "0612345678", "channel": "call", "at": "yesterday"},
        {"contact": "0612345678", "channel": "call", "purpose": "p" * 201},
        {"contact": "0612345678", "channel": "call", "unknown": "ignored"},
    ]
    api._ASKED.clear()
    for _ in range(2):  # the second time through, the rest of each query is remembered
        for fields in cases:
            assert _shortcut(info, fields) == _general(info, fields), fields


def _decisions() -> list[Decision]:
    until = datetime(2026, 11, 24, 14, 0, tzinfo=PARIS)
    odd = 'quote " backslash \\ control \x01\n tab\t unicode é ✓ \u2028'
    reasons = (
        Reason(ReasonCode.OUTSIDE_HOURS, "FR.D223-9.hours", "art. D223-9", "Calls Mon-Fri", until),
        Reason(ReasonCode.OBJECTION, "EU.GDPR-21.objection", "RGPD art. 21", odd, None),
    )
    found = []
    for contact in ("+33612345678", None, "zoé@example.org"):
        for chosen in ((), reasons[:1], reasons):
            for policy in (None, "p-1"):
                found.append(
                    Decision(
                        allowed=not chosen,
                        contact=contact,
                        channel=Channel.CALL,
                        at=AT,
                        local_time=AT.astimezone(UTC),
                        reasons=chosen,
                        next_allowed_at=None if len(chosen) != 1 else until,
                        rules_version="fr-2026-08-11",
                        policy_version=policy,
                    )
                )
    found.append(
        Decision(True, "+33612345678", Channel.SMS, AT, AT, (), AT, "fr", None, {"why": [1, "é"]})
    )
    return found


def test_the_decision_is_written_as_json_writes_its_dict() -> None:
    for decision in _decisions():
        assert api.decision_json(decision) == api._dumps(decision.to_dict())
