"""The scheduler against the fake registry, real receivers and real databases (SQLite and PostgreSQL).

It runs the cycle when the registry's dataTimestamp moves and only then, sends what falls due
between cycles, survives outages with a growing backoff, stops at a safe point, runs periodic
tasks when due, and steps down when its lock is gone.
"""

from __future__ import annotations

import itertools
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text

from hemewatch.alerts import TrackerSpec, create_tracker
from hemewatch.pipeline.scheduler import Notice, PeriodicTask, Scheduler, TaskContext
from hemewatch.storage.runs import CYCLE_KIND, list_heartbeats, utc_now
from hemewatch.storage.tables import deliveries, study_versions
from tests.alerts.servers import HttpReceiver, SmtpServer
from tests.fakeapi.faults import Fault
from tests.fakeapi.sample import make_studies
from tests.fakeapi.server import FakeRegistryServer
from tests.pipeline.scheduling import (
    DAY_1,
    DAY_2,
    DAY_3,
    ShiftedClock,
    clear_environment,
    completed_syncs,
    count,
    make_settings,
    release,
    running,
    runs,
    wait_for,
)


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clear_environment(monkeypatch, tmp_path)


def _tracker(engine: Engine, **fields: object) -> None:
    values: dict[str, object] = {"name": "all changes", "email": "hem@example.org", **fields}
    with engine.begin() as conn:
        create_tracker(conn, TrackerSpec(**values), now=utc_now(), confirmed=True)  # type: ignore[arg-type]


