"""`hemewatch worker` and `hemewatch serve` as an operator runs them: real processes on a real database.

Two workers on one database (PostgreSQL, and a SQLite file): one acts, the other stands by and
takes over when the first is killed. SIGTERM stops a worker at a safe point. `serve` runs one
scheduler however many web workers it starts, and links use the address served unless
HEMEWATCH_PUBLIC_URL says otherwise.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select

from hemewatch.errors import JobAlreadyRunning
from hemewatch.storage.engine import open_database
from hemewatch.storage.runs import CYCLE_KIND, Heartbeat, SyncRun, list_heartbeats
from hemewatch.storage.tables import study_versions
from tests.cli.runner import cli_env, hemewatch, start
from tests.fakeapi.faults import Fault
from tests.fakeapi.sample import load_sample_studies, make_studies
from tests.fakeapi.server import FakeRegistryServer
from tests.pipeline.scheduling import DAY_1, DAY_2, DAY_3, completed_syncs, count, release, runs

POLL = "0.3"
HOST = socket.gethostname()


class Output:
    """The lines a running process prints, read as they come."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(process.stdout, self.stdout), daemon=True),
            threading.Thread(target=self._read, args=(process.stderr, self.stderr), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream: object, into: list[str]) -> None:
        for line in stream:  # type: ignore[attr-defined]
            into.append(line)

    def notices(self) -> list[dict[str, object]]:
        """The JSON notices printed so far (`worker --json`)."""
        return [json.loads(line) for line in list(self.stdout) if line.startswith("{")]

    def finish(self, timeout: float = 60) -> int:
        """Wait for the process; its exit code."""
        code = self.process.wait(timeout=timeout)
        for reader in self._readers:
            reader.join(timeout=10)
        return code


def _wait(condition: Callable[[], object], what: str, seconds: float = 90.0) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > seconds:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.05)
    return time.monotonic() - started


def _beats(engine: Engine) -> dict[int, Heartbeat]:
    with engine.connect() as conn:
        return {beat.pid: beat for beat in list_heartbeats(conn)}


def _role(engine: Engine, pid: int) -> str | None:
    beat = _beats(engine).get(pid)
    return beat.role if beat else None


def _cycles_by(engine: Engine) -> list[str]:
    return [(run.source or "") for run in runs(engine, CYCLE_KIND)]


def _kill(output: Output) -> None:
    if output.process.poll() is None:
        output.process.kill()
        output.process.wait(timeout=30)


def test_two_workers_on_one_database_one_acts_and_the_other_takes_over_when_it_dies(
    tmp_path: Path, db_url: str
) -> None:
    with FakeRegistryServer(load_sample_studies(), data_timestamp=DAY_1) as api:
        env = cli_env(tmp_path, db_url, api.base_url, HEMEWATCH_POLL_INTERVAL=POLL, HEMEWATCH_MAX_RETRIES="0")
        assert hemewatch("migrate", env=env).returncode == 0
        engine = open_database(db_url)
        first = Output(start("worker", "--json", env=env))
        second: Output | None = None
        try:
            _wait(lambda: completed_syncs(engine) == [DAY_1], "the first worker's cycle")
            second = Output(start("worker", "--json", env=env))
            _wait(lambda: _role(engine, second.process.pid) == "standby", "the second worker standing by")
            release(api, DAY_2)
            _wait(lambda: completed_syncs(engine) == [DAY_1, DAY_2], "the new release synced")
            _wait(lambda: runs(engine, CYCLE_KIND)[-1].status != "running", "the cycle's end")
            studies_before = count(api, "/studies")
            polls = count(api, "/version")
            # Standing by, the second worker does not even look at the registry: about one poll per interval.
            time.sleep(3 * float(POLL))
            assert count(api, "/version") - polls <= 6
            assert count(api, "/studies") == studies_before

            first.process.send_signal(signal.SIGKILL)
            first.finish()
            takeover = _wait(lambda: _role(engine, second.process.pid) == "active", "the takeover")
            released = datetime.now(UTC)
            release(api, DAY_3)
            synced = _wait(lambda: completed_syncs(engine) == [DAY_1, DAY_2, DAY_3], "the release after it")
            _wait(lambda: runs(engine, CYCLE_KIND)[-1].status != "running", "the cycle's end")
            status = json.loads(hemewatch("status", "--json", env=env).stdout)

            second.process.send_signal(signal.SIGTERM)
            assert second.finish() == 0
        finally:
            _kill(first)
            if second is not None:
                _kill(second)
        try:
            cycles = _cycles_by(engine)
            syncs = runs(engine, "full", "incremental")
        finally:
            engine.dispose()
    one, two = first.process.pid, second.process.pid
    assert cycles == [f"scheduler {one}@{HOST}"] * 2 + [f"scheduler {two}@{HOST}"]
    assert [s.status for s in syncs] == ["completed"] * 3  # no sync twice, none skipped
    said = [n["action"] for n in second.notices()]
    assert said[:3] == ["started", "note", "standby"] and "active" in said and said[-1] == "stopped"
    assert any("taking over" in str(n["message"]) for n in second.notices())
    assert "standby" not in [n["action"] for n in first.notices()]
    assert status["scheduler"]["running"] and status["scheduler"]["lock"]["pid"] == two
    assert status["scheduler"]["active"]["pid"] == two
    last = runs_of(db_url)[-1]
    assert last.finished_at is not None
    print(
        f"\n{db_url.split(':')[0]}: takeover {takeover:.2f} s after SIGKILL (poll {POLL} s); new release: "
        f"cycle started {(last.started_at - released).total_seconds():.2f} s after it was published, "
        f"took {(last.finished_at - last.started_at).total_seconds():.2f} s "
        f"(seen by the test after {synced:.2f} s)"
    )


