"""A run is a baseline until a sync or import has completed: interrupted first runs never alert."""

from __future__ import annotations

import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import Connection

from hemewatch.alerts import TrackerSpec, create_tracker
from hemewatch.pipeline.importing import import_files
from hemewatch.pipeline.progress import SilentProgress
from hemewatch.pipeline.syncing import run_sync
from hemewatch.registry.client import RegistryClient
from hemewatch.registry.scope import load_scope
from hemewatch.settings import USER_AGENT
from hemewatch.storage.engine import open_database
from hemewatch.storage.runs import finish_run, is_baseline, start_run
from hemewatch.storage.tables import (
    change_events,
    deliveries,
    sync_runs,
    tracker_events,
    tracker_notifications,
    trials,
)
from tests.cli.runner import cli_env, hemewatch
from tests.fakeapi.faults import Fault, FaultKind
from tests.fakeapi.sample import make_studies
from tests.fakeapi.server import FakeRegistryServer

LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


def _follow_everything(conn: Connection) -> None:
    create_tracker(
        conn, TrackerSpec(name="Everything", email="all@example.org"), now=LONG_AGO, confirmed=True
    )


def _count(conn: Connection, table: Any, *where: Any) -> int:
    return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def _alerts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            "new_trial": _count(conn, change_events, change_events.c.type == "new_trial"),
            "events": _count(conn, change_events),
            "queued": _count(conn, tracker_events)
            + _count(conn, tracker_notifications)
            + _count(conn, deliveries),
        }


def _runs(engine: Engine) -> list[tuple[str, str, bool]]:
    with engine.connect() as conn:
        rows = conn.execute(select(sync_runs).order_by(sync_runs.c.id))
        return [(r.kind, r.status, bool(r.baseline)) for r in rows]


def test_is_baseline_until_a_sync_or_import_completes(engine: Engine) -> None:
    with engine.begin() as conn:
        assert is_baseline(conn)
        for kind, status in [("full", "failed"), ("import", "abandoned"), ("incremental", "running")]:
            finish_run(conn, start_run(conn, kind=kind), status=status)
        assert is_baseline(conn)
        finish_run(conn, start_run(conn, kind="import"), status="completed")
        assert not is_baseline(conn)


