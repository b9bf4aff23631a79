"""Inbound messages: SMS that are not a STOP/START keyword, kept with the sender hashed

Revision ID: 0007
Revises: 0009
Create Date: 2026-11-30 09:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbound_messages",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("principal_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("provider_id", sa.Text(), nullable=False),
        sa.Column("sender_hash", sa.Text(), nullable=False),
        sa.Column("recipient", sa.Text()),
        sa.Column("body", sa.Text()),
        sa.Column("intent", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Integer()),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint(
            "principal_id", "provider", "provider_id", name="uq_inbound_provider_id"
        ),
    )


def downgrade() -> None:
    op.drop_table("inbound_messages")