def test_sigterm_stops_a_worker_at_the_next_page_and_the_next_pass_finishes_the_sync(
    tmp_path: Path, sqlite_url: str
) -> None:
    with FakeRegistryServer(make_studies(200), data_timestamp=DAY_1) as api:
        api.inject(Fault.delay(0.3, path="/studies"), times=10)
        env = cli_env(
            tmp_path, sqlite_url, api.base_url, HEMEWATCH_POLL_INTERVAL=POLL, HEMEWATCH_PAGE_SIZE="20"
        )
        engine = open_database(sqlite_url)
        try:
            worker = Output(start("worker", env=env))
            try:
                _wait(lambda: _versions(engine) >= 20, "the first page stored")
                asked = time.monotonic()
                worker.process.send_signal(signal.SIGTERM)
                code = worker.finish()
                stopped_in = time.monotonic() - asked
            finally:
                _kill(worker)
            assert code == 0, "".join(worker.stderr)
            assert 20 <= _versions(engine) < 200
            cycle, sync = runs(engine)
            assert (sync.status, sync.error) == ("failed", "interrupted (StopRequested)")
            assert cycle.status == "failed"
            assert _role(engine, worker.process.pid) == "stopped"
            text = "".join(worker.stdout)
            assert "stopped: scheduler stopped" in text and "Traceback" not in "".join(worker.stderr)
            assert stopped_in < 10

            once = hemewatch("worker", "--once", "--json", env=env)
            assert once.returncode == 0, once.stdout + once.stderr
            notices = [json.loads(line) for line in once.stdout.splitlines()]
            assert [n["action"] for n in notices][:2] == ["started", "note"]
            assert any(n["action"] == "cycle" and "completed" in n["message"] for n in notices)
            assert _versions(engine) == 200
            assert completed_syncs(engine) == [DAY_1]
        finally:
            engine.dispose()
    print(f"\nSIGTERM during a sync: stopped in {stopped_in:.2f} s")


def _versions(engine: Engine) -> int:
    with engine.connect() as conn:
        return len(conn.execute(select(study_versions.c.id)).all())


def test_worker_once_does_nothing_while_another_scheduler_acts(tmp_path: Path, sqlite_url: str) -> None:
    with FakeRegistryServer(load_sample_studies(), data_timestamp=DAY_1) as api:
        env = cli_env(tmp_path, sqlite_url, api.base_url, HEMEWATCH_POLL_INTERVAL=POLL)
        engine = open_database(sqlite_url)
        worker = Output(start("worker", env=env))
        try:
            _wait(lambda: completed_syncs(engine) == [DAY_1], "the worker's cycle")
            refused = hemewatch("worker", "--once", env=env)
            assert refused.returncode == JobAlreadyRunning.exit_code
            assert "another scheduler acts" in refused.stderr
            assert f"standing by: another scheduler acts (pid {worker.process.pid}" in refused.stdout
        finally:
            worker.process.send_signal(signal.SIGINT)
            assert worker.finish() == 0
            engine.dispose()


