"""Daily suppression files, for processors without an API (``permis suppressions export``).

The whole current list of objections that concern the processor's channels, one contact point a
line: either the normalised contact point (``csv``) or a keyed hash (``hashes``): HMAC-SHA256 of
the normalised contact point under a key of that processor's own (derived from the principal's
secret, shown with the export), so the processor matches its own numbers without receiving them
and one processor's hashes are useless to another. Contact points erased under GDPR art. 17 keep
their objection in the register but have no value to write: they are counted, not written.
Writing a file marks that processor's pending ``file`` deliveries as delivered.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from permis.adapters.db import instants, outbound
from permis.adapters.db import repositories as repo
from permis.adapters.db.database import Database
from permis.domain.model import ALL
from permis.errors import NotFound, UsageError
from permis.services.processors import FileKind, view
from permis.services.propagation import concerns


def processor_key(principal_key: bytes, processor: str) -> bytes:
    return hmac.new(principal_key, b"suppressions:" + processor.encode(), hashlib.sha256).digest()


def export(
    db: Database,
    clock: Callable[[], datetime],
    principal: str | None,
    processor: str,
    out: Path,
    kind: str | None = None,
) -> dict[str, Any]:
    now = instants.to_us(clock())
    with db.transaction(write=True) as cur:
        owner = repo.find_principal(cur, principal)
        rows = outbound.processor_rows(cur, owner.id, processor)
        if not rows:
            raise NotFound(f"unknown processor {processor!r}")
        shown = view(rows[0])
        chosen = FileKind(kind or shown.files or FileKind.CSV.value)
        objections = cur.execute(
            "SELECT c.value, o.channel, o.purpose, MIN(o.at) FROM objections o "
            "LEFT JOIN contact_points c ON c.principal_id = o.principal_id "
            "AND c.contact_hash = o.contact_hash WHERE o.principal_id = :p "
            "GROUP BY o.contact_hash, c.value, o.channel, o.purpose ORDER BY c.value",
            {"p": owner.id},
        )
        marked = outbound.mark_files_delivered(cur, shown.id, now)
    key = processor_key(owner.hash_key, processor)
    written, erased = _write(out, chosen, key, objections, shown.channels)
    result: dict[str, Any] = {
        "file": str(out),
        "processor": processor,
        "format": chosen.value,
        "rows": written,
        "erased_not_written": erased,
        "deliveries_marked_delivered": marked,
        "as_of": instants.from_us(now).isoformat(),
    }
    if chosen is FileKind.HASHES:
        result["hash"] = "hex HMAC-SHA256 of the E.164 number or lower-case e-mail, under hash_key"
        result["hash_key"] = key.hex()
    return result


def _write(out: Path, kind: FileKind, key: bytes, rows: list[Any], scope: str) -> tuple[int, int]:
    tmp = out.with_name(f".{out.name}.part")
    written = erased = 0
    try:
        with tmp.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            header = ["contact"] if kind is FileKind.CSV else ["contact_hmac"]
            writer.writerow([*header, "channel", "purpose", "since"])
            for value, channel, purpose, since in rows:
                if not concerns(scope, channel) and channel != ALL:
                    continue
                if value is None:
                    erased += 1
                    continue
                shown = value if kind is FileKind.CSV else _mac(key, value)
                writer.writerow([shown, channel, purpose, instants.from_us(since).isoformat()])
                written += 1
        tmp.replace(out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UsageError(f"cannot write {out.name}: {exc.strerror}") from None
    return written, erased


def _mac(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
