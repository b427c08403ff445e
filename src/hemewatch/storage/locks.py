"""Locks between processes: schema set-up, one job of a kind (sync, import, reclassify) at a time,
and one acting scheduler.

On PostgreSQL these are session advisory locks held on a dedicated connection; on SQLite, an
exclusive `flock` on a lock file beside the database. Either way the lock goes when its holder
does — finished, failed or killed — so nothing stale is left to clean up.
"""

from __future__ import annotations

import fcntl
import os
import re
import socket
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection

from hemewatch.errors import JobAlreadyRunning
from hemewatch.storage.runs import last_run
from hemewatch.storage.states import RunStatus

JOB_KINDS = ("sync", "import", "reclassify", "scheduler")
# The first key of every hemewatch advisory lock ("heme"); the second names what is locked.
_NAMESPACE = 0x68656D65
_KEYS = {"schema": 1, "sync": 2, "import": 3, "reclassify": 4, "scheduler": 5}
# The runs a job of each kind records in sync_runs (reclassify records none; a cycle holds the sync lock).
_RUN_KINDS = {"sync": ("full", "incremental", "cycle"), "import": ("import",)}
_APPLICATION_NAME = re.compile(r"^hemewatch \S+ (\d+)@(\S*)$")


@dataclass(frozen=True)
class LockHolder:
    """Who holds a lock, as far as can be told (any part may be unknown)."""

    pid: int | None = None
    host: str | None = None
    since: datetime | None = None


OnWait = Callable[[str], None]


@dataclass(frozen=True)
class Lease:
    """A lock this process holds; `held()` checks that it still does (its database session may be gone)."""

    held: Callable[[], bool]


class _Busy(Exception):
    def __init__(self, holder: LockHolder) -> None:
        super().__init__("busy")
        self.holder = holder


def describe_holder(kind: str, holder: LockHolder) -> str:
    """'another sync has been running since … (pid …, on host …)'."""
    since = holder.since.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if holder.since else "a moment ago"
    who = ", ".join(
        part
        for part in (
            f"pid {holder.pid}" if holder.pid is not None else "",
            f"on host {holder.host}" if holder.host else "",
        )
        if part
    )
    return f"another {kind} has been running since {since}" + (f" ({who})" if who else "")


@contextmanager
def schema_lock(engine: Engine) -> Iterator[None]:
    """Hold the schema lock (waiting for it): one process at a time creates or migrates the schema."""
    with _hold(engine, "schema", wait=True, on_wait=None):
        yield


@contextmanager
def job_lock(
    engine: Engine, kind: str, *, wait: bool = False, on_wait: OnWait | None = None
) -> Iterator[None]:
    """Hold the lock of one kind of job for the duration of the block.

    When another process holds it: with `wait`, call `on_wait` with who holds it and wait;
    without, raise JobAlreadyRunning naming the holder.
    """
    if kind not in JOB_KINDS:
        raise ValueError(f"unknown kind of job {kind!r}")
    with _hold(engine, kind, wait=wait, on_wait=on_wait):
        yield


@contextmanager
def try_lock(engine: Engine, kind: str) -> Iterator[Lease | LockHolder]:
    """Take the lock of a kind of job if it is free, without waiting.

    Yields a Lease, held for the block, or — when another process holds the lock — who holds it
    (and nothing is held). The scheduler stands by this way and tries again later.
    """
    if kind not in JOB_KINDS:
        raise ValueError(f"unknown kind of job {kind!r}")

    def busy(holder: LockHolder) -> None:
        raise _Busy(holder)

    with ExitStack() as stack:
        try:
            held = stack.enter_context(_acquire(engine, kind, busy))
        except _Busy as refused:
            yield refused.holder
            return
        yield Lease(held)


def lock_holder(engine: Engine, kind: str) -> LockHolder | None:
    """Who holds the lock of a kind of job now, or None when nobody does (a look, nothing is taken)."""
    if kind not in _KEYS:
        raise ValueError(f"unknown lock {kind!r}")
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            return _advisory_holder(conn, {"namespace": _NAMESPACE, "key": _KEYS[kind]}, held_only=True)
    path = _lock_file(engine, kind)
    if path is None:
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        try:
            # A shared lock taken and dropped at once: it fails only while a holder has it.
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _file_holder(fd)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


@contextmanager
def _hold(engine: Engine, name: str, *, wait: bool, on_wait: OnWait | None) -> Iterator[None]:
    def busy(holder: LockHolder) -> None:
        holder = _with_run_start(engine, name, holder)
        if not wait:
            raise JobAlreadyRunning(
                f"{describe_holder(name, holder)}; try again when it has finished, or pass --wait"
            )
        if on_wait is not None:
            on_wait(describe_holder(name, holder))

    with _acquire(engine, name, busy):
        yield


