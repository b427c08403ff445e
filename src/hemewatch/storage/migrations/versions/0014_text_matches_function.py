"""PostgreSQL: a function that reads the trials a text matches through the full-text index, in one statement.

A search reads the NCT numbers of the trials whose words hold its text (storage/text_index.py
`matching_numbers`). PostgreSQL's planner would scan every row of trial_search for most texts (it
prices neither the tsvectors' out-of-line pages nor their decompression), so the scan is ruled out
for that one read. It was ruled out in a savepoint around the statement: four round trips to the
server per search (SAVEPOINT, SET LOCAL, the read, ROLLBACK TO), ~9 % of a search page's time. A
function declared with the setting applies it to its own statement only, in one round trip. SQLite
needs nothing: its FTS5 table is always read through its index.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION hemewatch_text_matches(wanted tsquery) RETURNS SETOF bigint
        LANGUAGE sql STABLE PARALLEL SAFE
        SET enable_seqscan = off
        AS 'SELECT id FROM trial_search WHERE words @@ wanted'
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION hemewatch_text_matches(tsquery)")
