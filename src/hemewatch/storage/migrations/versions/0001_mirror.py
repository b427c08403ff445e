"""Registry mirror: trials, every stored version, sync runs.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sync_runs",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("data_timestamp", sa.String(40)),
        sa.Column("since", sa.Date()),
        sa.Column("baseline", sa.Boolean(), nullable=False),
        sa.Column("fetched", sa.Integer(), nullable=False),
        sa.Column("stored", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("new_trials", sa.Integer(), nullable=False),
        sa.Column("out_of_scope", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("source", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_sync_runs"),
    )
    op.create_table(
        "trials",
        sa.Column("nct_id", sa.String(11), nullable=False),
        sa.Column("current_version_id", Id),
        sa.Column("version_count", sa.Integer(), nullable=False),
        sa.Column("brief_title", sa.Text()),
        sa.Column("overall_status", sa.String(40)),
        sa.Column("last_update_post_date", sa.Date()),
        sa.Column("phases", sa.String(64)),
        sa.Column("study_type", sa.String(32)),
        sa.Column("lead_sponsor", sa.Text()),
        sa.Column("countries", sa.Text()),
        sa.Column("start_date", sa.String(10)),
        sa.Column("primary_completion_date", sa.String(10)),
        sa.Column("enrollment", sa.Integer()),
        sa.Column("has_results", sa.Boolean()),
        sa.Column("in_scope", sa.Boolean(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("nct_id", name="pk_trials"),
    )
    op.create_index("ix_trials_current_version_id", "trials", ["current_version_id"])
    op.create_index("ix_trials_last_update_post_date", "trials", ["last_update_post_date"])
    op.create_table(
        "study_versions",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("nct_id", sa.String(11), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("last_update_post_date", sa.Date()),
        sa.Column("version_holder", sa.Date()),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("sync_run_id", Id),
        sa.Column("raw_size", sa.Integer(), nullable=False),
        sa.Column("raw_zstd", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_study_versions"),
        sa.ForeignKeyConstraint(
            ["nct_id"], ["trials.nct_id"], name="fk_study_versions_nct_id_trials", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["sync_run_id"], ["sync_runs.id"], name="fk_study_versions_sync_run_id_sync_runs"
        ),
        sa.UniqueConstraint("nct_id", "content_hash", name="uq_study_versions_nct_id_content_hash"),
    )
    op.create_index(
        "ix_study_versions_nct_id_last_update_post_date",
        "study_versions",
        ["nct_id", "last_update_post_date"],
    )


def downgrade() -> None:
    op.drop_table("study_versions")
    op.drop_table("trials")
    op.drop_table("sync_runs")
