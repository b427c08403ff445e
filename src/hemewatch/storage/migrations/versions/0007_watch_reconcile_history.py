"""Watched trials, reconciliation state and record history.

- `watched_trials`: trials followed by NCT id (`hemewatch add`), kept in every sync even outside the scope.
- `trials.removed_at` / `trials.merged_into`: what reconciliation found upstream (record deleted,
  or its NCT id now an alias of another record).
- `record_history`: the registry's list of a trial's past versions (record history), and which stored
  version each one became once fetched (`hemewatch backfill`).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "watched_trials",
        sa.Column("nct_id", sa.String(11), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_by", sa.String(16), nullable=False),
        sa.Column("note", sa.Text()),
        sa.PrimaryKeyConstraint("nct_id", name="pk_watched_trials"),
    )
    with op.batch_alter_table("trials") as batch:
        batch.add_column(sa.Column("removed_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("merged_into", sa.String(11)))
    op.create_table(
        "record_history",
        sa.Column("nct_id", sa.String(11), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("version_date", sa.Date()),
        sa.Column("overall_status", sa.String(40)),
        sa.Column("module_labels", sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")),
        sa.Column("version_id", _ID),
        sa.Column("listed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True)),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["study_versions.id"],
            name="fk_record_history_version_id_study_versions",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("nct_id", "version", name="pk_record_history"),
    )


def downgrade() -> None:
    op.drop_table("record_history")
    # Not a batch (copy-and-rename) on SQLite: dropping the old trials table would cascade to the
    # study versions. SQLite has dropped columns in place since 3.35.
    op.drop_column("trials", "merged_into")
    op.drop_column("trials", "removed_at")
    op.drop_table("watched_trials")
