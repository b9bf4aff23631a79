"""Repositories of the pressure features: the policy in force and the receipt signing keys."""

from __future__ import annotations

from dataclasses import dataclass

from permis.adapters.db import repositories as repo
from permis.adapters.db.database import Cursor
from permis.domain.events import StoredEvent


@dataclass(frozen=True, slots=True)
class StoredPolicy:
    version: str
    event_id: int
    body: str
    sha256: str
    set_at: int


def current_policy(cur: Cursor, principal_id: int) -> StoredPolicy | None:
    rows = cur.execute(
        "SELECT version, event_id, body, sha256, set_at FROM policies WHERE principal_id = :p",
        {"p": principal_id},
    )
    if not rows:
        return None
    r = rows[0]
    return StoredPolicy(str(r[0]), int(r[1]), str(r[2]), str(r[3]), int(r[4]))


def put_policy(cur: Cursor, principal_id: int, policy: StoredPolicy) -> None:
    cur.execute(
        "INSERT INTO policies (principal_id, version, event_id, body, sha256, set_at) "
        "VALUES (:p, :v, :e, :b, :s, :t) ON CONFLICT (principal_id) DO UPDATE SET "
        "version = excluded.version, event_id = excluded.event_id, body = excluded.body, "
        "sha256 = excluded.sha256, set_at = excluded.set_at",
        {
            "p": principal_id,
            "v": policy.version,
            "e": policy.event_id,
            "b": policy.body,
            "s": policy.sha256,
            "t": policy.set_at,
        },
    )


@dataclass(frozen=True, slots=True)
class StoredKey:
    kid: str
    public_jwk: str
    private_sealed: str
    created_at: int


def receipt_key(cur: Cursor, principal_id: int) -> StoredKey | None:
    rows = cur.execute(
        "SELECT kid, public_jwk, private_sealed, created_at FROM principal_keys "
        "WHERE principal_id = :p",
        {"p": principal_id},
    )
    if not rows:
        return None
    r = rows[0]
    return StoredKey(str(r[0]), str(r[1]), str(r[2]), int(r[3]))


def add_receipt_key(cur: Cursor, principal_id: int, key: StoredKey) -> None:
    cur.execute(
        "INSERT INTO principal_keys (principal_id, kid, public_jwk, private_sealed, created_at) "
        "VALUES (:p, :k, :pub, :priv, :t)",
        {
            "p": principal_id,
            "k": key.kid,
            "pub": key.public_jwk,
            "priv": key.private_sealed,
            "t": key.created_at,
        },
    )


def event_by_id(cur: Cursor, principal_id: int, event_id: int) -> StoredEvent | None:
    rows = cur.execute(
        f"SELECT {repo._EVENT_COLUMNS} FROM events WHERE principal_id = :p AND id = :i",
        {"p": principal_id, "i": event_id},
    )
    return repo._event(rows[0]) if rows else None
