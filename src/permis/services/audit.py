"""Audit: verify the hash chain of every principal, streaming (constant memory)."""

from __future__ import annotations

from permis.adapters.db import repositories as repo
from permis.adapters.db.database import Database
from permis.domain.events import ChainReport, ChainRow, ChainWalker


def verify(db: Database) -> list[ChainReport]:
    """Walk every principal's chain; one report each, with the first broken link if any.

    One read transaction (one consistent state of the ledger); events are read in batches of
    20,000 and checked as they come, without parsing their JSON.
    """
    reports = []
    with db.transaction() as cur:
        for principal in repo.list_principals(cur):
            head_seq, head_hash = repo.chain_head(cur, principal.id)
            walker = ChainWalker(principal.id, head_seq, head_hash)
            for row in repo.iter_chain_rows(cur, principal.id):
                if walker.feed(_row(row)) is not None:
                    break
            reports.append(walker.finish())
    return reports


def _row(row: tuple[object, ...]) -> ChainRow:
    return row  # type: ignore[return-value]  # the columns are in ChainRow's order
