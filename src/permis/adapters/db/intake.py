"""Queries of the intake doors: inbound messages, and principals found by id (links name one)."""

from __future__ import annotations

from dataclasses import dataclass

from permis.adapters.db.database import Cursor
from permis.adapters.db.repositories import Principal, _principal


@dataclass(frozen=True, slots=True)
class InboundMessage:
    provider: str
    provider_id: str
    sender_hash: str
    recipient: str | None
    body: str | None
    intent: str
    event_id: int | None
    received_at: int


def add_inbound_message(cur: Cursor, principal_id: int, message: InboundMessage) -> bool:
    """Keep one inbound message; False when the provider already delivered it (a retry)."""
    rows = cur.execute(
        "INSERT INTO inbound_messages (principal_id, provider, provider_id, sender_hash,"
        " recipient, body, intent, event_id, received_at) VALUES (:p, :pr, :pid, :s, :r, :b,"
        " :i, :e, :t) ON CONFLICT (principal_id, provider, provider_id) DO NOTHING RETURNING id",
        {
            "p": principal_id,
            "pr": message.provider,
            "pid": message.provider_id,
            "s": message.sender_hash,
            "r": message.recipient,
            "b": message.body,
            "i": message.intent,
            "e": message.event_id,
            "t": message.received_at,
        },
    )
    return bool(rows)


def inbound_messages(cur: Cursor, principal_id: int) -> list[InboundMessage]:
    rows = cur.execute(
        "SELECT provider, provider_id, sender_hash, recipient, body, intent, event_id,"
        " received_at FROM inbound_messages WHERE principal_id = :p ORDER BY id",
        {"p": principal_id},
    )
    return [InboundMessage(r[0], r[1], r[2], r[3], r[4], r[5], r[6], int(r[7])) for r in rows]


def principal_by_id(cur: Cursor, principal_id: int) -> Principal | None:
    rows = cur.execute(
        "SELECT id, name, hash_key, sector FROM principals WHERE id = :i", {"i": principal_id}
    )
    return _principal(rows[0]) if rows else None


def first_principal(cur: Cursor) -> Principal | None:
    """The oldest principal: its secret keys the installation's agent sessions when
    ``PERMIS_LINK_SECRET`` is not set."""
    rows = cur.execute("SELECT id, name, hash_key, sector FROM principals ORDER BY id LIMIT 1")
    return _principal(rows[0]) if rows else None
