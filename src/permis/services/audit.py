"""Audit: verify the hash chain of every principal, streaming (constant memory)."""

from __future__ import annotations

from permis.adapters.db import repositories as repo
from permis.adapters.db.database import Database
from permis.domain.events import ChainReport, ChainRow, ChainWalker


def verify(db: Database, anchors: dict[int, tuple[int, str]] | None = None) -> list[ChainReport]:
    """Walk every principal's chain; one report each, with the first broken link if any.

    One read transaction (one consistent state of the ledger); events are read in batches of
    20,000 and checked as they come, without parsing their JSON. ``anchors`` maps a principal
    id to a head (seq, hash) published earlier (a previous ``audit verify --json``): the chain
    must still hold it, which detects a rewrite of the whole chain and its head.
    """
    reports = []
    with db.transaction() as cur:
        for principal in repo.list_principals(cur):
            head_seq, head_hash = repo.chain_head(cur, principal.id)
            anchor = (anchors or {}).get(principal.id)
            walker = ChainWalker(principal.id, head_seq, head_hash, anchor)
            for row in repo.iter_chain_rows(cur, principal.id):
                if walker.feed(_row(row)) is not None:
                    break
            reports.append(walker.finish())
    return reports


def _row(row: tuple[object, ...]) -> ChainRow:
    return row  # type: ignore[return-value]  # the columns are in ChainRow's order


def read_anchors(text: str) -> dict[int, tuple[int, str]]:
    """The heads of a previous ``permis audit verify --json`` output."""
    import json

    from permis.errors import UsageError

    try:
        data = json.loads(text)
        return {
            int(p["principal_id"]): (int(p["head_seq"]), str(p["head_hash"]))
            for p in data["principals"]
        }
    except (ValueError, KeyError, TypeError):
        raise UsageError("--anchor: not the JSON output of `permis audit verify --json`") from None
