"""The chain walker on rows in memory, and the fast link hash against the reference one."""

from __future__ import annotations

import hashlib

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from permis.domain.events import (
    GENESIS,
    ChainRow,
    ChainWalker,
    canonical,
    link_hash,
    link_hash_text,
    verify_chain,
)

text = st.text(max_size=20)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)


@given(
    st.integers(min_value=1, max_value=10**12),
    text,
    st.none() | text,
    st.dictionaries(text, json_values, max_size=4),
    st.none() | text,
    st.none() | text,
    st.none() | text,
)
def test_fast_link_hash_is_the_reference_one(
    seq: int,
    event_type: str,
    contact: str | None,
    data: dict[str, object],
    digest: str | None,
    actor: str | None,
    key: str | None,
) -> None:
    args = (GENESIS, seq, event_type, contact, 5, 7)
    reference = link_hash(*args, data, digest, actor, key)
    assert link_hash_text(*args, canonical(data), digest, actor, key) == reference


def chain(n: int = 5) -> list[ChainRow]:
    rows: list[ChainRow] = []
    prev = GENESIS
    for seq in range(1, n + 1):
        personal = canonical({"contact": f"+3361234567{seq}", "salt": str(seq)})
        pdigest = hashlib.sha256(personal.encode()).hexdigest()
        data = canonical({"n": seq})
        digest = link_hash_text(
            prev, seq, "ConsentGiven", f"h{seq % 2}", seq, seq, data, pdigest, None, None
        )
        rows.append(
            (
                10 * seq,
                seq,
                "ConsentGiven",
                f"h{seq % 2}",
                seq,
                seq,
                data,
                personal,
                pdigest,
                None,
                None,
                prev,
                digest,
            )
        )
        prev = digest
    return rows


def walk(
    rows: list[ChainRow], head: tuple[int, str] | None = None
) -> tuple[bool, int | None, str | None]:
    full = chain()
    head_seq, head_hash = head or (full[-1][1], full[-1][12])
    walker = ChainWalker(1, head_seq, head_hash)
    for row in rows:
        if walker.feed(row) is not None:
            break
    report = walker.finish()
    return report.ok, report.broken_event_id, report.problem


def test_an_intact_chain_verifies() -> None:
    assert walk(chain()) == (True, None, None)


def test_each_tampering_names_its_event() -> None:
    rows = chain()
    changed = [*rows[:2], (*rows[2][:6], canonical({"n": 99}), *rows[2][7:]), *rows[3:]]
    assert walk(changed) == (False, 30, "event content changed")
    assert walk([*rows[:2], *rows[3:]]) == (False, 40, "sequence gap: expected 3, found 4")
    assert walk(rows[:4])[1:] == (40, "tail missing: the head records seq 5, last is 4")
    swapped = [*rows[:1], (*rows[1][:7], rows[2][7], *rows[1][8:]), *rows[2:]]
    assert walk(swapped) == (False, 20, "personal data changed")
    cleared = [*rows[:1], (*rows[1][:7], None, *rows[1][8:]), *rows[2:]]
    assert walk(cleared) == (False, 20, "personal data removed without an erasure event")
    moved = [*rows[:1], (5, *rows[1][1:]), *rows[2:]]
    assert walk(moved) == (False, 5, "event id out of order (inserted or moved)")


def test_verify_chain_on_stored_events_agrees() -> None:
    import json

    from permis.domain.events import StoredEvent

    events = [
        StoredEvent(
            r[0],
            1,
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            json.loads(r[6]),
            json.loads(r[7] or "null"),
            r[8],
            r[9],
            r[10],
            r[11],
            r[12],
        )
        for r in chain()
    ]
    assert verify_chain(1, events, 5, chain()[-1][12]).ok


def test_the_scrub_computes_the_erasure_bucket_of_each_contact_like_erasure() -> None:
    from permis.services.erasure import erased_bucket
    from permis.services.scrub_state import erased_buckets

    contacts = ["+33612345678", "+262692123456", "jean.dupont@exemple.fr", "+14155550123", "é@x.fr"]
    assert erased_buckets(pl.Series(contacts)).to_list() == [erased_bucket(c) for c in contacts]
