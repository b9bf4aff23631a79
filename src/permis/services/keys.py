"""API keys: created for a role (and, for processors, the processor they act as), stored hashed.

A key reads ``permis_<key_id>_<secret>``: ``key_id`` finds the row, the SHA-256 of ``secret`` is
compared in constant time. The secret is 32 random bytes, so a fast hash is enough (a slow
password hash protects guessable secrets; there is nothing to guess here). A key is printed once,
at creation; creating and revoking keys are register events (without the secret).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from permis.adapters.db import instants
from permis.adapters.db import repositories as repo
from permis.adapters.db.database import Database
from permis.domain.events import EventType, NewEvent
from permis.errors import NotFound, Unauthorized, UsageError

PREFIX = "permis"


class Role(StrEnum):
    """DESIGN.md 4.4."""

    ADMIN = "admin"
    COMPLIANCE = "compliance"
    CAMPAIGN = "campaign"
    PROCESSOR = "processor"
    AGENT = "agent"


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """Who is calling: the key's principal, role and (for a processor) the processor."""

    key_id: str
    principal_id: int
    principal: str
    role: Role
    processor: str | None
    label: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "principal": self.principal,
            "role": self.role.value,
            "processor": self.processor,
            "label": self.label,
        }


@dataclass(frozen=True, slots=True)
class NewKey:
    key: str  # shown once
    info: KeyInfo


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def split_key(key: str) -> tuple[str, str] | None:
    parts = key.strip().split("_")
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


class Keys:
    def __init__(self, db: Database, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.clock = clock

    def create(
        self,
        role: Role,
        *,
        principal: str | None = None,
        processor: str | None = None,
        label: str | None = None,
    ) -> NewKey:
        if role is Role.PROCESSOR and not processor:
            raise UsageError("a processor key needs --processor (the processor it acts as)")
        if role is not Role.PROCESSOR and processor:
            raise UsageError("--processor is only for keys of role processor")
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32).replace("_", "-")
        now = instants.to_us(self.clock())
        with self.db.transaction(write=True) as cur:
            owner = repo.find_principal(cur, principal)
            if processor and not repo.processor_fact(cur, owner.id, processor).known:
                raise NotFound(
                    f"unknown processor {processor!r}: add it with `permis processors add`"
                )
            cur.execute(
                "INSERT INTO api_keys (principal_id, key_id, secret_hash, role, processor, label,"
                " created_at) VALUES (:p, :k, :h, :r, :x, :l, :t)",
                {
                    "p": owner.id,
                    "k": key_id,
                    "h": _hash(secret),
                    "r": role.value,
                    "x": processor,
                    "l": label,
                    "t": now,
                },
            )
            data = {"key_id": key_id, "role": role.value, "processor": processor, "label": label}
            repo.append_event(cur, owner.id, NewEvent(EventType.API_KEY_CREATED, now, data), now)
        info = KeyInfo(key_id, owner.id, owner.name, role, processor, label)
        return NewKey(f"{PREFIX}_{key_id}_{secret}", info)

    def authenticate(self, key: str) -> KeyInfo:
        """The key's owner and role; :class:`Unauthorized` for anything else."""
        parts = split_key(key)
        if parts is None:
            raise Unauthorized("malformed API key (expected permis_<id>_<secret>)")
        key_id, secret = parts
        with self.db.transaction() as cur:
            rows = cur.execute(
                "SELECT k.principal_id, p.name, k.secret_hash, k.role, k.processor, k.label,"
                " k.revoked_at FROM api_keys k JOIN principals p ON p.id = k.principal_id"
                " WHERE k.key_id = :k",
                {"k": key_id},
            )
        if not rows or not hmac.compare_digest(rows[0][2], _hash(secret)):
            raise Unauthorized("unknown API key")
        principal_id, name, _, role, processor, label, revoked = rows[0]
        if revoked is not None:
            raise Unauthorized("revoked API key")
        return KeyInfo(key_id, principal_id, name, Role(role), processor, label)

    def revoke(self, key_id: str, principal: str | None = None) -> None:
        now = instants.to_us(self.clock())
        with self.db.transaction(write=True) as cur:
            owner = repo.find_principal(cur, principal)
            rows = cur.execute(
                "UPDATE api_keys SET revoked_at = :t WHERE key_id = :k AND principal_id = :p"
                " AND revoked_at IS NULL RETURNING id",
                {"t": now, "k": key_id, "p": owner.id},
            )
            if not rows:
                raise NotFound(f"no active key {key_id!r}")
            event = NewEvent(EventType.API_KEY_REVOKED, now, {"key_id": key_id})
            repo.append_event(cur, owner.id, event, now)

    def list(self, principal: str | None = None) -> list[dict[str, Any]]:
        with self.db.transaction() as cur:
            owner = repo.find_principal(cur, principal)
            rows = cur.execute(
                "SELECT key_id, role, processor, label, created_at, revoked_at FROM api_keys"
                " WHERE principal_id = :p ORDER BY id",
                {"p": owner.id},
            )
        return [
            {
                "key_id": k,
                "role": r,
                "processor": x,
                "label": lbl,
                "created_at": instants.from_us(c).isoformat(),
                "revoked_at": None if v is None else instants.from_us(v).isoformat(),
            }
            for k, r, x, lbl, c, v in rows
        ]
