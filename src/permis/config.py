"""One typed Settings object, read from ``PERMIS_*`` environment variables.

A frozen dataclass rather than pydantic-settings: importing pydantic-settings costs about 0.2 s on
the reference machine, two thirds of the 300 ms budget of a whole ``permis check`` process.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from permis.errors import ConfigError

PREFIX = "PERMIS_"
DEFAULT_DATABASE_URL = "sqlite:///permis.db"


def mask_url(url: str) -> str:
    """Hide the password of a database URL."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    """``sqlite:///path`` (embedded default) or ``postgresql://user@host:port/db``."""
    consent_max_age_days: int = 365
    """Maximum age of a consent to phone prospecting (décret 2026-662, unconfirmed: a setting)."""
    alsace_moselle_everywhere: bool = True
    """Block Good Friday and 26 December for every mainland number (LAW.md: to be safe)."""
    customer_exception_years: int = 3
    """How long after a contract ends the existing-customer exception of L34-5 still holds."""
    bloctel_validity_days: int = 30
    """How long an imported Bloctel snapshot stays valid (operator rule)."""
    public_url: str = "http://127.0.0.1:8000"
    """Base URL of the preference and unsubscribe pages."""
    link_secret: str = ""
    """Secret that signs preference and unsubscribe links (empty: derived per principal from the
    register's own secret, so links survive restarts; set it to rotate links)."""
    link_ttl_days: int = 90
    """How long a preference or unsubscribe link stays valid."""
    twilio_auth_token: str = ""
    """Auth token that signs Twilio's inbound SMS webhooks (empty: the webhook refuses all)."""
    rate_limit_per_second: int = 0
    """Requests per second allowed per API key (0: no limit)."""
    rate_limit_burst: int = 0
    """Burst above the rate (0: one second's worth)."""
    nats_url: str = "nats://127.0.0.1:4222"
    """NATS server for JetStream delivery of opt-outs."""
    webhook_timeout_seconds: int = 5
    """Time allowed to a processor's webhook to answer."""
    delivery_overdue_seconds: int = 3600
    """A delivery not acknowledged after this long is overdue."""
    delivery_grace_seconds: int = 60
    """An attempt this long after an objection's commit is a violation even if undelivered."""
    delivery_lease_seconds: int = 30
    """How long a dispatcher owns the deliveries it took (another takes them after a crash)."""
    delivery_max_backoff_seconds: int = 600
    """Longest wait between two tries of a failing delivery (exponential backoff, jitter)."""
    dispatch_in_serve: bool = True
    """Run the delivery dispatcher inside ``permis serve`` (each process; they share the work)."""
    data_dir: str = ""
    """Folder of the public data sets (bank-marketing, hillstrom); empty: ../shared/data."""
    receipt_secret: str = ""
    """Seals each principal's private receipt-signing key in the register (AES-GCM); required to
    issue signed receipts, never printed."""
    rule_pack_overrides: str = ""
    """``principal=pack,...``: that pack decides every contact of that principal."""
    retention_prospect_years: int = 3
    """Prospects' data purged this long after collection or their last contact (CNIL
    référentiel gestion commerciale; customers: end of the contract + the same; reviewed
    2026-11-30)."""
    retention_opposition_years: int = 3
    """Minimum time objections are kept, as keyed hashes (CNIL; Permis never purges them)."""
    retention_consent_proof_years: int = 5
    """Consent proofs kept this long after the consent and after each use (UWG §7a, Germany;
    applied everywhere, the longest rule; reviewed 2026-11-30)."""
    retention_reviewed: str = "2026-11-30"
    """The date the retention settings were last checked against the law."""
    jobs_dir: str = ""
    """Folder of the API's scrub jobs (uploads and results); empty: permis-jobs beside the
    SQLite register, or in the working directory."""
    scrub_max_bytes: int = 2 * 1024**3
    """Largest file accepted by ``POST /v1/scrubs`` (0: no limit)."""
    check_cache_entries: int = 65_536
    """Contact points whose register reads each process keeps for single checks (SQLite only;
    never stale: dropped at any commit; 0: read the register on every check)."""
    model_threads: int = 1
    """OpenMP threads for the relevance model's fits on 5,000 rows or more (1: on a shared
    machine spinning threads waste more than they bring; measured: the rolling protocol took
    20 min with 2 threads under load)."""
    stages: bool = False
    """Print the wall and CPU seconds of each stage of a scrub to stderr (names and seconds
    only, never data)."""
    relevance_report_path: str = ""
    """The page ``permis model report --out FILE`` wrote, shown at ``/backoffice/relevance``
    (empty: that page says how to produce it)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in fields(cls):
            raw = env.get(PREFIX + field.name.upper())
            if raw is not None:
                values[field.name] = _convert(field.name, field.type, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{f.name}={_shown(f.name, getattr(self, f.name))!r}" for f in fields(self)
        )
        return f"Settings({shown})"


SECRET_FIELDS = frozenset({"link_secret", "twilio_auth_token", "receipt_secret"})


def _shown(name: str, value: Any) -> str:
    if name in SECRET_FIELDS:
        return "***" if value else ""
    return mask_url(str(value))


def _convert(name: str, kind: Any, raw: str) -> Any:
    kind = str(kind)
    try:
        if kind == "int":
            return int(raw)
        if kind == "bool":
            lowered = raw.strip().lower()
            if lowered not in {"1", "0", "true", "false", "yes", "no"}:
                raise ValueError(raw)
            return lowered in {"1", "true", "yes"}
    except ValueError:
        raise ConfigError(f"{PREFIX}{name.upper()} must be a {kind}") from None
    return raw
