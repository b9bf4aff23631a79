"""Access and erasure (RGPD art. 15 and 17): one person's data out, or their data gone.

Erasure clears exactly the personal data: ``contact_points.value`` and the ``personal`` part of
every event about the contact point (the chain covers only its salted digest, so it still
verifies). What protects the person stays, keyed by the HMAC of the contact point: objections,
refusals and budgets, so a later check or scrub of the same number is still refused. Their
consents are withdrawn (nobody may rely on them any more) and their contracts deleted. The
erasure is itself an event (``ContactErased``, with its reason and actor) with an outbox row, so
that processors are told to erase too (art. 19).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from permis.adapters.db import instants
from permis.adapters.db import repositories as repo
from permis.adapters.db.database import Cursor, Database
from permis.domain.contact import contact_hash, parse_contact
from permis.domain.events import EventType, NewEvent, StoredEvent
from permis.errors import UnknownContact, UsageError

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class Erasure:
    event_id: int
    contact_hash: str
    personal_parts_cleared: int
    consents_withdrawn: int
    contracts_deleted: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "erased": True,
            "event_id": self.event_id,
            "contact_hash": self.contact_hash,
            "personal_parts_cleared": self.personal_parts_cleared,
            "consents_withdrawn": self.consents_withdrawn,
            "contracts_deleted": self.contracts_deleted,
        }


def locate(cur: Cursor, principal: str | None, contact: str) -> tuple[repo.Principal, str]:
    """The principal and the keyed hash of ``contact``; UnknownContact when the register has
    never seen it (the message names only the start of the hash, never the value)."""
    point = parse_contact(contact)
    owner = repo.find_principal(cur, principal)
    hashed = contact_hash(point.value, owner.hash_key)
    found = cur.execute(
        "SELECT 1 FROM contact_points WHERE principal_id = :p AND contact_hash = :c",
        {"p": owner.id, "c": hashed},
    )
    if not found:
        raise UnknownContact(
            f"No contact point with that value in the register (hash {hashed[:12]}…)"
        )
    return owner, hashed


def erase(
    db: Database,
    clock: Clock,
    *,
    principal: str | None,
    contact: str,
    reason: str,
    actor: str | None = None,
) -> Erasure:
    """Erase one person's data in one transaction; their objections stay in force."""
    if not reason.strip():
        raise UsageError("--reason is required: say why the data is erased")
    with db.transaction(write=True) as cur:
        owner, hashed = locate(cur, principal, contact)
        repo.lock_chain(cur, owner.id)
        now = instants.to_us(clock())
        return erase_hash(cur, owner.id, hashed, now, reason.strip(), actor, keep=())


def erase_hash(
    cur: Cursor,
    principal_id: int,
    hashed: str,
    now: int,
    reason: str,
    actor: str | None,
    keep: Collection[int],
    scope: str = "all",
) -> Erasure:
    """The erasure itself, inside the caller's transaction (retention uses it too): ``keep``
    lists events whose personal part must stay (consent proofs still under retention)."""
    key = {"p": principal_id, "c": hashed}
    where = "principal_id = :p AND contact_hash = :c"
    ids = cur.execute(f"SELECT id FROM events WHERE {where} AND personal IS NOT NULL", key)
    clear = [int(r[0]) for r in ids if int(r[0]) not in keep]
    for chunk in range(0, len(clear), 500):
        marks = ",".join(str(i) for i in clear[chunk : chunk + 500])
        cur.execute(f"UPDATE events SET personal = NULL WHERE id IN ({marks})")
    held = cur.execute(f"SELECT value FROM contact_points WHERE {where}", key)
    if held and held[0][0] is not None:
        cur.execute(
            f"UPDATE contact_points SET value = NULL, region = NULL, erased_bucket = :b "
            f"WHERE {where}",
            {**key, "b": erased_bucket(str(held[0][0]))},
        )
    withdrawn = cur.execute(
        f"UPDATE consents SET withdrawn_at = :t WHERE {where} AND withdrawn_at IS NULL "
        "RETURNING id",
        {**key, "t": now},
    )
    deleted = cur.execute(f"DELETE FROM contracts WHERE {where} RETURNING id", key)
    data = {
        "reason": reason,
        "scope": scope,
        "personal_parts_cleared": len(clear),
        "personal_parts_kept": len(ids) - len(clear),
        "consents_withdrawn": len(withdrawn),
        "contracts_deleted": len(deleted),
    }
    event = repo.append_event(
        cur, principal_id, NewEvent(EventType.CONTACT_ERASED, now, data, hashed, None, actor), now
    )
    repo.add_outbox(cur, principal_id, event)
    return Erasure(event.id, hashed, len(clear), len(withdrawn), len(deleted))


