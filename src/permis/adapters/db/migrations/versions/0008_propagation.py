"""propagation: how each processor receives opt-outs, deliveries, violations

Revision ID: 0008
Revises: 0004
Create Date: 2026-11-30 09:40:00

Processors get their delivery settings (webhook URL and secret, NATS subject, pull feed,
suppression files); each outbox row is fanned out once (``dispatched_at``) into one delivery per
processor and form; an attempt made after an objection reached (or should have reached) its
processor is a violation.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0004"
branch_labels = None
depends_on = None

PROCESSOR_COLUMNS = (
    ("webhook_url", sa.Text()),
    ("webhook_secret", sa.Text()),
    ("stream_subject", sa.Text()),
    ("files", sa.Text()),
    ("webhook_disabled_at", sa.BigInteger()),
    ("disabled_reason", sa.Text()),
)


def upgrade() -> None:
    for name, kind in PROCESSOR_COLUMNS:
        op.add_column("processors", sa.Column(name, kind))
    op.add_column("processors", sa.Column("feed", sa.Boolean(), nullable=False, server_default="0"))
    op.add_column("outbox", sa.Column("dispatched_at", sa.BigInteger()))
    op.create_index("ix_outbox_pending", "outbox", ["dispatched_at", "id"])
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("uid", sa.Text(), nullable=False),
        sa.Column("principal_id", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("processor_id", sa.Integer(), nullable=False),
        sa.Column("form", sa.Text(), nullable=False),
        sa.Column("contact_hash", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.BigInteger(), nullable=False),
        sa.Column("lease_until", sa.BigInteger()),
        sa.Column("last_error", sa.Text()),
        sa.Column("delivered_at", sa.BigInteger()),
        sa.Column("acked_at", sa.BigInteger()),
        sa.UniqueConstraint("uid", name="uq_deliveries_uid"),
        sa.UniqueConstraint("outbox_id", "processor_id", "form", name="uq_deliveries_once"),
    )
    op.create_index("ix_deliveries_due", "deliveries", ["state", "next_attempt_at"])
    op.create_index(
        "ix_deliveries_order", "deliveries", ["processor_id", "form", "contact_hash", "outbox_id"]
    )
    op.create_table(
        "violations",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("principal_id", sa.Integer(), nullable=False),
        sa.Column("attempt_event_id", sa.Integer(), nullable=False),
        sa.Column("objection_event_id", sa.Integer(), nullable=False),
        sa.Column("processor", sa.Text()),
        sa.Column("contact_hash", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("objection_at", sa.BigInteger(), nullable=False),
        sa.Column("delivered_at", sa.BigInteger()),
        sa.Column("attempt_at", sa.BigInteger(), nullable=False),
        sa.Column("delay_us", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_violations_principal", "violations", ["principal_id", "attempt_at"])


def downgrade() -> None:
    op.drop_table("violations")
    op.drop_table("deliveries")
    op.drop_index("ix_outbox_pending", "outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("dispatched_at")
    with op.batch_alter_table("processors") as batch:
        for name, _ in PROCESSOR_COLUMNS:
            batch.drop_column(name)
        batch.drop_column("feed")
