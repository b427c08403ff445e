"""The migrations produce exactly the declared schema, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from hemewatch.storage.engine import current_revision, head_revision, migrate
from hemewatch.storage.tables import metadata
from hemewatch.storage.text_index import SQLITE_FULL_TEXT_TABLES


def _declared(name: str | None, type_: str, _parents: object) -> bool:
    return not (type_ == "table" and name in SQLITE_FULL_TEXT_TABLES)


def test_migrations_produce_the_declared_schema(engine: Engine) -> None:
    with engine.connect() as conn:
        # SQLite's full-text index is a virtual table (and its shadow tables) no Table declares.
        opts = {"compare_type": True, "include_name": _declared}
        context = MigrationContext.configure(conn, opts=opts)
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_database_is_at_head_and_migrate_is_idempotent(engine: Engine) -> None:
    migrate(engine)
    migrate(engine)
    with engine.connect() as conn:
        assert current_revision(conn) == head_revision()
    tables = set(inspect(engine).get_table_names())
    assert {"trials", "study_versions", "sync_runs"} <= tables