BUCKETS = 65_521
"""Erased phone numbers keep ``digits % BUCKETS`` (about 1,500 French mobile numbers per
bucket), e-mail addresses ``-1 - length``: not enough to find anyone, enough for a scrub to
key-hash only the few rows that may be an erased person (``scrub_state.erased_signatures``)."""


def erased_bucket(value: str) -> int:
    """The bucket of a normalised contact point (E.164 number or e-mail address)."""
    if value.startswith("+") and value[1:].isdigit():
        return int(value[1:]) % BUCKETS
    return -1 - len(value.encode("utf-8"))


def access(db: Database, *, principal: str | None, contact: str) -> dict[str, Any]:
    """Everything the register holds about one contact point (RGPD art. 15)."""
    with db.transaction() as cur:
        owner, hashed = locate(cur, principal, contact)
        point = cur.execute(
            "SELECT kind, value, country, region, timezones, first_seen, last_event "
            "FROM contact_points WHERE principal_id = :p AND contact_hash = :c",
            {"p": owner.id, "c": hashed},
        )[0]
        events = repo.contact_events(cur, owner.id, hashed)
        facts = projection_rows(cur, owner.id, hashed)
    return {
        "principal": owner.name,
        "contact_point": {
            "kind": point[0],
            "value": point[1],
            "erased": point[1] is None,
            "country": point[2],
            "region": point[3],
            "time_zones": point[4].split(",") if point[4] else [],
            "first_seen": instants.from_us(int(point[5])).isoformat(),
            "last_event": instants.from_us(int(point[6])).isoformat(),
            "contact_hash": hashed,
        },
        "events": [event_json(e) for e in events],
        **facts,
    }


_TIMES = {"given_at", "expires_at", "withdrawn_at", "at", "start_at", "end_at", "set_at"}


def projection_rows(cur: Cursor, principal_id: int, hashed: str) -> dict[str, list[dict[str, Any]]]:
    """The current projections about one contact point, times as ISO 8601."""
    out: dict[str, list[dict[str, Any]]] = {}
    for table, columns in repo.PROJECTION_INSERTS.items():
        names = ["event_id", *(c.strip() for c in columns.split(","))]
        names += ["withdrawn_at"] if table == "consents" else []
        rows = cur.execute(
            f"SELECT {', '.join(names)} FROM {table} WHERE principal_id = :p "
            "AND contact_hash = :c ORDER BY id",
            {"p": principal_id, "c": hashed},
        )
        out[table] = [
            {
                n: (instants.from_us(int(v)).isoformat() if n in _TIMES and v is not None else v)
                for n, v in zip(names, row, strict=True)
            }
            for row in rows
        ]
    return out


def event_json(event: StoredEvent) -> dict[str, Any]:
    """An event as the person or an inspector reads it, with its personal part (minus the
    salt) when it has not been erased."""
    personal = dict(event.personal) if event.personal is not None else None
    if personal is not None:
        personal.pop("salt", None)
    return {
        "id": event.id,
        "seq": event.seq,
        "type": event.type,
        "occurred_at": instants.from_us(event.occurred_at).isoformat(),
        "recorded_at": instants.from_us(event.recorded_at).isoformat(),
        "data": event.data,
        "personal": personal,
        "erased": event.personal is None and event.personal_digest is not None,
        "actor": event.actor,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }
