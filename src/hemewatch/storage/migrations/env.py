"""Alembic environment: always run on a connection handed over by hemewatch.storage.engine."""

from __future__ import annotations

from alembic import context

from hemewatch.storage.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - hemewatch always passes its connection
    raise RuntimeError("hemewatch migrations run through hemewatch.storage.engine.migrate()")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
