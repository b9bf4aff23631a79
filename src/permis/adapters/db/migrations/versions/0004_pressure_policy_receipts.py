"""the principal's policy, receipt signing keys, the campaign of an attempt

Revision ID: 0004
Revises: 0007
Create Date: 2026-11-30 09:40:00

``policies``: the policy in force per principal (the full history is in the ledger, as
``PolicySet`` events); ``principal_keys``: each principal's Ed25519 key pair for signed receipts,
the private half encrypted; ``attempts.campaign``: for the policy's per-campaign caps.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "policies",
        sa.Column("principal_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("set_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("principal_id"),
    )
    op.create_table(
        "principal_keys",
        sa.Column("principal_id", sa.Integer(), nullable=False),
        sa.Column("kid", sa.Text(), nullable=False),
        sa.Column("public_jwk", sa.Text(), nullable=False),
        sa.Column("private_sealed", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("principal_id"),
    )
    with op.batch_alter_table("attempts") as batch:
        batch.add_column(sa.Column("campaign", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        batch.drop_column("campaign")
    op.drop_table("principal_keys")
    op.drop_table("policies")