def test_run_records_its_cycle_and_prints_as_before(tmp_path: Path, db_url: str) -> None:
    with FakeRegistryServer(load_sample_studies(), data_timestamp=DAY_1) as api:
        env = cli_env(tmp_path, db_url, api.base_url)
        done = hemewatch("run", env=env)
        assert done.returncode == 0, done.stderr
        assert "full sync #2 completed" in done.stdout and "sent 0, will retry 0" in done.stdout
        again = hemewatch("run", env=env)
        assert "nothing to do" in again.stdout
        api.inject(Fault.http_error(503), times=2)
        failed = hemewatch("run", env=env)
    assert failed.returncode == 1 and "503" in failed.stderr and "sent 0" in failed.stdout
    engine = open_database(db_url)
    try:
        cycles = runs(engine, CYCLE_KIND)
    finally:
        engine.dispose()
    assert [c.status for c in cycles] == ["completed", "completed", "failed"]
    assert all((c.source or "").startswith("run ") for c in cycles)
    assert cycles[1].details is not None and cycles[1].details["sync"]["status"] == "skipped"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serving(port: int, process: subprocess.Popen[str]) -> bool:
    assert process.poll() is None, process.communicate()
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_runs_one_scheduler_and_links_to_the_address_served(
    tmp_path: Path, sqlite_url: str, workers: int
) -> None:
    port = _free_port()
    with FakeRegistryServer(load_sample_studies(), data_timestamp=DAY_1) as api:
        env = cli_env(tmp_path, sqlite_url, api.base_url, HEMEWATCH_POLL_INTERVAL=POLL)
        serve = Output(start("serve", "--port", str(port), "--workers", str(workers), env=env))
        engine = open_database(sqlite_url)
        try:
            _wait(lambda: _serving(port, serve.process), "the web app")
            _wait(lambda: completed_syncs(engine) == [DAY_1], "the scheduler's first cycle")
            _wait(lambda: runs(engine, CYCLE_KIND)[-1].status != "running", "the cycle's end")
            base = f"http://127.0.0.1:{port}"
            redirect = httpx.get(f"{base}/diseases", timeout=10)
            page = httpx.get(f"{base}/api/v1/trials", params={"limit": 1}, timeout=10).json()
            status = httpx.get(f"{base}/api/v1/status", timeout=10).json()
            release(api, DAY_2)
            _wait(lambda: completed_syncs(engine) == [DAY_1, DAY_2], "the next release")
            time.sleep(3 * float(POLL))
            beats = _beats(engine)
            serve.process.send_signal(signal.SIGTERM)
            code = serve.finish()
            after = _beats(engine)
        finally:
            _kill(serve)
            engine.dispose()
    assert code == 0, "".join(serve.stderr)[-3000:]
    assert redirect.headers["location"] == f"{base}/"
    assert page["next"].startswith(f"{base}/api/v1/trials?") and page["trials"][0]["url"].startswith(base)
    assert status["public_url"] == {"value": base, "set": False}
    assert status["scheduler"]["running"] is True
    (scheduler_pid,) = beats  # one scheduler, whatever the number of web workers
    assert scheduler_pid != serve.process.pid  # a child process of the service
    assert beats[scheduler_pid].public_url == base and beats[scheduler_pid].warnings == []
    assert after[scheduler_pid].role == "stopped"  # stopped with the service
    assert [c.source for c in runs_of(sqlite_url)] == [f"scheduler {scheduler_pid}@{HOST}"] * 2
    log = "".join(serve.stderr)
    assert "hemewatch scheduler[" in log and "Traceback" not in log


def runs_of(db_url: str) -> list[SyncRun]:
    engine = open_database(db_url)
    try:
        return list(runs(engine, CYCLE_KIND))
    finally:
        engine.dispose()


def test_an_explicit_public_url_wins_and_no_scheduler_is_started_when_asked(
    tmp_path: Path, sqlite_url: str
) -> None:
    port = _free_port()
    env = cli_env(tmp_path, sqlite_url, HEMEWATCH_PUBLIC_URL="https://trials.example.org/")
    serve = Output(start("serve", "--port", str(port), "--no-scheduler", env=env))
    try:
        _wait(lambda: _serving(port, serve.process), "the web app")
        redirect = httpx.get(f"http://127.0.0.1:{port}/diseases", timeout=10)
        status = httpx.get(f"http://127.0.0.1:{port}/api/v1/status", timeout=10).json()
        serve.process.send_signal(signal.SIGINT)
        assert serve.finish() == 0
    finally:
        _kill(serve)
    assert redirect.headers["location"] == "https://trials.example.org/"
    assert status["public_url"] == {"value": "https://trials.example.org", "set": True}
    assert status["scheduler"] == {
        "running": False,
        "lock": None,
        "active": None,
        "standby": [],
        "last_seen": None,
    }


