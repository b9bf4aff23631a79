"""The principal's own policy: stricter than the law, never looser. Pure data, no parsing.

A policy adds reasons to a decision, it never removes one:

- quiet hours per channel (``OUTSIDE_HOURS`` with the rule ``POLICY.quiet_hours.<channel>``):
  the channel is used only inside ``windows`` (the complement of the quiet hours, in the contact
  point's local time) and never on ``quiet_days``;
- caps per channel or across channels over rolling periods, optionally for one campaign
  (``POLICY_CAP``);
- excluded audiences and regions (``POLICY_CAP``, never lapsing on its own).

The file format and its validation live in ``services.policy``; the evaluation over the attempt
history in ``domain.pressure``.
"""

from __future__ import annotations

from dataclasses import dataclass

from permis.domain.calendar import Window
from permis.domain.model import Period

POLICY_REFERENCE = "Politique de contact du responsable de traitement"
DEFAULT_ZONE = "Europe/Paris"
"""Local time of a contact point without a time zone (an e-mail address), for quiet hours."""


@dataclass(frozen=True, slots=True)
class PolicyCap:
    """At most ``max`` contacts on ``channels`` per rolling ``days`` (or calendar ``period``).

    With ``campaign``, only that campaign's attempts count, and only its checks are capped.
    """

    rule: str
    channels: frozenset[str]
    max: int
    days: int
    period: Period | None = None
    campaign: str | None = None

    @property
    def span(self) -> str:
        return self.period.value if self.period is not None else f"{self.days} days"


@dataclass(frozen=True, slots=True)
class QuietHours:
    """The hours a channel is used: ``windows`` (local wall-clock), never on ``quiet_days``."""

    channel: str
    windows: tuple[Window, ...]
    quiet: tuple[str, ...] = ()  # the quiet intervals as written, for messages
    quiet_days: frozenset[int] = frozenset()  # 0 = Monday ... 6 = Sunday

    @property
    def rule(self) -> str:
        return f"POLICY.quiet_hours.{self.channel}"


@dataclass(frozen=True, slots=True)
class Policy:
    """The principal's own stricter rules. The empty policy adds nothing to the law."""

    version: str | None = None
    caps: tuple[PolicyCap, ...] = ()
    quiet_hours: tuple[QuietHours, ...] = ()
    excluded_audiences: frozenset[str] = frozenset()
    excluded_regions: frozenset[str] = frozenset()
    """ISO 3166 country codes (``US``) or French territories (``RE``, ``metropole``)."""
    timezone: str = DEFAULT_ZONE

    def quiet_for(self, channel: str) -> QuietHours | None:
        for quiet in self.quiet_hours:
            if quiet.channel == channel:
                return quiet
        return None


EMPTY_POLICY = Policy()
