"""Opening a database: one read when its schema is current, Alembic only when a migration is due."""

from __future__ import annotations

import subprocess
import sys

import pytest
from alembic.util import CommandError
from sqlalchemy import inspect, text

from hemewatch.storage.engine import (
    HEAD_REVISION,
    create_db_engine,
    current_revision,
    head_revision,
    migrate,
    open_database,
    recorded_revisions,
)

# Open the database in a fresh interpreter, then say which of the migration machinery it loaded.
_PROBE = """
import sys
from hemewatch.storage.engine import open_database
open_database(sys.argv[1]).dispose()
stacks = ("alembic", "hemewatch.classification", "hemewatch.storage.text_index")
print(" ".join(sorted(m for m in sys.modules if m.startswith(stacks))))
"""


def _loaded_by_open(db_url: str) -> set[str]:
    command = [sys.executable, "-c", _PROBE, db_url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    return set(done.stdout.split())


def test_the_known_head_is_the_newest_migration_script() -> None:
    # A new migration under storage/migrations/versions changes HEAD_REVISION in storage/engine.py too.
    assert head_revision() == HEAD_REVISION


def test_a_current_database_opens_without_loading_alembic(db_url: str) -> None:
    migrate_engine = open_database(db_url)
    migrate_engine.dispose()
    assert _loaded_by_open(db_url) == set()


def test_an_older_schema_is_migrated_when_opened(db_url: str) -> None:
    engine = create_db_engine(db_url)
    try:
        assert migrate(engine, to="0004").after == "0004"
        with engine.connect() as conn:
            assert recorded_revisions(conn) == ["0004"]
    finally:
        engine.dispose()
    loaded = _loaded_by_open(db_url)
    assert "alembic" in loaded  # it took Alembic to migrate it
    engine = open_database(db_url)
    try:
        with engine.connect() as conn:
            assert current_revision(conn) == recorded_revisions(conn)[0] == HEAD_REVISION
        assert "trial_search" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_a_new_database_records_no_revision_until_created(db_url: str) -> None:
    engine = create_db_engine(db_url)
    try:
        with engine.connect() as conn:
            assert recorded_revisions(conn) == []
        created = migrate(engine)
        assert (created.before, created.after, created.changed) == (None, HEAD_REVISION, True)
        again = migrate(engine)
        assert (again.before, again.after, again.changed) == (HEAD_REVISION, HEAD_REVISION, False)
    finally:
        engine.dispose()


def test_a_revision_table_not_at_head_goes_through_alembic(db_url: str) -> None:
    # Two revisions recorded are no single current one: the quick check leaves the database to
    # Alembic, which refuses it as it always did, rather than taking it for current.
    engine = open_database(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO alembic_version (version_num) VALUES ('0004')"))
            assert sorted(recorded_revisions(conn)) == ["0004", HEAD_REVISION]
        with pytest.raises(CommandError, match="more than one head"):
            migrate(engine)
    finally:
        engine.dispose()
