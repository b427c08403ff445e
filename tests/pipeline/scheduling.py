"""What the cycle and scheduler tests share: registry releases, settings, and a scheduler in a thread."""

from __future__ import annotations

import copy
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from hemewatch.pipeline.scheduler import Notice, PeriodicTask, Scheduler
from hemewatch.settings import Settings, load_settings
from hemewatch.storage.runs import SyncRun, get_run, utc_now
from hemewatch.storage.tables import sync_runs
from tests.fakeapi.server import FakeRegistryServer

DAY_1 = "2026-11-20T09:00:05"
DAY_2 = "2026-11-21T09:00:03"
DAY_3 = "2026-11-22T09:00:04"
# Two trials of the bundled sample in the watch scope: a B-ALL and an AML trial.
CHANGED = ("NCT05993949", "NCT04265963")


def release(api: FakeRegistryServer, timestamp: str, *, status: str = "ACTIVE_NOT_RECRUITING") -> None:
    """Publish a registry release: CHANGED trials get `status`, updated on the release's day."""
    studies = [copy.deepcopy(s) for s in api.studies]
    for study in studies:
        module = study["protocolSection"]["statusModule"]
        if study["protocolSection"]["identificationModule"]["nctId"] in CHANGED:
            module["overallStatus"] = status
            module["lastUpdatePostDateStruct"] = {"date": timestamp[:10], "type": "ACTUAL"}
    api.set_studies(studies)
    api.data_timestamp = timestamp


def make_settings(tmp_path: Path, db_url: str, api: FakeRegistryServer, **overrides: Any) -> Settings:
    """Settings for one test: its own data folder, the fake registry, quick polls, no machine config."""
    values: dict[str, Any] = {
        "home": tmp_path / "home",
        "database_url": db_url,
        "registry_url": api.base_url,
        "requests_per_minute": 0,
        "max_retries": 0,
        "request_timeout": 5,
        "poll_interval": 0.1,
        "public_url": "https://hemewatch.example.org",
        "webhook_allow_private": True,
        "delivery_backoff_seconds": 0.2,
        **overrides,
    }
    return load_settings(**values)


def clear_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The machine's own configuration must not leak into the test: no HEMEWATCH_*, no config file."""
    for name in list(os.environ):
        if name.startswith("HEMEWATCH_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HEMEWATCH_CONFIG", str(tmp_path / "absent.toml"))


class ShiftedClock:
    """The real time plus an offset the test moves forward (to reach next week's digests now)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return utc_now() + self.offset


@dataclass
class Running:
    """A scheduler running in a thread, and what it said."""

    scheduler: Scheduler
    thread: threading.Thread
    notices: list[Notice] = field(default_factory=list)

    def said(self, action: str) -> list[Notice]:
        """The notices of one kind."""
        return [n for n in list(self.notices) if n.action == action]


@contextmanager
def running(
    engine: Engine,
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utc_now,
    tasks: list[PeriodicTask] | None = None,
) -> Iterator[Running]:
    """Run a scheduler in a thread for the block; stop it (as SIGTERM does) and wait for it after."""
    notices: list[Notice] = []
    scheduler = Scheduler(engine, settings, on_notice=notices.append, clock=clock, tasks=tasks or [])
    thread = threading.Thread(target=scheduler.run, name="scheduler-under-test", daemon=True)
    state = Running(scheduler, thread, notices)
    thread.start()
    try:
        yield state
    finally:
        scheduler.stop.set()
        thread.join(timeout=60)
        assert not thread.is_alive(), "the scheduler did not stop"


def wait_for(condition: Callable[[], object], what: str, seconds: float = 60.0) -> None:
    """Poll `condition` until it is true; fail naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.02)


def runs(engine: Engine, *kinds: str) -> list[SyncRun]:
    """The runs of these kinds (all when none are named), oldest first."""
    with engine.connect() as conn:
        query = select(sync_runs.c.id).order_by(sync_runs.c.id)
        if kinds:
            query = query.where(sync_runs.c.kind.in_(kinds))
        return [get_run(conn, int(i)) for i in conn.execute(query).scalars()]


def completed_syncs(engine: Engine) -> list[str | None]:
    """The data timestamps of the completed syncs, oldest first."""
    return [r.data_timestamp for r in runs(engine, "full", "incremental") if r.status == "completed"]


def count(api: FakeRegistryServer, path: str) -> int:
    """How many requests the fake registry received for a path."""
    return sum(1 for r in api.requests if r.path == path)
