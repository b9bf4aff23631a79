"""The documented shapes of ``/v1/decisions``: what a check asks, what a Decision says."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from permis.domain.model import DEFAULT_PURPOSE, Audience, Channel, ReasonCode, Sector

MAX_BATCH = 10_000


class DecisionRequest(BaseModel):
    contact: str = Field(
        min_length=1,
        max_length=320,
        description="Phone number in any form, or e-mail",
        examples=["06 12 34 56 78", "+33612345678", "zoe@example.org"],
    )
    channel: Channel
    at: datetime | None = Field(None, description="ISO 8601 with offset; default now")
    processor: str | None = Field(None, max_length=200)
    purpose: str = Field(DEFAULT_PURPOSE, max_length=200)
    audience: Audience = Audience.CONSUMER
    sector: Sector | None = None
    campaign: str | None = Field(
        None, max_length=200, description="The campaign, for the policy's per-campaign caps"
    )


class BatchRequest(BaseModel):
    requests: list[DecisionRequest] = Field(max_length=MAX_BATCH)


class ReasonOut(BaseModel):
    code: ReasonCode
    rule: str = Field(examples=["FR.D223-9.hours"])
    reference: str = Field(examples=["Code de la consommation, art. D223-9"])
    message: str
    until: datetime | None = Field(description="When the reason lapses; null: never on its own")


class DecisionOut(BaseModel):
    """A Decision (DESIGN.md 4.1)."""

    allowed: bool
    contact: str | None = Field(description="The normalised contact point; null if unparseable")
    channel: Channel
    at: datetime
    local_time: datetime
    reasons: list[ReasonOut] = Field(description="Every reason, not the first")
    next_allowed_at: datetime | None = Field(description="null: a reason never lapses on its own")
    rules_version: str
    policy_version: str | None = None


class BatchOut(BaseModel):
    decisions: list[DecisionOut]
