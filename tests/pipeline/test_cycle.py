"""The daily cycle as one pipeline function: sync → re-tag → send what is due, recorded as a `cycle` run.

Real parts: the fake registry over HTTP, a real webhook receiver, SQLite and PostgreSQL.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import Engine

from hemewatch.alerts import TrackerSpec, create_tracker
from hemewatch.errors import RegistryUnavailable
from hemewatch.pipeline.cycle import run_cycle, who_runs
from hemewatch.registry.client import RegistryClient
from hemewatch.registry.scope import load_scope
from hemewatch.settings import Settings
from hemewatch.storage.runs import CYCLE_KIND, start_run, utc_now
from tests.alerts.servers import HttpReceiver
from tests.fakeapi.faults import Fault
from tests.fakeapi.server import FakeRegistryServer
from tests.pipeline.scheduling import DAY_1, DAY_2, clear_environment, make_settings, release, runs


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clear_environment(monkeypatch, tmp_path)


def _webhook_tracker(engine: Engine, url: str) -> None:
    spec = TrackerSpec(
        name="every change, at once",
        email="team@example.org",
        cadence="immediate",
        email_enabled=False,
        webhook_url=url,
    )
    with engine.begin() as conn:
        create_tracker(conn, spec, now=utc_now(), confirmed=True)


class _StopAfterFirstPage:
    """A Progress that interrupts the run once the first page is stored, as Ctrl-C would."""

    def start(self, description: str, total: float | None) -> None:
        """Ignored."""

    def advance(self, amount: float) -> None:
        raise KeyboardInterrupt

    def set_total(self, total: float) -> None:
        """Ignored."""

    def note(self, message: str) -> None:
        """Ignored."""


def test_a_cycle_records_its_sync_and_what_it_sent(
    tmp_path: Path, engine: Engine, db_url: str, fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    settings = make_settings(tmp_path, db_url, fake_api)
    scope = load_scope()
    first = run_cycle(engine, settings, client, scope, who=who_runs("test"))
    assert first.sync is not None and first.sync.kind == "full" and first.sync.data_timestamp == DAY_1
    assert first.run.kind == CYCLE_KIND and first.run.status == "completed" and first.run.error is None
    assert first.run.source == who_runs("test")

    with HttpReceiver() as hooks:
        _webhook_tracker(engine, hooks.url())
        release(fake_api, DAY_2)
        second = run_cycle(engine, settings, client, scope, who=who_runs("test"))

    assert second.sync is not None and second.sync.kind == "incremental" and second.sync.counts["events"] >= 2
    assert second.deliveries.sent == len(hooks.requests) >= 2
    details = second.run.details
    assert details is not None
    assert details["sync"]["id"] == second.sync.id and details["sync"]["status"] == "completed"
    assert details["deliveries"]["sent"] == second.deliveries.sent
    assert details["retagged"] == 0 and details["retag_skipped"] is None
    assert second.run.data_timestamp is None  # the release is the sync's; the cycle points to it
    assert [r.kind for r in runs(engine)] == [CYCLE_KIND, "full", CYCLE_KIND, "incremental"]


def test_a_failed_sync_does_not_hold_back_what_is_due(
    tmp_path: Path, engine: Engine, db_url: str, fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    settings = make_settings(tmp_path, db_url, fake_api)
    scope = load_scope()
    run_cycle(engine, settings, client, scope, who="test")
    with HttpReceiver(statuses=[500]) as hooks:
        _webhook_tracker(engine, hooks.url())
        release(fake_api, DAY_2)
        second = run_cycle(engine, settings, client, scope, who="test")
        assert second.deliveries.retrying == 1
        assert second.run.status == "completed_issues"
        assert "1 delivery attempts failed" in (second.run.error or "")
        time.sleep(settings.delivery_backoff_seconds)  # the retry falls due
        # The registry is down (the client tries three times).
        fake_api.inject(Fault.http_error(503, path="/version"), times=3)
        third = run_cycle(engine, settings, client, scope, who="test")

    assert isinstance(third.sync_error, RegistryUnavailable)
    assert third.deliveries.sent == 1 and third.deliveries.failed == 0
    assert third.run.status == "failed" and (third.run.error or "").startswith("sync: ")
    assert third.sync is not None and third.sync.status == "failed" and third.sync.source == "/version"
    assert third.run.details is not None and third.run.details["sync"]["status"] == "failed"
    # The retried delivery went out once more, under the same delivery id.
    ids = [r.headers["x-hemewatch-delivery"] for r in hooks.requests]
    assert len(ids) == second.deliveries.sent + 2 and len(set(ids)) == len(ids) - 1


def test_an_interrupted_cycle_is_failed_and_the_next_one_resumes(
    tmp_path: Path, engine: Engine, db_url: str, fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    settings = make_settings(tmp_path, db_url, fake_api, page_size=5)
    scope = load_scope()
    with pytest.raises(KeyboardInterrupt):
        run_cycle(engine, settings, client, scope, who="test", progress=_StopAfterFirstPage())
    cycle, sync = runs(engine)
    assert (cycle.kind, cycle.status) == (CYCLE_KIND, "failed")
    assert cycle.error == "interrupted (KeyboardInterrupt)"
    assert (sync.kind, sync.status) == ("full", "failed") and sync.counts["fetched"] == 5

    done = run_cycle(engine, settings, client, scope, who="test")

    assert done.run.status == "completed" and done.sync is not None and done.sync.kind == "full"
    # What the interrupted run stored comes back unchanged; the rest is new.
    assert sync.counts["stored"] >= 1 and done.sync.counts["unchanged"] == sync.counts["stored"]
    assert done.sync.counts["fetched"] > 5


def test_a_cycle_left_running_by_a_killed_process_is_abandoned(
    tmp_path: Path, engine: Engine, db_url: str, fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    with engine.begin() as conn:
        killed = start_run(conn, kind=CYCLE_KIND, source="run 1@gone")
    run_cycle(engine, make_settings(tmp_path, db_url, fake_api), client, load_scope(), who="test")
    statuses = {r.id: r.status for r in runs(engine, CYCLE_KIND)}
    assert statuses[killed] == "abandoned" and list(statuses.values()) == ["abandoned", "completed"]


def test_the_settings_the_cycle_sends_with_are_the_callers(
    tmp_path: Path, engine: Engine, db_url: str, fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    # Deliveries on a channel that cannot send (no SMTP) wait, and the cycle says so.
    settings: Settings = make_settings(tmp_path, db_url, fake_api)
    run_cycle(engine, settings, client, load_scope(), who="test")
    spec = TrackerSpec(name="mail", email="hem@example.org", cadence="daily")
    with engine.begin() as conn:
        create_tracker(conn, spec, now=utc_now(), confirmed=True)
    release(fake_api, DAY_2)
    report = run_cycle(engine, settings, client, load_scope(), who="test")
    assert report.deliveries.sent == 0 and report.deliveries.waiting_for_smtp == 1
    assert report.run.status == "completed"
