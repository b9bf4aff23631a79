"""opposition list snapshots stored as sorted int64 blocks

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 14:05:00

One row per number (``opposition_entries``) made a 12-million-number import take minutes and
its load into a scrub seconds; blocks of sorted int64 numbers take about a second for both.
Snapshots imported under 0001 are converted in place.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "opposition_blocks",
        sa.Column("snapshot_id", sa.Integer(), nullable=False),
        sa.Column("first_number", sa.BigInteger(), nullable=False),
        sa.Column("last_number", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("numbers", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("snapshot_id", "first_number"),
    )
    _convert_entries()
    op.drop_table("opposition_entries")


def _convert_entries() -> None:
    from permis.adapters.db.numbers import pack_blocks

    bind = op.get_bind()
    ids = [
        r[0] for r in bind.execute(sa.text("SELECT DISTINCT snapshot_id FROM opposition_entries"))
    ]
    for sid in ids:
        numbers = [
            int(r[0][1:])
            for r in bind.execute(
                sa.text("SELECT number FROM opposition_entries WHERE snapshot_id = :s"), {"s": sid}
            )
        ]
        for first, last, count, data in pack_blocks(sorted(set(numbers))):
            bind.execute(
                sa.text("INSERT INTO opposition_blocks VALUES (:s, :f, :l, :c, :d)"),
                {"s": sid, "f": first, "l": last, "c": count, "d": data},
            )


def downgrade() -> None:
    op.create_table(
        "opposition_entries",
        sa.Column("snapshot_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("snapshot_id", "number"),
    )
    from permis.adapters.db.numbers import unpack

    bind = op.get_bind()
    for sid, data in bind.execute(sa.text("SELECT snapshot_id, numbers FROM opposition_blocks")):
        for number in unpack(bytes(data)):
            bind.execute(
                sa.text("INSERT INTO opposition_entries VALUES (:s, :n)"),
                {"s": sid, "n": f"+{number}"},
            )
    op.drop_table("opposition_blocks")
