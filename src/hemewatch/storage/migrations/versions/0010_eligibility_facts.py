"""Eligibility facts per classified version (what the criteria require, allow or exclude, with evidence).

Existing versions get their facts when `hemewatch reclassify` (or the next `hemewatch run`) re-tags
them: the version string stored with each classification now names the eligibility parser too, so
every version classified before this revision counts as stale. Re-tagging produces no change events.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "eligibility_facts",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("version_id", _ID, nullable=False),
        sa.Column("nct_id", sa.String(11), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.String(160), nullable=False),
        sa.Column("polarity", sa.String(16), nullable=False),
        sa.Column("section", sa.String(16), nullable=False),
        sa.Column("low", sa.Float()),
        sa.Column("high", sa.Float()),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_eligibility_facts"),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["study_versions.id"],
            name="fk_eligibility_facts_version_id_study_versions",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_eligibility_facts_version_id", "eligibility_facts", ["version_id"])
    op.create_index(
        "ix_eligibility_facts_kind_value_version_id", "eligibility_facts", ["kind", "value", "version_id"]
    )


def downgrade() -> None:
    op.drop_table("eligibility_facts")