def test_a_worker_without_a_public_url_says_what_its_links_use(tmp_path: Path, sqlite_url: str) -> None:
    with FakeRegistryServer(load_sample_studies(), data_timestamp=DAY_1) as api:
        env = cli_env(
            tmp_path, sqlite_url, api.base_url, HEMEWATCH_POLL_INTERVAL=POLL, HEMEWATCH_WEB_PORT="8123"
        )
        engine = open_database(sqlite_url)
        worker = Output(start("worker", env=env))
        try:
            _wait(lambda: completed_syncs(engine) == [DAY_1], "the worker's cycle")
            _wait(lambda: _role(engine, worker.process.pid) == "active", "its heartbeat")
            status = hemewatch("status", env=env)
            as_json = json.loads(hemewatch("status", "--json", env=env).stdout)
        finally:
            worker.process.send_signal(signal.SIGTERM)
            assert worker.finish() == 0
            engine.dispose()
    warning = (
        "HEMEWATCH_PUBLIC_URL is not set: links in mails, feeds and webhooks use http://127.0.0.1:8123 "
        "(from web_host and web_port); set it to the address readers use"
    )
    assert warning in as_json["problems"]
    assert warning in status.stdout and "scheduler: running" in status.stdout


def test_demo_serves_on_the_port_given_without_a_scheduler(tmp_path: Path, sqlite_url: str) -> None:
    port = _free_port()
    demo = Output(start("demo", "--port", str(port), env=cli_env(tmp_path, sqlite_url)))
    try:
        _wait(lambda: _serving(port, demo.process), "the demo")
        status = httpx.get(f"http://127.0.0.1:{port}/api/v1/status", timeout=10).json()
        demo.process.send_signal(signal.SIGINT)
        assert demo.finish() == 0
    finally:
        _kill(demo)
    assert f"Open http://127.0.0.1:{port}/" in "".join(demo.stdout)
    assert status["public_url"] == {"value": f"http://127.0.0.1:{port}", "set": False}
    assert status["scheduler"]["last_seen"] is None and status["trials"] > 0


def test_secrets_are_read_from_files(tmp_path: Path, sqlite_url: str) -> None:
    secret = tmp_path / "database_url"
    secret.write_text(sqlite_url + "\n")
    env = cli_env(tmp_path, "sqlite:////nonexistent/folder/never.db")
    del env["HEMEWATCH_DATABASE_URL"]
    by_file = hemewatch("status", "--json", env={**env, "HEMEWATCH_DATABASE_URL_FILE": str(secret)})
    assert by_file.returncode == 0, by_file.stderr
    folder = tmp_path / "credentials"
    folder.mkdir()
    (folder / "HEMEWATCH_DATABASE_URL").write_text(sqlite_url)
    by_folder = hemewatch("migrate", "--json", env={**env, "HEMEWATCH_SECRETS_DIR": str(folder)})
    assert by_folder.returncode == 0 and json.loads(by_folder.stdout)["changed"] is False  # the same database
    # The variable itself wins over its file.
    explicit = hemewatch(
        "status",
        env={**env, "HEMEWATCH_DATABASE_URL": "mysql://x/y", "HEMEWATCH_DATABASE_URL_FILE": str(secret)},
    )
    assert explicit.returncode != 0 and "Unsupported database" in explicit.stderr
    missing = hemewatch("status", env={**env, "HEMEWATCH_SMTP_URL_FILE": str(tmp_path / "absent")})
    assert missing.returncode == 2
    assert (
        f"Cannot read the secret file {tmp_path / 'absent'} (from HEMEWATCH_SMTP_URL_FILE)" in missing.stderr
    )
    assert "Traceback" not in missing.stderr


def test_the_scheduler_of_a_killed_service_stops_on_its_own(tmp_path: Path, sqlite_url: str) -> None:
    port = _free_port()
    with FakeRegistryServer(load_sample_studies(), data_timestamp=DAY_1) as api:
        env = cli_env(tmp_path, sqlite_url, api.base_url, HEMEWATCH_POLL_INTERVAL=POLL)
        serve = Output(start("serve", "--port", str(port), env=env))
        engine = open_database(sqlite_url)
        try:
            _wait(lambda: completed_syncs(engine) == [DAY_1], "the scheduler's first cycle")
            (child,) = _beats(engine)
            killed = time.monotonic()
            serve.process.send_signal(signal.SIGKILL)
            serve.finish()
            _wait(lambda: _role(engine, child) == "stopped", "the orphaned scheduler's stop", 30)
            _wait(lambda: not _alive(child), "the orphaned scheduler's exit", 30)
            stopped = time.monotonic() - killed
        finally:
            _kill(serve)
            engine.dispose()
    print(f"\norphaned scheduler stopped {stopped:.2f} s after its service was killed")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (not yet reaped by init) counts as gone.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
