"""attempts indexed by time, so a scrub reads the last month of years of history

Revision ID: 0009
Revises: 0003
Create Date: 2026-11-30 09:30:00

The legal cap counts a month of attempts; reading them by ``(principal_id, at)`` touches a
month's rows instead of scanning the whole projection.
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_attempts_at", "attempts", ["principal_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_attempts_at", table_name="attempts")
