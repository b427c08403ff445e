"""Classification of each version (labels and tags with evidence) and typed change events.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "classifications",
        sa.Column("version_id", Id, nullable=False),
        sa.Column("nct_id", sa.String(11), nullable=False),
        sa.Column("lexicon_version", sa.String(80), nullable=False),
        sa.Column("acute_leukemia", sa.Boolean(), nullable=False),
        sa.Column("immunotherapy", sa.Boolean(), nullable=False),
        sa.Column("labels", Json, nullable=False),
        sa.Column("classified_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("version_id", name="pk_classifications"),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["study_versions.id"],
            name="fk_classifications_version_id_study_versions",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_classifications_nct_id", "classifications", ["nct_id"])
    op.create_table(
        "trial_tags",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("version_id", Id, nullable=False),
        sa.Column("nct_id", sa.String(11), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.String(160), nullable=False),
        sa.Column("value_folded", sa.String(160), nullable=False),
        sa.Column("evidence", Json, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_trial_tags"),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["study_versions.id"],
            name="fk_trial_tags_version_id_study_versions",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_trial_tags_version_id", "trial_tags", ["version_id"])
    op.create_index(
        "ix_trial_tags_kind_value_folded_version_id", "trial_tags", ["kind", "value_folded", "version_id"]
    )
    op.create_table(
        "change_events",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("nct_id", sa.String(11), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("alertable", sa.Boolean(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("before", Json),
        sa.Column("after", Json),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("old_version_id", Id),
        sa.Column("new_version_id", Id),
        sa.Column("registry_date", sa.Date()),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sync_run_id", Id),
        sa.PrimaryKeyConstraint("id", name="pk_change_events"),
        sa.ForeignKeyConstraint(
            ["nct_id"], ["trials.nct_id"], name="fk_change_events_nct_id_trials", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["old_version_id"], ["study_versions.id"], name="fk_change_events_old_version_id_study_versions"
        ),
        sa.ForeignKeyConstraint(
            ["new_version_id"], ["study_versions.id"], name="fk_change_events_new_version_id_study_versions"
        ),
        sa.ForeignKeyConstraint(
            ["sync_run_id"], ["sync_runs.id"], name="fk_change_events_sync_run_id_sync_runs"
        ),
    )
    op.create_index("ix_change_events_registry_date", "change_events", ["registry_date"])
    op.create_index("ix_change_events_nct_id_id", "change_events", ["nct_id", "id"])
    op.create_index("ix_change_events_type", "change_events", ["type"])


def downgrade() -> None:
    op.drop_table("change_events")
    op.drop_table("trial_tags")
    op.drop_table("classifications")
