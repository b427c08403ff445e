"""The full-text index of trials.

- `trial_search`: one row of words per trial, from its current version (storage/text_index.py).
- SQLite: the FTS5 table `trial_search_fts` over `trial_search.document` (external content), kept in step
  by triggers. PostgreSQL: `trial_search.words`, a tsvector with a GIN index.
- Every trial already stored is indexed.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-09
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import TSVECTOR

from hemewatch.storage.text_index import rebuild

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# FTS_TABLE is trial_search_fts (spelled out: the statements are constants).
_FORGET = (
    "INSERT INTO trial_search_fts(trial_search_fts, rowid, document) "
    "VALUES ('delete', old.id, old.document); "
)
_LEARN = "INSERT INTO trial_search_fts(rowid, document) VALUES (new.id, new.document); "
_SQLITE_FTS = (
    "CREATE VIRTUAL TABLE trial_search_fts USING fts5(document, content='trial_search', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2', prefix='2 3')",
    f"CREATE TRIGGER trial_search_inserted AFTER INSERT ON trial_search BEGIN {_LEARN}END",
    f"CREATE TRIGGER trial_search_deleted AFTER DELETE ON trial_search BEGIN {_FORGET}END",
    f"CREATE TRIGGER trial_search_updated AFTER UPDATE ON trial_search BEGIN {_FORGET}{_LEARN}END",
)


def upgrade() -> None:
    op.create_table(
        "trial_search",
        sa.Column("id", _ID, nullable=False, autoincrement=False),
        sa.Column("nct_id", sa.String(11), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("words", sa.Text().with_variant(TSVECTOR(), "postgresql")),
        sa.PrimaryKeyConstraint("id", name="pk_trial_search"),
        sa.ForeignKeyConstraint(
            ["nct_id"], ["trials.nct_id"], name="fk_trial_search_nct_id_trials", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("nct_id", name="uq_trial_search_nct_id"),
    )
    op.create_index("ix_trial_search_words", "trial_search", ["words"], postgresql_using="gin")
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in _SQLITE_FTS:
            op.execute(statement)
    rebuild(bind)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("trial_search_inserted", "trial_search_deleted", "trial_search_updated"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS trial_search_fts")
    op.drop_index("ix_trial_search_words", table_name="trial_search")
    op.drop_table("trial_search")
