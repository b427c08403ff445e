"""An index on classifications.classified_at: the data stamp reads its newest value, not a count.

Every page cached by the web app is keyed by the data stamp (storage/runs.py `data_stamp`), read on
each request. It counted the classifications to see a version classified again; on PostgreSQL a
count reads the whole table (1.3 ms for 20,000 trials, growing with the mirror). Each
classification is stored with the time it was made, so the newest time moves whenever one is
stored, and through this index it is one lookup.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_classifications_classified_at", "classifications", ["classified_at"])


def downgrade() -> None:
    op.drop_index("ix_classifications_classified_at", table_name="classifications")
