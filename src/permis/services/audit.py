"""Audit: verify the hash chain of every principal."""

from __future__ import annotations

from permis.adapters.db import repositories as repo
from permis.adapters.db.database import Database
from permis.domain.events import ChainReport, verify_chain


def verify(db: Database) -> list[ChainReport]:
    """Walk every principal's chain; one report each, with the first broken link if any."""
    reports = []
    with db.transaction() as cur:
        for principal in repo.list_principals(cur):
            head_seq, head_hash = repo.chain_head(cur, principal.id)
            events = repo.iter_events(cur, principal.id)
            reports.append(verify_chain(principal.id, events, head_seq, head_hash))
    return reports
