"""Open the database (SQLite by default, PostgreSQL in production) and bring its schema up to date."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import Engine, column, create_engine, event, inspect, select, table
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError

from hemewatch.errors import ConfigurationError, StorageError
from hemewatch.storage.locks import schema_lock

if TYPE_CHECKING:
    from alembic.config import Config

# The newest revision in migrations/versions, known without loading Alembic and every migration script
# (a test checks it against them): a database already at it opens at once; Alembic is loaded only to
# migrate. A new migration changes this too.
HEAD_REVISION: Final = "0014"

# Where Alembic records a database's revision (its default table).
_alembic_version = table("alembic_version", column("version_num"))


def _alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(resources.files("hemewatch.storage") / "migrations"))
    return config


def head_revision() -> str:
    """The newest migration revision shipped with this version of hemewatch, as Alembic reads the scripts."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at, or None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def recorded_revisions(connection: Connection) -> list[str]:
    """The revisions in the database's alembic_version table, read without Alembic (none: a new database)."""
    if not inspect(connection).has_table(_alembic_version.name):
        return []
    return [str(revision) for revision in connection.scalars(select(_alembic_version.c.version_num))]


@dataclass(frozen=True)
class Migration:
    """What `migrate` did: the revision before (None: a new database) and after."""

    before: str | None
    after: str

    @property
    def changed(self) -> bool:
        """Whether any migration ran."""
        return self.before != self.after


def migrate(engine: Engine, *, to: str = "head") -> Migration:
    """Apply every pending migration (no-op when the schema is current) under the schema lock.

    Processes started together on a new database take turns: the first creates the schema,
    the others find it current. `to` names an older revision (for tests of upgrades). A database
    already at HEAD_REVISION is known by one read of its alembic_version table, without Alembic.
    """
    if to == "head":
        with engine.connect() as connection:
            if recorded_revisions(connection) == [HEAD_REVISION]:
                return Migration(HEAD_REVISION, HEAD_REVISION)
    target = head_revision() if to == "head" else to
    with engine.connect() as connection:
        before = current_revision(connection)
    if before == target:
        return Migration(before, target)
    with schema_lock(engine), engine.begin() as connection:
        before = current_revision(connection)
        if before != target:
            from alembic import command

            config = _alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, target)
    return Migration(before, target)


# How long a SQLite connection waits for another's lock before "database is locked".
_SQLITE_BUSY_SECONDS: Final = 30


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers (web pages) run while the single writer (sync) commits;
    # foreign keys are off by default in SQLite.
    # The busy timeout comes first: switching a new database to WAL waits for a writer that holds it
    # (another process creating the schema) instead of failing with "database is locked".
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_SECONDS * 1000}")
    _use_wal(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _use_wal(cursor: Any) -> None:
    # The mode is kept in the file: most connections find WAL set already and change nothing.
    # Switching needs the database to itself, and SQLite refuses it at once, without the busy wait,
    # when another connection opened the new file at the same moment ("database is locked": two
    # processes starting on a new database, `serve --workers 2`): then it is tried again.
    deadline = time.monotonic() + _SQLITE_BUSY_SECONDS
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def create_db_engine(url: str) -> Engine:
    """Create an Engine for a SQLAlchemy URL, creating the SQLite file's folder when needed."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError(f"Invalid database URL {url!r}: {exc}") from exc
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": _SQLITE_BUSY_SECONDS})
        event.listen(engine, "connect", _configure_sqlite)
        return engine
    if parsed.get_backend_name() == "postgresql":
        try:
            return create_engine(parsed, pool_pre_ping=True)
        except ModuleNotFoundError as exc:
            raise ConfigurationError(
                f"PostgreSQL needs its driver ({exc.name} is not installed): "
                "python3 -m pip install 'hemewatch[postgres]'"
            ) from exc
    raise ConfigurationError(
        f"Unsupported database {parsed.get_backend_name()!r}: use sqlite:/// or postgresql+psycopg://"
    )


def _migrate_or_raise(engine: Engine, url: str) -> Migration:
    try:
        return migrate(engine)
    except OperationalError as exc:
        engine.dispose()
        shown = make_url(url).render_as_string(hide_password=True)
        raise StorageError(f"Cannot open the database {shown}: {exc.orig}") from exc
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StorageError(f"Cannot migrate the database: {exc}") from exc


def open_database(url: str) -> Engine:
    """Create the engine and migrate the schema; raise StorageError with the cause when that fails."""
    engine = create_db_engine(url)
    _migrate_or_raise(engine, url)
    return engine


def upgrade_database(url: str) -> Migration:
    """Bring a database's schema to the newest revision and say from which one (`hemewatch migrate`)."""
    engine = create_db_engine(url)
    try:
        return _migrate_or_raise(engine, url)
    finally:
        engine.dispose()
