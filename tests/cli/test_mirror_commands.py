"""The mirror commands as a person runs them: real processes, real signals, real exit codes."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from hemewatch.storage.engine import open_database
from hemewatch.storage.tables import study_versions, sync_runs, trials
from tests.cli.runner import cli_env, hemewatch
from tests.fakeapi.faults import Fault
from tests.fakeapi.sample import make_studies
from tests.fakeapi.server import FakeRegistryServer


def _counts(db_url: str) -> dict[str, Any]:
    engine = open_database(db_url)
    try:
        with engine.connect() as conn:
            return {
                "trials": conn.execute(select(func.count()).select_from(trials)).scalar_one(),
                "versions": conn.execute(select(func.count()).select_from(study_versions)).scalar_one(),
                "runs": [r.status for r in conn.execute(select(sync_runs.c.status).order_by(sync_runs.c.id))],
            }
    finally:
        engine.dispose()


def test_demo_works_without_network(tmp_path: Path, sqlite_url: str) -> None:
    done = hemewatch("demo", "--no-serve", env=cli_env(tmp_path, sqlite_url))
    assert done.returncode == 0, done.stderr
    assert "trials:" in done.stdout
    # The sample tracker (feed only) exists before day 2, so its feed holds day 2's alerts.
    assert "Sample tracker" in done.stdout and "/feeds/" in done.stdout
    listed = json.loads(hemewatch("trackers", "list", "--json", env=cli_env(tmp_path, sqlite_url)).stdout)
    assert [t["name"] for t in listed] == ["Sample: every change (demo)"]
    status = hemewatch("status", "--json", env=cli_env(tmp_path, sqlite_url))
    summary = json.loads(status.stdout)
    # Day 1: every in-scope trial; day 2: nine updated records and two new trials.
    assert summary["trials"] == summary["trials_in_scope"] == 96 and summary["versions"] == 105
    assert summary["last_sync"] is None
    changes = json.loads(hemewatch("changes", "--json", env=cli_env(tmp_path, sqlite_url)).stdout)
    assert len(changes) == 10 and {c["type"] for c in changes} >= {
        "new_trial",
        "results_posted",
        "site_added",
    }
    again = hemewatch("demo", "--no-serve", env=cli_env(tmp_path, sqlite_url))
    assert again.returncode == 0
    assert (
        json.loads(hemewatch("status", "--json", env=cli_env(tmp_path, sqlite_url)).stdout)["versions"] == 105
    )
    assert len(json.loads(hemewatch("changes", "--json", env=cli_env(tmp_path, sqlite_url)).stdout)) == 10


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_demo_serves_the_web_app(tmp_path: Path, sqlite_url: str) -> None:
    port = _free_port()
    env = cli_env(tmp_path, sqlite_url, HEMEWATCH_WEB_PORT=str(port))
    process = subprocess.Popen(
        [sys.executable, "-m", "hemewatch", "demo"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the demo did not start serving"
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                if health.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        page = httpx.get(f"http://127.0.0.1:{port}/diseases/b-all", timeout=10)
        assert page.status_code == 200 and "NCT" in page.text
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)


def test_import_names_bad_input_and_exits_1(tmp_path: Path, db_url: str, real_records: Path) -> None:
    good = (real_records / "ctgov" / "studies.jsonl").read_bytes().splitlines()[:3]
    path = tmp_path / "in.jsonl"
    path.write_bytes(
        b"\n".join(
            [
                good[0],
                b"{oops",
                good[1],
                b'{"protocolSection":{"identificationModule":{"nctId":"NCTX"}}}',
                good[2],
            ]
        )
    )
    done = hemewatch("import", str(path), str(tmp_path / "missing.jsonl"), env=cli_env(tmp_path, db_url))
    assert done.returncode == 1
    assert f"{path}:2: invalid JSON" in done.stderr
    assert f"{path}:4: invalid NCT id" in done.stderr
    assert "missing.jsonl: no such file or folder" in done.stderr
    assert "3 new versions" in done.stdout and "3 rejected" in done.stdout
    assert "Traceback" not in done.stderr
    assert _counts(db_url)["versions"] == 3
    report = hemewatch("import", "--json", str(path), env=cli_env(tmp_path, db_url))
    parsed = json.loads(report.stdout)
    assert parsed["stored"] == 0 and parsed["unchanged"] == 3 and parsed["rejected"] == 2


def test_status_json_reports_the_last_sync(tmp_path: Path, db_url: str, fake_api: FakeRegistryServer) -> None:
    env = cli_env(tmp_path, db_url, fake_api.base_url)
    first = hemewatch("sync", env=env)
    assert first.returncode == 0, first.stderr
    assert "full sync #1 completed" in first.stdout
    second = hemewatch("sync", env=env)
    assert "nothing to do" in second.stdout
    summary = json.loads(hemewatch("status", "--json", env=env).stdout)
    assert {"trials", "versions", "last_sync"} <= set(summary)
    assert summary["last_sync"]["status"] == "skipped"
    assert summary["last_completed_sync"]["data_timestamp"] == fake_api.data_timestamp
    assert summary["trials"] == summary["last_completed_sync"]["counts"]["new_trials"] > 20


def test_registry_outage_is_a_message_not_a_traceback(
    tmp_path: Path, sqlite_url: str, fake_api: FakeRegistryServer
) -> None:
    fake_api.inject(Fault.http_error(503), times=5)
    done = hemewatch("sync", env=cli_env(tmp_path, sqlite_url, fake_api.base_url))
    assert done.returncode == 1
    assert "error:" in done.stderr and "503" in done.stderr
    assert "Traceback" not in done.stderr


UNREACHABLE_POSTGRES = "postgresql+psycopg://nobody@127.0.0.1:9"


@pytest.mark.parametrize(
    ("variable", "value", "expected", "code"),
    [
        ("HEMEWATCH_PAGE_SIZE", "5000", "page_size", 2),
        ("HEMEWATCH_DATABASE_URL", "mysql://nowhere/x", "Unsupported database", 2),
        # A database that cannot be reached is a failure, not a configuration error.
        ("HEMEWATCH_DATABASE_URL", f"{UNREACHABLE_POSTGRES}/x", "Cannot open the database", 1),
    ],
)
def test_bad_configuration_is_explained(
    tmp_path: Path, sqlite_url: str, variable: str, value: str, expected: str, code: int
) -> None:
    done = hemewatch("status", env=cli_env(tmp_path, sqlite_url, **{variable: value}))
    assert done.returncode == code
    assert expected in done.stderr
    assert "Traceback" not in done.stderr


def _wait_for_versions(db_url: str, minimum: int, process: subprocess.Popen[str]) -> None:
    # Condition wait on observable progress, bounded; the child is slowed by the fake server.
    deadline = time.monotonic() + 120
    while _counts(db_url)["versions"] < minimum:
        assert process.poll() is None, "sync finished before it could be interrupted"
        assert time.monotonic() < deadline, "sync made no progress"
        time.sleep(0.05)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "ctrl-c"])
def test_interrupted_sync_resumes_without_loss_or_duplicates(
    tmp_path: Path, db_url: str, fake_api: FakeRegistryServer, sig: signal.Signals
) -> None:
    fake_api.set_studies(make_studies(600))
    fake_api.inject(Fault.delay(0.3, path="/studies"), times=12)
    env = cli_env(tmp_path, db_url, fake_api.base_url, HEMEWATCH_PAGE_SIZE="50")
    process = subprocess.Popen(
        [sys.executable, "-m", "hemewatch", "sync"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for_versions(db_url, 150, process)
        process.send_signal(sig)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    if sig == signal.SIGINT:
        assert process.returncode == 130
        assert "interrupted" in stderr and "Traceback" not in stderr
    partial = _counts(db_url)
    assert 150 <= partial["versions"] < 600
    assert partial["runs"] == ["running" if sig == signal.SIGKILL else "failed"]

    done = hemewatch("sync", env=env)

    assert done.returncode == 0, done.stderr
    final = _counts(db_url)
    assert final["trials"] == 600 and final["versions"] == 600
    assert final["runs"] == ["abandoned" if sig == signal.SIGKILL else "failed", "completed"]


def test_a_bad_record_in_a_sync_is_set_aside_and_named(
    tmp_path: Path, db_url: str, fake_api: FakeRegistryServer
) -> None:
    studies = [dict(s) for s in fake_api.studies]
    bad = json.loads(json.dumps(studies[3]))
    bad["protocolSection"].setdefault("designModule", {})["phases"] = [2]
    bad_id = bad["protocolSection"]["identificationModule"]["nctId"]
    fake_api.set_studies([*studies[:3], bad, *studies[4:]])
    env = cli_env(tmp_path, db_url, fake_api.base_url)

    first = hemewatch("sync", env=env)

    assert first.returncode == 1, first.stderr
    assert "Traceback" not in first.stderr
    assert f"quarantined {bad_id}" in first.stderr and "phases" in first.stderr
    counts = _counts(db_url)
    clean_url = f"sqlite:///{tmp_path / 'clean.db'}"
    fake_api.set_studies(studies)
    assert hemewatch("sync", env=cli_env(tmp_path, clean_url, fake_api.base_url)).returncode == 0
    assert counts["trials"] == _counts(clean_url)["trials"] - 1 and counts["runs"] == ["completed_issues"]
    listed = json.loads(hemewatch("quarantine", "--json", env=env).stdout)
    assert [item["nct_id"] for item in listed] == [bad_id]
    # The next run does not stop on it, and the mirror counts it as completed.
    fake_api.set_studies([*studies[:3], bad, *studies[4:]])
    assert hemewatch("sync", "--full", env=env).returncode == 1
    assert _counts(db_url)["trials"] == counts["trials"]
