"""Quarantine: records set aside because they could not be stored, with their raw JSON and why.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Moment = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "quarantine",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("nct_id", sa.String(32)),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("field", sa.Text()),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("raw_size", sa.Integer(), nullable=False),
        sa.Column("raw_zstd", sa.LargeBinary(), nullable=False),
        sa.Column("first_seen_at", Moment, nullable=False),
        sa.Column("last_seen_at", Moment, nullable=False),
        sa.Column("seen_count", sa.Integer(), nullable=False),
        sa.Column("resolved_at", Moment),
        sa.Column("sync_run_id", Id),
        sa.PrimaryKeyConstraint("id", name="pk_quarantine"),
        sa.UniqueConstraint("content_hash", name="uq_quarantine_content_hash"),
        sa.ForeignKeyConstraint(
            ["sync_run_id"], ["sync_runs.id"], name="fk_quarantine_sync_run_id_sync_runs"
        ),
    )
    op.create_index("ix_quarantine_nct_id", "quarantine", ["nct_id"])


def downgrade() -> None:
    op.drop_table("quarantine")