def _statuses(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [r.status for r in conn.execute(select(deliveries.c.status).order_by(deliveries.c.id))]


def test_a_cycle_runs_when_the_data_timestamp_moves_and_not_otherwise(
    tmp_path: Path, engine: Engine, db_url: str, fake_api: FakeRegistryServer
) -> None:
    settings = make_settings(tmp_path, db_url, fake_api, poll_interval=0.05)
    with running(engine, settings) as scheduler:
        wait_for(lambda: completed_syncs(engine) == [DAY_1], "the first cycle")
        studies_after_first = count(fake_api, "/studies")
        polls = count(fake_api, "/version")
        # Many polls of an unchanged registry: no sync, no run recorded.
        wait_for(lambda: count(fake_api, "/version") >= polls + 20, "twenty more polls")
        assert count(fake_api, "/studies") == studies_after_first
        assert len(runs(engine)) == 2  # one cycle, one sync: an unchanged registry leaves no trace

        release(fake_api, DAY_2)
        wait_for(lambda: completed_syncs(engine) == [DAY_1, DAY_2], "the cycle of the new release")
        wait_for(lambda: runs(engine, CYCLE_KIND)[-1].status != "running", "the cycle's end")
        assert count(fake_api, "/studies") > studies_after_first
        polls = count(fake_api, "/version")
        wait_for(lambda: count(fake_api, "/version") >= polls + 10, "ten more polls")

    cycles = runs(engine, CYCLE_KIND)
    assert [c.status for c in cycles] == ["completed", "completed"]
    assert all((c.source or "").startswith("scheduler ") for c in cycles)
    syncs = runs(engine, "full", "incremental")
    assert [(s.kind, s.status) for s in syncs] == [("full", "completed"), ("incremental", "completed")]
    assert syncs[1].counts["events"] >= 2
    # Each cycle asks /version once more itself (the sync checks the release it reads).
    assert len(scheduler.said("cycle")) == 4  # "running the cycle" and its summary, twice
    assert len(scheduler.said("poll")) >= 30
    (beat,) = _heartbeats(engine)
    assert beat.role == "stopped" and beat.registry_timestamp == DAY_2 and beat.stopped_at is not None


def _heartbeats(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        return list(list_heartbeats(conn))


def test_a_weekly_digest_goes_out_when_its_week_ends_without_a_new_cycle(
    tmp_path: Path, engine: Engine, db_url: str, fake_api: FakeRegistryServer
) -> None:
    clock = ShiftedClock()
    with SmtpServer() as smtp:
        settings = make_settings(tmp_path, db_url, fake_api, smtp_url=smtp.url)
        with running(engine, settings, clock=clock) as scheduler:
            wait_for(lambda: completed_syncs(engine) == [DAY_1], "the first cycle")
            _tracker(engine, cadence="weekly", nct_ids=("NCT05993949",))
            release(fake_api, DAY_2)
            wait_for(lambda: completed_syncs(engine) == [DAY_1, DAY_2], "the second cycle")
            wait_for(lambda: _statuses(engine) == ["pending"], "the weekly delivery queued")
            studies = count(fake_api, "/studies")
            polls = count(fake_api, "/version")
            wait_for(lambda: count(fake_api, "/version") >= polls + 5, "a few polls")
            assert smtp.messages == []  # due when the ISO week ends

            clock.offset = timedelta(days=8)  # next Monday has come
            wait_for(lambda: smtp.messages, "the weekly digest")
            wait_for(lambda: _statuses(engine) == ["sent"], "the delivery recorded as sent")

        assert count(fake_api, "/studies") == studies  # sent between cycles, not by one
        assert len(runs(engine, CYCLE_KIND)) == 2
        (digest,) = smtp.messages
        assert digest["To"] == "hem@example.org"
        body = digest.get_body(preferencelist=("plain",)).get_content()
        assert "NCT05993949" in body and "https://hemewatch.example.org/trials/NCT05993949" in body
        assert [n.message for n in scheduler.said("send")] == [
            "sent 1, will retry 0, gave up on 0, cancelled 0"
        ]


def test_a_failed_delivery_is_retried_between_cycles(
    tmp_path: Path, engine: Engine, db_url: str, fake_api: FakeRegistryServer
) -> None:
    settings = make_settings(tmp_path, db_url, fake_api, delivery_backoff_seconds=0.3)
    with HttpReceiver(statuses=[500]) as hooks, running(engine, settings) as scheduler:
        wait_for(lambda: completed_syncs(engine) == [DAY_1], "the first cycle")
        _tracker(engine, cadence="immediate", email_enabled=False, webhook_url=hooks.url())
        release(fake_api, DAY_2)
        wait_for(lambda: completed_syncs(engine) == [DAY_1, DAY_2], "the second cycle")
        wait_for(lambda: _statuses(engine) and set(_statuses(engine)) == {"sent"}, "every delivery sent")

    cycle = runs(engine, CYCLE_KIND)[-1]
    assert cycle.status == "completed_issues" and cycle.details is not None
    assert cycle.details["deliveries"]["retrying"] == 1
    ids = [r.headers["x-hemewatch-delivery"] for r in hooks.requests]
    assert len(ids) == len(_statuses(engine)) + 1 and len(set(ids)) == len(ids) - 1
    assert any(n.message.startswith("sent 1,") for n in scheduler.said("send"))
    assert any("500" in n.message for n in scheduler.said("problem"))


def test_a_registry_outage_is_logged_and_retried_with_a_growing_backoff(
    tmp_path: Path, engine: Engine, db_url: str, fake_api: FakeRegistryServer
) -> None:
    settings = make_settings(tmp_path, db_url, fake_api, poll_interval=0.2)
    for fault in (
        Fault.http_error(503, path="/version"),
        Fault.http_error(502, path="/version"),
        Fault.rate_limited("0", path="/version"),
        Fault.disconnect(path="/version"),
    ):
        fake_api.inject(fault)
    with running(engine, settings) as scheduler:
        wait_for(lambda: completed_syncs(engine) == [DAY_1], "a cycle once the registry answers", 30)
        assert scheduler.thread.is_alive()
        problems = scheduler.said("problem")
        assert len(problems) == 4 and all("GET /version" in n.message for n in problems)
        gaps = [(b.at - a.at).total_seconds() for a, b in itertools.pairwise(problems)]
        # 0.2 s, 0.4 s, 0.8 s: each wait twice the one before (plus the time a poll takes)
        assert gaps[0] >= 0.18 and gaps[0] < gaps[1] < gaps[2] and gaps[2] >= 2.5 * gaps[0], gaps

        # An outage in the middle of a sync: the cycle fails, the next poll tries again.
        fake_api.inject(Fault.http_error(503, path="/studies"), times=2)
        release(fake_api, DAY_2)
        wait_for(lambda: completed_syncs(engine) == [DAY_1, DAY_2], "the release synced after the outage", 30)
        wait_for(lambda: runs(engine, CYCLE_KIND)[-1].status != "running", "the cycle's end")
    assert [c.status for c in runs(engine, CYCLE_KIND)] == ["completed", "failed", "failed", "completed"]
    failed = runs(engine, CYCLE_KIND)[1]
    assert "503" in (failed.error or "")
    assert fake_api.pending_faults == []


def test_a_stop_request_ends_a_sync_at_its_next_page_and_the_next_run_resumes(
    tmp_path: Path, engine: Engine, db_url: str, fake_api: FakeRegistryServer
) -> None:
    fake_api.set_studies(make_studies(120))
    fake_api.inject(Fault.delay(0.3, path="/studies"), times=6)
    settings = make_settings(tmp_path, db_url, fake_api, page_size=20)
    with running(engine, settings) as scheduler:
        wait_for(lambda: _versions(engine) >= 20, "the first page stored")
    # Stopped and joined by `running`, well before the sync could have ended.
    cycle, sync = runs(engine)
    assert (sync.status, sync.error) == ("failed", "interrupted (StopRequested)")
    assert (cycle.kind, cycle.status) == (CYCLE_KIND, "failed")
    assert 20 <= _versions(engine) < 120
    assert scheduler.said("stopped")

    with running(engine, settings):
        wait_for(lambda: completed_syncs(engine) == [DAY_1], "the sync completed by the next scheduler")
    assert _versions(engine) == 120


def _versions(engine: Engine) -> int:
    with engine.connect() as conn:
        return len(conn.execute(select(study_versions.c.id)).all())


def test_a_periodic_task_runs_when_due_and_a_failing_one_waits_longer(
    tmp_path: Path, engine: Engine, db_url: str, fake_api: FakeRegistryServer
) -> None:
    done: list[datetime] = []
    attempts: list[datetime] = []

    def weekly(context: TaskContext) -> str:
        done.append(context.now)
        return "checked"

    def failing(context: TaskContext) -> str:
        attempts.append(utc_now())
        raise RuntimeError("the upstream list is unavailable")

    tasks = [
        PeriodicTask("weekly", timedelta(days=7), lambda conn: done[-1] if done else None, weekly),
        PeriodicTask("failing", timedelta(days=7), lambda conn: None, failing),
    ]
    settings = make_settings(tmp_path, db_url, fake_api, poll_interval=0.2)
    with running(engine, settings, tasks=tasks) as scheduler:
        wait_for(lambda: len(attempts) >= 3, "three attempts of the failing task", 30)
        polls = count(fake_api, "/version")
        wait_for(lambda: count(fake_api, "/version") >= polls + 5, "more polls")
    assert len(done) == 1  # due once; then not before a week
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(attempts)]
    # A failing task backs off: 0.2 s, 0.4 s, 0.8 s (plus the time a pass takes).
    assert gaps[0] < gaps[1] and gaps[1] >= 1.5 * 0.2 and gaps[1] >= 1.2 * gaps[0], gaps
    assert any("failing failed: RuntimeError" in n.message for n in scheduler.said("problem"))


@pytest.mark.postgres
def test_a_scheduler_whose_lock_session_ends_steps_down_and_takes_the_lock_again(
    tmp_path: Path, postgres_url: str, fake_api: FakeRegistryServer
) -> None:
    from hemewatch.storage.engine import open_database

    engine = open_database(postgres_url)
    try:
        settings = make_settings(tmp_path, postgres_url, fake_api)
        with running(engine, settings) as scheduler:
            wait_for(lambda: completed_syncs(engine) == [DAY_1], "the first cycle")
            with engine.connect() as conn:
                holder = conn.execute(
                    text("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = 5 AND granted")
                ).scalar_one()
                conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": holder})
            wait_for(lambda: len(scheduler.said("active")) == 2, "the lock taken again")
            release(fake_api, DAY_3)
            wait_for(lambda: completed_syncs(engine) == [DAY_1, DAY_3], "a cycle after taking it again")
        assert any("lost the scheduler lock" in n.message for n in scheduler.said("problem"))
    finally:
        engine.dispose()


def test_run_once_acts_only_when_no_other_scheduler_does(
    tmp_path: Path, engine: Engine, db_url: str, fake_api: FakeRegistryServer
) -> None:
    settings = make_settings(tmp_path, db_url, fake_api)
    with running(engine, settings):
        wait_for(lambda: completed_syncs(engine) == [DAY_1], "the first cycle")
        refused = Scheduler(engine, settings, tasks=[]).run_once()
        assert not refused.acted and refused.holder is not None and refused.holder.pid is not None
    release(fake_api, DAY_2)
    done = Scheduler(engine, settings, tasks=[]).run_once()
    assert done.acted and done.problems == [] and len(done.cycles) == 1
    assert completed_syncs(engine) == [DAY_1, DAY_2]


def test_the_reconciliation_runs_every_reconcile_interval_and_not_when_disabled(
    tmp_path: Path, engine: Engine, db_url: str, fake_api: FakeRegistryServer
) -> None:
    settings = make_settings(tmp_path, db_url, fake_api, reconcile_interval=timedelta(days=7))
    notices: list[Notice] = []
    scheduler = Scheduler(engine, settings, on_notice=notices.append)  # its tasks from the settings
    thread = threading.Thread(target=scheduler.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: [r.status for r in runs(engine, "reconcile")] == ["completed"], "a reconciliation")
        polls = count(fake_api, "/version")
        wait_for(lambda: count(fake_api, "/version") >= polls + 10, "more polls")
    finally:
        scheduler.stop.set()
        thread.join(timeout=60)
    assert len(runs(engine, "reconcile")) == 1  # not again within the week
    assert completed_syncs(engine) == [DAY_1]
    assert any(n.message.startswith("reconcile: run #") for n in notices if n.action == "task")

    disabled = make_settings(tmp_path, db_url, fake_api, reconcile_interval=timedelta(0))
    assert Scheduler(engine, disabled)._tasks == []
