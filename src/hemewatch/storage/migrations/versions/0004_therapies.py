"""Therapies per classified version (agent -> modality -> targets with a role); trial conditions.

Existing versions get their therapies when `hemewatch reclassify` (or the next `hemewatch run`)
re-tags them with the current lexicons; re-tagging produces no change events.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("trials") as batch:
        batch.add_column(sa.Column("conditions", sa.Text()))
    _fill_conditions()
    op.create_table(
        "trial_therapies",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("version_id", Id, nullable=False),
        sa.Column("nct_id", sa.String(11), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("name_folded", sa.Text(), nullable=False),
        sa.Column("agent", sa.String(160)),
        sa.Column("modality", sa.String(64)),
        sa.Column("drug_class", sa.String(64)),
        sa.Column("targets", Json, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("unresolved", sa.Boolean(), nullable=False),
        sa.Column("evidence", Json, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_trial_therapies"),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["study_versions.id"],
            name="fk_trial_therapies_version_id_study_versions",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_trial_therapies_version_id", "trial_therapies", ["version_id"])
    op.create_index("ix_trial_therapies_agent_version_id", "trial_therapies", ["agent", "version_id"])


def _fill_conditions() -> None:
    """Copy each trial's conditions and keywords from its current stored version."""
    from hemewatch.storage.codec import decompress_json
    from hemewatch.storage.prepared import conditions_text

    bind = op.get_bind()
    trials = sa.table(
        "trials",
        sa.column("nct_id", sa.String),
        sa.column("conditions", sa.Text),
        sa.column("current_version_id", Id),
    )
    versions = sa.table("study_versions", sa.column("id", Id), sa.column("raw_zstd", sa.LargeBinary))
    query = sa.select(trials.c.nct_id, versions.c.raw_zstd).select_from(
        trials.join(versions, versions.c.id == trials.c.current_version_id)
    )
    updates = []
    for nct_id, blob in bind.execute(query):
        protocol = decompress_json(blob).get("protocolSection") or {}
        updates.append({"key": nct_id, "value": conditions_text(protocol)})
        if len(updates) >= 1000:
            _write(bind, trials, updates)
            updates = []
    if updates:
        _write(bind, trials, updates)


def _write(bind: sa.engine.Connection, trials: sa.TableClause, updates: list[dict[str, object]]) -> None:
    bind.execute(
        trials.update()
        .where(trials.c.nct_id == sa.bindparam("key"))
        .values(conditions=sa.bindparam("value")),
        updates,
    )


def downgrade() -> None:
    op.drop_table("trial_therapies")
    # Not a batch (copy-and-rename) on SQLite: dropping the old trials table would cascade to the
    # study versions. SQLite has dropped columns in place since 3.35.
    op.drop_column("trials", "conditions")
