"""The scheduler: run details and heartbeats.

- `sync_runs.details`: what a run reports beyond its counters (a cycle: its sync, re-tagging and deliveries).
- `scheduler_heartbeats`: one row per scheduler process, with its role, last poll and next action.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("sync_runs") as batch:
        batch.add_column(sa.Column("details", _JSON))
    op.create_table(
        "scheduler_heartbeats",
        sa.Column("worker", sa.String(160), nullable=False),
        sa.Column("host", sa.String(120), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("active_since", sa.DateTime(timezone=True)),
        sa.Column("beat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_beat_at", sa.DateTime(timezone=True)),
        sa.Column("last_poll_at", sa.DateTime(timezone=True)),
        sa.Column("poll_error", sa.Text()),
        sa.Column("registry_timestamp", sa.String(40)),
        sa.Column("next_action", sa.Text()),
        sa.Column("next_action_at", sa.DateTime(timezone=True)),
        sa.Column("public_url", sa.Text()),
        sa.Column("warnings", _JSON, nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("worker", name="pk_scheduler_heartbeats"),
    )


def downgrade() -> None:
    op.drop_table("scheduler_heartbeats")
    # Not a batch (copy-and-rename) on SQLite: dropping the old sync_runs table fails on the foreign
    # keys that point at it. SQLite has dropped columns in place since 3.35.
    op.drop_column("sync_runs", "details")
