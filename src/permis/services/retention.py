"""Retention: purge what the law no longer lets the register keep, and keep what it must.

At an instant ``at``, for every contact point whose value is still held:

* its **anchor** is the latest of its collection (its first event), its last contact *from the
  person* (a consent given or withdrawn, an objection, a budget they set, a contract) and the end
  of its contracts (an open contract: a customer, never purged);
* when ``anchor + retention_prospect_years <= at`` its personal data is purged (the same
  erasure as RGPD art. 17, with reason ``retention``): the value, the personal part of its events,
  its consents withdrawn, its contracts deleted;
* except the personal part of each consent whose **proof** must still be kept: until
  ``retention_consent_proof_years`` after the consent and after its last use (the last attempt on
  its channel); a later run purges those proofs once their time has come.

Objections, refusals and budgets are never purged: they are keyed hashes (no value), and an
objection never expires on its own (at least ``retention_opposition_years``, CNIL).
Outbound attempts are not contacts *from* the person (CNIL: a click counts, an open does not).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from permis.adapters.db import instants
from permis.adapters.db import repositories as repo
from permis.adapters.db.database import Cursor, Database
from permis.config import Settings
from permis.domain.events import EventType
from permis.services.erasure import erase_hash

PERSON_INITIATED = (
    EventType.CONSENT_GIVEN,
    EventType.CONSENT_WITHDRAWN,
    EventType.OBJECTION_RECORDED,
    EventType.BUDGET_SET,
    EventType.CONTRACT_RECORDED,
)
OPEN = 2**62  # an open contract: the anchor never passes


def add_years(at_us: int, years: int) -> int:
    """``at_us`` plus whole calendar years (29 February → 28 February)."""
    if at_us >= OPEN:
        return OPEN
    when = instants.from_us(at_us)
    try:
        moved = when.replace(year=when.year + years)
    except ValueError:
        moved = when.replace(year=when.year + years, day=28)
    return instants.to_us(moved)


@dataclass(frozen=True, slots=True)
class Item:
    """One contact point the run purges (or would purge)."""

    principal: str
    contact_hash: str
    action: str  # "purge_contact" or "purge_consent_proofs"
    anchor: int
    due: int
    personal_parts: int
    consent_proofs_kept: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "principal": self.principal,
            "contact_hash": self.contact_hash,
            "action": self.action,
            "anchor": instants.from_us(self.anchor).isoformat(),
            "due": instants.from_us(self.due).isoformat(),
            "personal_parts": self.personal_parts,
            "consent_proofs_kept": self.consent_proofs_kept,
        }


@dataclass
class RetentionRun:
    at: datetime
    dry_run: bool
    settings: dict[str, Any]
    items: list[Item] = field(default_factory=list)
    objections_kept: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "dry_run": self.dry_run,
            "settings": self.settings,
            "contacts_purged": sum(i.action == "purge_contact" for i in self.items),
            "consent_proofs_purged": sum(i.action == "purge_consent_proofs" for i in self.items),
            "personal_parts_cleared": sum(i.personal_parts for i in self.items),
            "consent_proofs_kept": sum(i.consent_proofs_kept for i in self.items),
            "objections_kept": self.objections_kept,
            "items": [i.to_dict() for i in self.items],
        }


def run_retention(
    db: Database,
    settings: Settings,
    clock: Callable[[], datetime],
    at: datetime | None = None,
    dry_run: bool = False,
) -> RetentionRun:
    """List (``dry_run``) or purge what is due at ``at``; one transaction per principal."""
    when = at or clock()
    result = RetentionRun(
        when,
        dry_run,
        {
            "prospect_years": settings.retention_prospect_years,
            "opposition_years": settings.retention_opposition_years,
            "consent_proof_years": settings.retention_consent_proof_years,
            "reviewed": settings.retention_reviewed,
        },
    )
    at_us = instants.to_us(when)
    with db.transaction() as cur:
        principals = repo.list_principals(cur)
    for principal in principals:
        with db.transaction(write=not dry_run) as cur:
            if not dry_run:
                repo.lock_chain(cur, principal.id)
            items = _due(cur, principal, settings, at_us)
            result.objections_kept += int(
                cur.execute(
                    "SELECT COUNT(*) FROM objections WHERE principal_id = :p",
                    {"p": principal.id},
                )[0][0]
            )
            for item, keep in items:
                result.items.append(item)
                if not dry_run:
                    now = instants.to_us(clock())
                    due = instants.from_us(item.due).date().isoformat()
                    reason = f"retention: {item.action.replace('_', ' ')} due {due}"
                    scope = (
                        "consent_proofs"
                        if item.action == "purge_consent_proofs"
                        else ("except_consent_proofs" if keep else "all")
                    )
                    erase_hash(
                        cur, principal.id, item.contact_hash, now, reason, "retention", keep, scope
                    )
    return result


def _due(
    cur: Cursor, principal: repo.Principal, settings: Settings, at_us: int
) -> list[tuple[Item, set[int]]]:
    """What is due at ``at_us``: each item with the ids of the consent proofs it keeps."""
    anchors = _anchors(cur, principal.id)
    proofs = _proof_deadlines(cur, principal.id, settings.retention_consent_proof_years)
    out = []
    for hashed, held, anchor, personal in anchors:
        contact_proofs = proofs.get(hashed, {})
        keep = {eid for eid, deadline in contact_proofs.items() if deadline > at_us}
        if held:
            due = add_years(anchor, settings.retention_prospect_years)
            if due > at_us:
                continue
            action = "purge_contact"
        else:  # already purged: only consent proofs may remain
            expired = [d for eid, d in contact_proofs.items() if eid not in keep]
            if not expired:
                continue
            due, action = max(expired), "purge_consent_proofs"
        parts = personal - len(keep)
        if action == "purge_consent_proofs" and parts <= 0:
            continue
        out.append((Item(principal.name, hashed, action, anchor, due, parts, len(keep)), keep))
    return out


def _anchors(cur: Cursor, principal_id: int) -> list[tuple[str, bool, int, int]]:
    """(hash, value still held, anchor, events with a personal part) per contact point."""
    types = ", ".join(f"'{t.value}'" for t in PERSON_INITIATED)
    rows = cur.execute(
        "SELECT e.contact_hash, MAX(CASE WHEN cp.value IS NULL THEN 0 ELSE 1 END), "
        f"MIN(e.occurred_at), MAX(CASE WHEN e.type IN ({types}) THEN e.occurred_at END), "
        "SUM(CASE WHEN e.personal IS NULL THEN 0 ELSE 1 END) "
        "FROM events e JOIN contact_points cp ON cp.principal_id = e.principal_id "
        "AND cp.contact_hash = e.contact_hash WHERE e.principal_id = :p "
        "GROUP BY e.contact_hash ORDER BY e.contact_hash",
        {"p": principal_id},
    )
    ends = {
        str(r[0]): int(r[1])
        for r in cur.execute(
            "SELECT contact_hash, MAX(COALESCE(end_at, :open)) FROM contracts "
            "WHERE principal_id = :p GROUP BY contact_hash",
            {"p": principal_id, "open": OPEN},
        )
    }
    out = []
    for hashed, held, first, last_from_person, personal in rows:
        anchor = max(int(first), int(last_from_person or 0), ends.get(str(hashed), 0))
        out.append((str(hashed), bool(held), anchor, int(personal or 0)))
    return out


def _proof_deadlines(cur: Cursor, principal_id: int, years: int) -> dict[str, dict[int, int]]:
    """For each consent event whose personal part is still held: when its proof may go."""
    last_use = {
        (str(r[0]), str(r[1])): int(r[2])
        for r in cur.execute(
            "SELECT contact_hash, channel, MAX(at) FROM attempts WHERE principal_id = :p "
            "GROUP BY contact_hash, channel",
            {"p": principal_id},
        )
    }
    out: dict[str, dict[int, int]] = {}
    for hashed, event_id, given, channel in cur.execute(
        "SELECT c.contact_hash, c.event_id, c.given_at, c.channel FROM consents c "
        "JOIN events e ON e.id = c.event_id WHERE c.principal_id = :p "
        "AND e.personal IS NOT NULL",
        {"p": principal_id},
    ):
        used = max(int(given), last_use.get((str(hashed), str(channel)), 0))
        out.setdefault(str(hashed), {})[int(event_id)] = add_years(used, years)
    return out
