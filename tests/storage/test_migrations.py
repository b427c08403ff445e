"""The migrations produce exactly the declared schema, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from hemewatch.storage.engine import current_revision, head_revision, migrate
from hemewatch.storage.tables import metadata


def test_migrations_produce_the_declared_schema(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_database_is_at_head_and_migrate_is_idempotent(engine: Engine) -> None:
    migrate(engine)
    migrate(engine)
    with engine.connect() as conn:
        assert current_revision(conn) == head_revision()
    tables = set(inspect(engine).get_table_names())
    assert {"trials", "study_versions", "sync_runs"} <= tables