@contextmanager
def _acquire(engine: Engine, name: str, busy: Callable[[LockHolder], None]) -> Iterator[Callable[[], bool]]:
    """Hold the lock; yields a check that it is still held. `busy` is called when another holds it."""
    if engine.dialect.name == "postgresql":
        with _advisory_lock(engine, name, busy) as held:
            yield held
        return
    path = _lock_file(engine, name)
    if path is None:  # in-memory SQLite: one process by definition
        yield lambda: True
        return
    with _file_lock(path, busy) as held:
        yield held


def _with_run_start(engine: Engine, name: str, holder: LockHolder) -> LockHolder:
    # The running row of sync_runs says when the job itself started; a row older than the
    # lock is a run killed earlier, not the holder's.
    kinds = _RUN_KINDS.get(name)
    if kinds is None:
        return holder
    try:
        with engine.connect() as conn:
            running = last_run(conn, kinds=kinds, status=RunStatus.RUNNING)
    except Exception:  # the message is a courtesy: never fail for want of it
        return holder
    if running is None or (holder.since is not None and running.started_at < holder.since):
        return holder
    return LockHolder(pid=holder.pid, host=holder.host, since=running.started_at)


def _identity(name: str) -> str:
    return f"hemewatch {name} {os.getpid()}@{socket.gethostname()}"


@contextmanager
def _advisory_lock(
    engine: Engine, name: str, busy: Callable[[LockHolder], None]
) -> Iterator[Callable[[], bool]]:
    key = {"namespace": _NAMESPACE, "key": _KEYS[name]}
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        # The holder's pid and host travel in the session's application_name, which the
        # process refused the lock reads back from pg_stat_activity.
        conn.execute(
            text("SELECT set_config('application_name', :name, false)"), {"name": _identity(name)[:63]}
        )
        if not conn.execute(text("SELECT pg_try_advisory_lock(:namespace, :key)"), key).scalar_one():
            busy(_advisory_holder(conn, key) or LockHolder())
            conn.execute(text("SELECT pg_advisory_lock(:namespace, :key)"), key)
        # Any statement marks the session's state_change: the time the lock was taken.
        conn.execute(text("SELECT 1"))

        def held() -> bool:
            # The lock lives as long as this session: a restarted server or a cut connection ends it.
            try:
                return bool(
                    conn.execute(
                        text(
                            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                            "AND pid = pg_backend_pid() AND classid = CAST(:namespace AS oid) "
                            "AND objid = CAST(:key AS oid) AND objsubid = 2"
                        ),
                        key,
                    ).scalar_one()
                )
            except Exception:
                return False

        try:
            yield held
        finally:
            # The session is the lock: closing it releases the lock whatever state it is in.
            conn.invalidate()


def _advisory_holder(conn: Connection, key: dict[str, int], *, held_only: bool = False) -> LockHolder | None:
    row = conn.execute(
        text(
            "SELECT a.application_name, a.state_change "
            "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = CAST(:namespace AS oid) "
            "AND l.objid = CAST(:key AS oid) AND l.objsubid = 2 "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ),
        key,
    ).first()
    if row is None:
        # Released between the refusal and this look; or, when only looking, nobody holds it.
        return None if held_only else LockHolder()
    match = _APPLICATION_NAME.match(row.application_name or "")
    if match is None:
        return LockHolder(since=row.state_change)
    return LockHolder(pid=int(match.group(1)), host=match.group(2) or None, since=row.state_change)


def _lock_file(engine: Engine, name: str) -> Path | None:
    database = engine.url.database
    if not database or database == ":memory:" or engine.url.query.get("mode") == "memory":
        return None
    path = Path(database)
    return path.with_name(f"{path.name}.{name}.lock")


@contextmanager
def _file_lock(path: Path, busy: Callable[[LockHolder], None]) -> Iterator[Callable[[], bool]]:
    path.parent.mkdir(parents=True, exist_ok=True)
    # The file is never deleted (that would let two processes lock two different files);
    # only its content, who holds it, changes.
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            busy(_file_holder(fd))
            fcntl.flock(fd, fcntl.LOCK_EX)
        _write_holder(fd)

        def held() -> bool:
            # Still the file others lock: a lock file deleted meanwhile would let another process in.
            try:
                return os.stat(path).st_ino == os.fstat(fd).st_ino
            except OSError:
                return False

        try:
            yield held
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _write_holder(fd: int) -> None:
    record = {"pid": os.getpid(), "host": socket.gethostname(), "since": datetime.now(UTC).isoformat()}
    os.ftruncate(fd, 0)
    os.pwrite(fd, orjson.dumps(record), 0)


def _file_holder(fd: int) -> LockHolder:
    try:
        record: Any = orjson.loads(os.pread(fd, 4096, 0))
        since = datetime.fromisoformat(record["since"])
        return LockHolder(pid=int(record["pid"]), host=str(record["host"]), since=since)
    except (OSError, ValueError, KeyError, TypeError):
        # Taken a moment ago and not yet signed, or written by something else.
        return LockHolder()
