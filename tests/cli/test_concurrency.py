"""Several hemewatch processes at once, as cron, an operator and a web server start them.

Real processes on a real database (SQLite and PostgreSQL) against the local fake registry:
schema set-up under a lock, one job of a kind at a time, a clear refusal (exit 75) or a wait,
and a daily run that still delivers when the registry fails.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from hemewatch.demo import demo_days
from hemewatch.errors import JobAlreadyRunning
from hemewatch.storage.engine import create_db_engine, head_revision, migrate
from hemewatch.storage.locks import job_lock
from hemewatch.storage.tables import sync_runs
from tests.alerts.servers import SmtpServer
from tests.cli.runner import UNREACHABLE_REGISTRY, cli_env, hemewatch_process, start
from tests.fakeapi.faults import Fault
from tests.fakeapi.sample import make_studies
from tests.fakeapi.server import FakeRegistryServer

BUSY = JobAlreadyRunning.exit_code
STARTED_TOGETHER = 4
# Long enough that a second command starts while the first waits on the registry; the first
# is never cut short (its request timeout is longer still), so it completes.
SLOW_PAGE = Fault.delay(8.0, path="/studies")


def _poll(condition: Callable[[], bool], what: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.05)


def _asked_for_studies(registry: FakeRegistryServer) -> Callable[[], bool]:
    return lambda: any(r.path == "/studies" for r in registry.requests)


def _sync_statuses(db_url: str) -> list[str]:
    engine = create_db_engine(db_url)
    try:
        with engine.connect() as conn:
            return [row.status for row in conn.execute(select(sync_runs.c.status).order_by(sync_runs.c.id))]
    finally:
        engine.dispose()


def _finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    stdout, stderr = process.communicate(timeout=300)
    return process.returncode, stdout, stderr


def test_commands_started_together_on_a_new_database_all_succeed(tmp_path: Path, db_url: str) -> None:
    env = cli_env(tmp_path, db_url)
    commands = [("status", "--json"), ("trackers", "list"), ("changes", "--json"), ("status",)]
    processes = [start(*commands[i % len(commands)], env=env) for i in range(STARTED_TOGETHER)]
    results = [_finish(p) for p in processes]
    failed = [(code, stderr[-2000:]) for code, _, stderr in results if code != 0]
    assert failed == [], f"{len(failed)} of {STARTED_TOGETHER} failed"
    assert json.loads(results[0][1])["trials"] == 0


def test_a_second_sync_is_refused_while_one_runs(tmp_path: Path, db_url: str) -> None:
    with FakeRegistryServer(make_studies(30)) as registry:
        env = cli_env(tmp_path, db_url, registry.base_url, HEMEWATCH_REQUEST_TIMEOUT="60")
        assert hemewatch_process("migrate", env=env).returncode == 0
        registry.inject(SLOW_PAGE)
        first = start("sync", env=env)
        _poll(_asked_for_studies(registry), "the first sync to ask for studies")
        second = hemewatch_process("sync", env=env)
        daily = hemewatch_process("run", env=env)
        code, stdout, stderr = _finish(first)
    assert code == 0, stderr
    assert "full sync" in stdout and "completed" in stdout
    for refused in (second, daily):
        assert refused.returncode == BUSY, refused.stderr
        assert "another sync has been running since" in refused.stderr
        assert f"pid {first.pid}" in refused.stderr and socket.gethostname() in refused.stderr
        assert "Traceback" not in refused.stderr
    # The refused commands left no run behind and did not abandon the running one.
    assert _sync_statuses(db_url) == ["completed"]


def test_wait_runs_once_the_first_has_finished(tmp_path: Path, db_url: str) -> None:
    with FakeRegistryServer(make_studies(30)) as registry:
        env = cli_env(tmp_path, db_url, registry.base_url, HEMEWATCH_REQUEST_TIMEOUT="60")
        assert hemewatch_process("migrate", env=env).returncode == 0
        registry.inject(SLOW_PAGE)
        first = start("sync", env=env)
        _poll(_asked_for_studies(registry), "the first sync to ask for studies")
        second = hemewatch_process("sync", "--wait", env=env)
        code, _, stderr = _finish(first)
    assert code == 0, stderr
    assert second.returncode == 0, second.stderr
    assert "waiting" in second.stderr and "another sync has been running since" in second.stderr
    # It ran after the first had completed: the registry data had not changed since.
    assert "nothing to do" in second.stdout
    assert _sync_statuses(db_url) == ["completed", "skipped"]


def test_a_killed_holder_releases_the_lock(tmp_path: Path, db_url: str) -> None:
    with FakeRegistryServer(make_studies(30)) as registry:
        env = cli_env(tmp_path, db_url, registry.base_url, HEMEWATCH_REQUEST_TIMEOUT="60")
        assert hemewatch_process("migrate", env=env).returncode == 0
        registry.inject(Fault.timeout(path="/studies"))
        first = start("sync", env=env)
        _poll(_asked_for_studies(registry), "the first sync to ask for studies")
        os.kill(first.pid, signal.SIGKILL)
        first.communicate(timeout=60)
        # PostgreSQL ends the killed session's backend (and its advisory lock) as soon as it sees
        # the connection close: poll until the next sync is let in.
        deadline = time.monotonic() + 60
        while True:
            after = hemewatch_process("sync", env=env)
            if after.returncode != BUSY or time.monotonic() > deadline:
                break
    assert after.returncode == 0, after.stderr
    assert "full sync" in after.stdout
    assert _sync_statuses(db_url) == ["abandoned", "completed"]


def test_import_and_reclassify_take_their_own_locks(tmp_path: Path, db_url: str) -> None:
    env = cli_env(tmp_path, db_url)
    assert hemewatch_process("migrate", env=env).returncode == 0
    engine = create_db_engine(db_url)
    try:
        with job_lock(engine, "import"):
            refused = hemewatch_process("import", str(demo_days()[0]), env=env)
            assert refused.returncode == BUSY
            assert "another import has been running since" in refused.stderr
            assert "Traceback" not in refused.stderr
            # Another kind of job is not held up.
            assert hemewatch_process("reclassify", env=env).returncode == 0
        with job_lock(engine, "reclassify"):
            refused = hemewatch_process("reclassify", env=env)
            assert refused.returncode == BUSY
            assert "another reclassify has been running since" in refused.stderr
    finally:
        engine.dispose()
    assert hemewatch_process("import", str(demo_days()[0]), env=env).returncode == 0


def test_run_delivers_what_is_due_when_the_sync_fails(tmp_path: Path, db_url: str) -> None:
    day1 = make_studies(12)
    day2 = [dict(s) for s in make_studies(12)]
    for study in day2[:3]:
        study["protocolSection"]["statusModule"]["overallStatus"] = "COMPLETED"
    with (
        FakeRegistryServer(day1, data_timestamp="2025-07-07T09:00:00") as registry,
        SmtpServer() as smtp,
    ):
        env = cli_env(tmp_path, db_url, registry.base_url, HEMEWATCH_SMTP_URL=smtp.url)
        assert hemewatch_process("sync", env=env).returncode == 0
        added = hemewatch_process("trackers", "add", "--name", "All", "--email", "hem@example.org", env=env)
        assert added.returncode == 0, added.stderr
        registry.set_studies(day2)
        registry.data_timestamp = "2025-07-08T09:00:00"
        assert hemewatch_process("sync", env=env).returncode == 0
        assert smtp.messages == []
        failing = dict(env, HEMEWATCH_REGISTRY_URL=UNREACHABLE_REGISTRY)
        morning = hemewatch_process("run", env=failing)
    assert morning.returncode == 1, morning.stdout + morning.stderr
    assert "Traceback" not in morning.stderr
    assert "ClinicalTrials.gov" in morning.stderr  # the sync's own message
    assert "sent" in morning.stdout
    (digest,) = smtp.messages
    assert digest["To"] == "hem@example.org"
    assert "3 trials" in digest["Subject"]


def test_migrate_upgrades_an_old_schema_and_says_so(tmp_path: Path, db_url: str) -> None:
    engine = create_db_engine(db_url)
    try:
        migrate(engine, to="0004")
    finally:
        engine.dispose()
    env = cli_env(tmp_path, db_url)
    upgraded = hemewatch_process("migrate", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"from revision 0004 to {head_revision()}" in upgraded.stdout
    again = hemewatch_process("migrate", "--json", env=env)
    assert again.returncode == 0
    assert json.loads(again.stdout) == {"from": head_revision(), "to": head_revision(), "changed": False}