def test_a_first_sync_killed_mid_way_is_rerun_as_a_baseline(
    tmp_path: Path, db_url: str, fake_api: FakeRegistryServer
) -> None:
    engine = open_database(db_url)
    try:
        with engine.begin() as conn:
            _follow_everything(conn)
        fake_api.set_studies(make_studies(600))
        # Page 3 never comes: the sync waits on it with pages 1 and 2 stored, and is killed there.
        fake_api.inject(Fault(FaultKind.DELAY, seconds=600, path="/studies", page=3))
        env = cli_env(tmp_path, db_url, fake_api.base_url, HEMEWATCH_PAGE_SIZE="100")
        process = subprocess.Popen(
            [sys.executable, "-m", "hemewatch", "sync"],
            env={**env, "HEMEWATCH_REQUEST_TIMEOUT": "600"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            fake_api.wait_for_request(lambda r: r.page == 3, timeout=120)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=60)
        with engine.connect() as conn:
            assert _count(conn, trials) == 200
        assert _runs(engine) == [("full", "running", True)]

        rerun = hemewatch("sync", env=env)

        assert rerun.returncode == 0, rerun.stderr
        assert _runs(engine) == [("full", "abandoned", True), ("full", "completed", True)]
        with engine.connect() as conn:
            assert _count(conn, trials) == 600
        assert _alerts(engine) == {"new_trial": 0, "events": 0, "queued": 0}
    finally:
        engine.dispose()


class _InterruptOnceStored(SilentProgress):
    """Ctrl-C as soon as the first batch of the import is committed."""

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine

    def advance(self, amount: float) -> None:
        with self.engine.connect() as conn:
            if _count(conn, trials):
                raise KeyboardInterrupt


def _write_jsonl(folder: Path, studies: list[dict[str, Any]], per_file: int) -> list[Path]:
    folder.mkdir()
    paths = []
    for start in range(0, len(studies), per_file):
        path = folder / f"part-{start // per_file:02d}.jsonl"
        path.write_bytes(b"\n".join(orjson.dumps(s) for s in studies[start : start + per_file]))
        paths.append(path)
    return paths


def test_a_first_import_interrupted_mid_way_is_rerun_as_a_baseline(engine: Engine, tmp_path: Path) -> None:
    with engine.begin() as conn:
        _follow_everything(conn)
    # Six files: the first batch (500 records) is committed before the last files are read.
    paths = _write_jsonl(tmp_path / "in", make_studies(1500), per_file=250)
    with pytest.raises(KeyboardInterrupt):
        import_files(engine, paths, scope=load_scope(), workers=0, progress=_InterruptOnceStored(engine))
    with engine.connect() as conn:
        stored = _count(conn, trials)
    assert 500 <= stored < 1500
    assert _runs(engine) == [("import", "failed", True)]

    report = import_files(engine, paths, scope=load_scope(), workers=0)

    assert report.new_trials == 1500 - stored and report.events == 0
    assert _runs(engine) == [("import", "failed", True), ("import", "completed", True)]
    assert _alerts(engine) == {"new_trial": 0, "events": 0, "queued": 0}


def test_a_sync_after_a_completed_import_is_not_a_baseline(
    engine: Engine, fake_api: FakeRegistryServer, tmp_path: Path
) -> None:
    with engine.begin() as conn:
        _follow_everything(conn)
    known = make_studies(20)
    newcomer = make_studies(1, first_id=99_500_000)
    import_files(engine, _write_jsonl(tmp_path / "in", known, per_file=20), scope=load_scope(), workers=0)
    fake_api.set_studies(known + newcomer)
    with RegistryClient(fake_api.base_url, user_agent=USER_AGENT, requests_per_minute=0) as client:
        run = run_sync(engine, client, load_scope())

    assert run.status == "completed" and not run.baseline
    assert run.counts["new_trials"] == 1
    alerts = _alerts(engine)
    assert alerts["new_trial"] == 1 and alerts["queued"] >= 1


def test_a_killed_import_is_abandoned_when_the_next_import_starts(engine: Engine, tmp_path: Path) -> None:
    # What `kill -9` leaves behind: run rows still marked running, one import and one sync.
    with engine.begin() as conn:
        killed_import = start_run(conn, kind="import", source="killed.jsonl", baseline=True)
        killed_sync = start_run(conn, kind="full", baseline=True)

    paths = _write_jsonl(tmp_path / "in", make_studies(5), per_file=5)
    report = import_files(engine, paths, scope=load_scope(), workers=0)

    with engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(select(sync_runs))}
    assert rows[killed_import].status == "abandoned" and rows[killed_import].finished_at is not None
    assert "stopped before the run finished" in rows[killed_import].error
    assert rows[killed_sync].status == "running"  # a sync's run is the next sync's business
    assert rows[report.run_id].status == "completed" and rows[report.run_id].baseline


def test_status_shows_a_killed_import_as_abandoned(tmp_path: Path, sqlite_url: str) -> None:
    env = cli_env(tmp_path, sqlite_url)
    engine = open_database(sqlite_url)
    try:
        with engine.begin() as conn:
            start_run(conn, kind="import", source="killed.jsonl", baseline=True)
    finally:
        engine.dispose()
    path = _write_jsonl(tmp_path / "in", make_studies(3), per_file=3)[0]

    done = hemewatch("import", str(path), env=env)

    assert done.returncode == 0, done.stderr
    summary = hemewatch("status", "--json", env=env)
    assert '"status": "completed"' in summary.stdout
    engine = open_database(sqlite_url)
    try:
        assert [status for _, status, _ in _runs(engine)] == ["abandoned", "completed"]
    finally:
        engine.dispose()
