"""Locks between processes, on SQLite (lock files) and PostgreSQL (advisory locks)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import Engine, inspect

from hemewatch.errors import JobAlreadyRunning
from hemewatch.storage.engine import create_db_engine, current_revision, head_revision, migrate
from hemewatch.storage.locks import job_lock
from hemewatch.storage.runs import get_run, start_run

T = TypeVar("T")

REPO = Path(__file__).resolve().parents[2]
# A process that takes a lock, says so, and holds it until it is killed.
HOLDER = """
import sys
from hemewatch.storage.engine import create_db_engine
from hemewatch.storage.locks import job_lock
engine = create_db_engine(sys.argv[1])
with job_lock(engine, "sync"):
    print("held", flush=True)
    sys.stdin.read()
"""


@pytest.fixture
def bare_engine(db_url: str) -> Iterator[Engine]:
    """An engine on a database with no schema yet."""
    engine = create_db_engine(db_url)
    try:
        yield engine
    finally:
        engine.dispose()


def test_a_second_job_of_a_kind_is_refused_and_names_the_first(engine: Engine, db_url: str) -> None:
    other = create_db_engine(db_url)
    try:
        with job_lock(engine, "sync"):
            with pytest.raises(JobAlreadyRunning) as refused, job_lock(other, "sync"):
                pass
            message = refused.value.message
            assert message.startswith("another sync has been running since ")
            assert f"pid {os.getpid()}" in message and f"on host {socket.gethostname()}" in message
            assert refused.value.exit_code == 75
            with job_lock(other, "import"), job_lock(other, "reclassify"):
                pass  # other kinds of job are not held up
        with job_lock(other, "sync"):
            pass  # released with the block
    finally:
        other.dispose()


def test_the_since_time_comes_from_the_running_sync(engine: Engine, db_url: str) -> None:
    other = create_db_engine(db_url)
    try:
        with job_lock(engine, "sync"):
            with engine.begin() as conn:
                run_id = start_run(conn, kind="full")
            with pytest.raises(JobAlreadyRunning) as refused, job_lock(other, "sync"):
                pass
    finally:
        other.dispose()
    with engine.connect() as conn:
        started = get_run(conn, run_id).started_at
    assert started.strftime("%Y-%m-%d %H:%M:%S UTC") in refused.value.message


def test_wait_takes_the_lock_once_it_is_released(engine: Engine, db_url: str) -> None:
    other = create_db_engine(db_url)
    told = threading.Event()
    held = threading.Event()
    notes: list[str] = []

    def second() -> None:
        def waiting(holder: str) -> None:
            notes.append(holder)
            told.set()

        with job_lock(other, "import", wait=True, on_wait=waiting):
            held.set()

    try:
        with job_lock(engine, "import"):
            waiter = threading.Thread(target=second)
            waiter.start()
            assert told.wait(60), "the second never found the lock taken"
            assert not held.is_set()
        waiter.join(60)
        assert held.is_set()
    finally:
        other.dispose()
    assert notes[0].startswith("another import has been running since")


def test_a_killed_holder_releases_its_lock(engine: Engine, db_url: str) -> None:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]))
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, db_url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(JobAlreadyRunning) as refused, job_lock(engine, "sync"):
            pass
        assert f"pid {holder.pid}" in refused.value.message
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(60)
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.communicate()
    # PostgreSQL ends the session once it sees the connection close: poll until it has.
    deadline = time.monotonic() + 60
    while True:
        try:
            with job_lock(engine, "sync"):
                break
        except JobAlreadyRunning:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _together(url: str, count: int, action: Callable[[Engine], T]) -> tuple[list[T], list[BaseException]]:
    """`action` on `count` new engines of one database, started at the same moment: results and failures."""
    engines = [create_db_engine(url) for _ in range(count)]
    start = threading.Barrier(count)
    results: list[T] = []
    failures: list[BaseException] = []

    def run(engine: Engine) -> None:
        try:
            start.wait(60)
            results.append(action(engine))
        except BaseException as exc:  # reported by the caller
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(e,)) for e in engines]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(300)
    finally:
        for engine in engines:
            engine.dispose()
    return results, failures


def test_migrations_started_together_all_succeed(bare_engine: Engine, db_url: str) -> None:
    _, failures = _together(db_url, 4, migrate)
    assert failures == []
    with bare_engine.connect() as conn:
        assert current_revision(conn) == head_revision()
    assert {"trials", "study_versions", "sync_runs"} <= set(inspect(bare_engine).get_table_names())


def test_migrate_reports_from_which_revision(bare_engine: Engine) -> None:
    created = migrate(bare_engine, to="0004")
    assert (created.before, created.after, created.changed) == (None, "0004", True)
    upgraded = migrate(bare_engine)
    assert (upgraded.before, upgraded.after, upgraded.changed) == ("0004", head_revision(), True)
    assert not migrate(bare_engine).changed


def test_in_memory_sqlite_needs_no_lock() -> None:
    engine = create_db_engine("sqlite:///:memory:")
    try:
        with job_lock(engine, "sync"), job_lock(engine, "import"):
            pass
    finally:
        engine.dispose()


def _journal_mode(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.exec_driver_sql("PRAGMA journal_mode").scalar_one())


def test_connections_opening_a_new_sqlite_file_together_all_get_wal(tmp_path: Path) -> None:
    # Switching a new file to WAL is refused at once (no busy wait) while another connection opens it:
    # each connection must wait its turn, as `serve --workers 2` starting on a new database does.
    for attempt in range(25):
        modes, failures = _together(f"sqlite:///{tmp_path / f'new-{attempt}.db'}", 4, _journal_mode)
        assert failures == [], attempt
        assert modes == ["wal"] * 4
