"""CHECK constraints on the state columns: a run's status, a delivery's status and channel.

The values are those of storage/states.py at this revision, written out here so that this
migration stays what it is when an enum gains a value (that takes a migration of its own).

SQLite cannot add a constraint to a table: the table is built again. Batch mode's way (copy into
a new table, drop the old, rename the new) cannot be used here: foreign keys are enforced and
cannot be switched off inside the migration's transaction, and dropping a table that other rows
reference fails (sync_runs, referenced by versions, events and quarantine) or deletes those rows
(deliveries, whose attempts go ON DELETE CASCADE), while a rename rewrites every reference to
the new name. So the rows are kept aside first, the table is dropped and created again under its
own name, and the rows go back: the references, checked at commit (defer_foreign_keys), find
their rows again, and the attempts that the cascade deleted are put back too.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.engine import Connection

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

RUN_STATUSES = ("running", "completed", "completed_issues", "failed", "skipped", "abandoned")
DELIVERY_STATUSES = ("pending", "sending", "sent", "dead", "cancelled")
CHANNELS = ("email", "webhook", "apprise")

# table -> (constraint name, column, allowed values)
CHECKS: dict[str, tuple[tuple[str, str, tuple[str, ...]], ...]] = {
    "sync_runs": (("ck_sync_runs_status", "status", RUN_STATUSES),),
    "deliveries": (
        ("ck_deliveries_channel", "channel", CHANNELS),
        ("ck_deliveries_status", "status", DELIVERY_STATUSES),
    ),
}
# The tables whose rows a DROP of the table deletes (ON DELETE CASCADE), kept aside with it.
CASCADED = {"sync_runs": (), "deliveries": ("delivery_attempts",)}


def _condition(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _copy(bind: Connection, source: sa.Table, target: sa.Table) -> None:
    names = [c.name for c in source.columns]
    bind.execute(sa.insert(target).from_select(names, sa.select(*(source.c[n] for n in names))))


def _set_aside(bind: Connection, table: sa.Table) -> sa.Table:
    """A copy of the table's rows in a plain table of the same column types (no constraints)."""
    columns = (sa.Column(c.name, c.type) for c in table.columns)
    aside = sa.Table(f"_hw_0012_{table.name}", sa.MetaData(), *columns)
    aside.create(bind)
    _copy(bind, table, aside)
    return aside


def _put_back(bind: Connection, aside: sa.Table, table: sa.Table) -> None:
    _copy(bind, aside, table)
    aside.drop(bind)


def _sqlite_rebuild(table_name: str, *, add: bool) -> None:
    """Build a SQLite table again with (add) or without its CHECK constraints, keeping every row."""
    bind = op.get_bind()
    if not getattr(bind.connection.dbapi_connection, "in_transaction", True):
        # Python's sqlite3 opens its transaction at the first INSERT or UPDATE only: open it now,
        # so that the rebuild is all or nothing and the deferral below lasts until its end.
        bind.exec_driver_sql("BEGIN")
    bind.exec_driver_sql("PRAGMA defer_foreign_keys = ON")  # until the transaction ends
    reflected = sa.MetaData()
    table = sa.Table(table_name, reflected, autoload_with=bind)
    cascaded = [sa.Table(name, reflected, autoload_with=bind) for name in CASCADED[table_name]]
    kept = _set_aside(bind, table)
    kept_cascaded = [_set_aside(bind, child) for child in cascaded]
    reflected.remove(table)  # the copy takes its place, next to the tables it references
    rebuilt = table.to_metadata(reflected)
    names = {name for name, _column, _values in CHECKS[table_name]}
    for constraint in list(rebuilt.constraints):
        if isinstance(constraint, sa.CheckConstraint) and constraint.name in names:
            rebuilt.constraints.discard(constraint)
    if add:
        for name, column, values in CHECKS[table_name]:
            rebuilt.append_constraint(sa.CheckConstraint(_condition(column, values), name=name))
    table.drop(bind)
    rebuilt.create(bind)
    _put_back(bind, kept, rebuilt)
    for child, aside in zip(cascaded, kept_cascaded, strict=True):
        _put_back(bind, aside, child)


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, checks in CHECKS.items():
        if sqlite:
            _sqlite_rebuild(table, add=True)
            continue
        for name, column, values in checks:
            op.create_check_constraint(op.f(name), table, _condition(column, values))


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, checks in CHECKS.items():
        if sqlite:
            _sqlite_rebuild(table, add=False)
            continue
        for name, _column, _values in checks:
            op.drop_constraint(op.f(name), table, type_="check")
