"""Other registries' ids in the full-text index.

A trial's index row now holds its sponsor's protocol number and its secondary ids (EudraCT, EU CT,
ChiCTR, jRCT, ISRCTN, WHO UTN, …: registry/identifiers.py), so every stored trial's row is built
again. No table changes; a downgrade keeps the rows (the older code reads them as they are).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

from hemewatch.storage.text_index import rebuild

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    rebuild(op.get_bind())


def downgrade() -> None:
    pass
