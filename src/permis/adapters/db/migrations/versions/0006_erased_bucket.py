"""a coarse bucket of an erased contact point's value, so a scrub still finds its objections

Revision ID: 0006
Revises: 0008
Create Date: 2026-11-30 09:20:00

Erasure clears ``contact_points.value``; the scrub joins a campaign file with the register by
value, so an erased person's objections would be missed. ``erased_bucket`` (a number's digits
modulo 65521, an e-mail's length: thousands of people share a bucket) tells the scrub which few
rows to key-hash to find them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contact_points") as batch:
        batch.add_column(sa.Column("erased_bucket", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("contact_points") as batch:
        batch.drop_column("erased_bucket")
