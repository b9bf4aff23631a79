"""The vocabulary of Permis: channels, audiences, the facts a decision is made from, and Decision.

Pure data: no I/O, no clock. Every time is an aware ``datetime``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from permis.domain.contact import ContactPoint

ALL = "all"
"""Channel or purpose value meaning every channel / every purpose."""

DEFAULT_PURPOSE = "prospecting"


class Channel(StrEnum):
    CALL = "call"
    AUTOMATED_CALL = "automated_call"
    SMS = "sms"
    EMAIL = "email"
    POST = "post"
    MESSAGING = "messaging"
    FAX = "fax"


PHONE_CHANNELS = frozenset({Channel.CALL, Channel.AUTOMATED_CALL})
ELECTRONIC_CHANNELS = frozenset(
    {Channel.AUTOMATED_CALL, Channel.SMS, Channel.EMAIL, Channel.MESSAGING, Channel.FAX}
)


class Audience(StrEnum):
    CONSUMER = "consumer"
    PROFESSIONAL = "professional"


class Source(StrEnum):
    AGENT = "agent"
    SMS = "sms"
    EMAIL = "email"
    WEB = "web"
    POST = "post"
    COMPLAINT = "complaint"
    API = "api"
    IMPORT = "import"


class Outcome(StrEnum):
    ANSWERED = "answered"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    VOICEMAIL = "voicemail"
    REFUSED = "refused"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"


class Period(StrEnum):
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


class Sector(StrEnum):
    """Sectors with their own regime. ``general`` is everything else."""

    GENERAL = "general"
    ENERGY_RENOVATION = "energy_renovation"
    HOME_ADAPTATION = "home_adaptation"
    CPF_TRAINING = "cpf_training"


class ReasonCode(StrEnum):
    """DESIGN.md 4.2. Codes are added when the law needs them, never renamed."""

    INVALID_CONTACT = "INVALID_CONTACT"
    OBJECTION = "OBJECTION"
    OPPOSITION_LIST = "OPPOSITION_LIST"
    OPPOSITION_LIST_STALE = "OPPOSITION_LIST_STALE"
    NO_CONSENT = "NO_CONSENT"
    CONSENT_EXPIRED = "CONSENT_EXPIRED"
    OUTSIDE_HOURS = "OUTSIDE_HOURS"
    HOLIDAY = "HOLIDAY"
    LEGAL_CAP = "LEGAL_CAP"
    REFUSAL_COOLDOWN = "REFUSAL_COOLDOWN"
    SECTOR_BAN = "SECTOR_BAN"
    PERSONAL_BUDGET = "PERSONAL_BUDGET"
    POLICY_CAP = "POLICY_CAP"
    PROCESSOR_NOT_AUTHORIZED = "PROCESSOR_NOT_AUTHORIZED"
    BAD_SENDER_ID = "BAD_SENDER_ID"
    MISSING_OPTOUT = "MISSING_OPTOUT"


def matches(scope: str | None, value: str) -> bool:
    """Does a record scoped to ``scope`` (a channel, a purpose, ``all`` or None) cover ``value``?"""
    return scope is None or scope in (ALL, value)


# ---------------------------------------------------------------------------------------------
# Facts: what the register knows about one contact point, for one principal
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConsentFact:
    channel: str
    purpose: str
    given_at: datetime
    expires_at: datetime | None = None
    withdrawn_at: datetime | None = None
    source: str = Source.API


@dataclass(frozen=True, slots=True)
class ObjectionFact:
    at: datetime
    channel: str = ALL
    purpose: str = ALL
    source: str = Source.API


@dataclass(frozen=True, slots=True)
class RefusalFact:
    at: datetime
    processor: str | None = None


@dataclass(frozen=True, slots=True)
class ContractFact:
    start: datetime
    end: datetime | None = None

    def current(self, at: datetime) -> bool:
        return self.start <= at and (self.end is None or at < self.end)


@dataclass(frozen=True, slots=True)
class AttemptFact:
    at: datetime
    channel: str
    processor: str | None = None
    outcome: str | None = None
    campaign: str | None = None


@dataclass(frozen=True, slots=True)
class BudgetFact:
    channel: str  # a channel or ``all``
    max: int
    period: Period
    set_at: datetime


@dataclass(frozen=True, slots=True)
class SnapshotFact:
    """One dated snapshot of an opposition list, and whether the contact point is on it."""

    list_name: str
    as_of: datetime
    valid_until: datetime
    listed: bool


@dataclass(frozen=True, slots=True)
class ProcessorFact:
    name: str
    known: bool
    channels: frozenset[str] = frozenset({ALL})
    active: bool = True


@dataclass(frozen=True, slots=True)
class Facts:
    consents: tuple[ConsentFact, ...] = ()
    objections: tuple[ObjectionFact, ...] = ()
    refusals: tuple[RefusalFact, ...] = ()
    contracts: tuple[ContractFact, ...] = ()
    attempts: tuple[AttemptFact, ...] = ()
    budgets: tuple[BudgetFact, ...] = ()
    snapshots: tuple[SnapshotFact, ...] = ()
    processor: ProcessorFact | None = None


# ---------------------------------------------------------------------------------------------
# Request and Decision
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckRequest:
    """May ``processor`` contact ``contact`` on ``channel`` at ``at`` for ``purpose``?

    ``contact`` is None when the written contact point could not be parsed.
    """

    contact: ContactPoint | None
    channel: Channel
    at: datetime
    purpose: str = DEFAULT_PURPOSE
    audience: Audience = Audience.CONSUMER
    sector: Sector = Sector.GENERAL
    processor: str | None = None
    campaign: str | None = None


@dataclass(frozen=True, slots=True)
class Reason:
    code: ReasonCode
    rule: str
    reference: str
    message: str
    until: datetime | None  # None: never lapses on its own

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code.value,
            "rule": self.rule,
            "reference": self.reference,
            "message": self.message,
            "until": iso(self.until),
        }


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    contact: str | None
    channel: Channel
    at: datetime
    local_time: datetime
    reasons: tuple[Reason, ...]
    next_allowed_at: datetime | None
    rules_version: str
    policy_version: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(r.code.value for r in self.reasons)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "allowed": self.allowed,
            "contact": self.contact,
            "channel": self.channel.value,
            "at": iso(self.at),
            "local_time": iso(self.local_time),
            "reasons": [r.to_dict() for r in self.reasons],
            "next_allowed_at": iso(self.next_allowed_at),
            "rules_version": self.rules_version,
        }
        if self.policy_version is not None:
            data["policy_version"] = self.policy_version
        if self.evidence:
            data["evidence"] = self.evidence
        return data


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


DAY = timedelta(days=1)
