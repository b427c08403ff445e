"""A sync is complete only when the registry sent every study it counted; otherwise it fails loudly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from hemewatch.errors import IncompleteResults, RegistryUnavailable
from hemewatch.pipeline.syncing import QUERY_ATTEMPTS, run_sync
from hemewatch.registry.client import RegistryClient
from hemewatch.registry.scope import load_scope
from hemewatch.storage.engine import open_database
from hemewatch.storage.runs import last_run
from hemewatch.storage.tables import sync_runs, trials
from tests.cli.runner import cli_env, hemewatch
from tests.fakeapi.faults import Fault
from tests.fakeapi.sample import make_studies
from tests.fakeapi.server import FakeRegistryServer

SERVED = 2528
PAGE = 500


def _trial_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(trials)).scalar_one())


def _mirror(engine: Engine) -> dict[str, tuple[str | None, Any]]:
    """What a mirror holds: each trial's status and last update."""
    with engine.connect() as conn:
        rows = conn.execute(select(trials.c.nct_id, trials.c.overall_status, trials.c.last_update_post_date))
        return {row.nct_id: (row.overall_status, row.last_update_post_date) for row in rows}


def _first_pages(server: FakeRegistryServer) -> int:
    return sum(1 for r in server.requests if r.path == "/studies" and r.page == 1)


def test_a_list_cut_short_once_is_read_again_and_completes(
    engine: Engine, fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    fake_api.set_studies(make_studies(SERVED))
    fake_api.inject(Fault.no_next_page_token(page=2))

    run = run_sync(engine, client, load_scope(), page_size=PAGE)

    assert run.status == "completed"
    assert _trial_count(engine) == SERVED
    assert _first_pages(fake_api) == 2  # the short list was read again from its first page
    # 1,000 received on the short attempt, then all 2,528.
    assert run.counts["fetched"] == 1000 + SERVED and run.counts["stored"] == SERVED


def test_a_list_that_stays_short_fails_the_run_and_the_next_run_heals_it(
    engine: Engine, fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    fake_api.set_studies(make_studies(SERVED))
    fake_api.inject(Fault.no_next_page_token(page=2), times=QUERY_ATTEMPTS)

    with pytest.raises(IncompleteResults) as raised:
        run_sync(engine, client, load_scope(), page_size=PAGE)

    assert raised.value.received == 1000 and raised.value.expected == SERVED
    assert "received 1,000 of 2,528 studies for query.cond=" in raised.value.message
    assert raised.value.exit_code == 1
    with engine.connect() as conn:
        failed = last_run(conn, kinds=("full",))
    assert failed is not None and failed.status == "failed"
    assert failed.error is not None and "received 1,000 of 2,528 studies" in failed.error
    assert _trial_count(engine) == 1000  # what arrived is kept
    assert _first_pages(fake_api) == QUERY_ATTEMPTS

    healed = run_sync(engine, client, load_scope(), page_size=PAGE)

    assert healed.status == "completed" and healed.kind == "full" and healed.baseline
    assert healed.counts["stored"] == SERVED - 1000 and healed.counts["unchanged"] == 1000
    assert _trial_count(engine) == SERVED


def test_a_registry_that_counts_more_than_it_sends_fails_the_run(
    engine: Engine, fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    fake_api.set_studies(make_studies(1200))
    fake_api.inject(Fault.wrong_total(+5), times=QUERY_ATTEMPTS)

    with pytest.raises(IncompleteResults, match="received 1,200 of 1,205 studies"):
        run_sync(engine, client, load_scope(), page_size=PAGE)

    with engine.connect() as conn:
        run = last_run(conn, kinds=("full",))
    assert run is not None and run.status == "failed"
    assert _trial_count(engine) == 1200


def _registry_days() -> list[tuple[str, list[dict[str, Any]]]]:
    """Three releases: 2,000 older trials; 600 more posted on the 21st; 50 more after the weekend."""
    day1 = make_studies(2000, last_update="2026-11-12")
    day2 = day1 + make_studies(600, last_update="2026-11-21", first_id=99_100_000)
    day3 = day2 + make_studies(50, last_update="2026-11-24", first_id=99_200_000)
    return [("2026-11-20T09:00:05", day1), ("2026-11-21T09:00:04", day2), ("2026-11-24T09:00:06", day3)]


def test_the_incremental_sync_after_a_short_one_ends_like_a_clean_mirror(
    engine: Engine, fake_api: FakeRegistryServer, client: RegistryClient, tmp_path: Path
) -> None:
    days = _registry_days()
    clean = open_database(f"sqlite:///{tmp_path / 'clean.db'}")
    try:
        runs = []
        for number, (timestamp, studies) in enumerate(days, start=1):
            fake_api.set_studies(studies)
            fake_api.data_timestamp = timestamp
            run_sync(clean, client, load_scope(), page_size=PAGE)
            if number == 2:
                # The 600 of day 2 stop after the first page, on every attempt.
                fake_api.inject(Fault.no_next_page_token(page=1), times=QUERY_ATTEMPTS)
                with pytest.raises(IncompleteResults, match="received 500 of 600 studies"):
                    run_sync(engine, client, load_scope(), page_size=PAGE)
            else:
                runs.append(run_sync(engine, client, load_scope(), page_size=PAGE))
        expected = _mirror(clean)
    finally:
        clean.dispose()

    # The third run reads from the last *completed* run's data date, not the failed one's.
    assert runs[-1].kind == "incremental" and runs[-1].status == "completed"
    assert runs[-1].since is not None and runs[-1].since.isoformat() == "2026-11-19"
    assert len(expected) == 2650
    assert _mirror(engine) == expected


def test_a_failing_version_call_is_on_record(
    engine: Engine, fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    fake_api.inject(Fault.http_error(503, path="/version"), times=3)
    with pytest.raises(RegistryUnavailable):
        run_sync(engine, client, load_scope())
    with engine.connect() as conn:
        first = last_run(conn, kinds=("full", "incremental"))
    assert first is not None and first.kind == "full" and first.status == "failed"
    assert first.error is not None and "503" in first.error and "/version" in first.error

    assert run_sync(engine, client, load_scope()).status == "completed"
    fake_api.data_timestamp = "2026-11-21T09:00:03"
    fake_api.inject(Fault.http_error(503, path="/version"), times=3)
    with pytest.raises(RegistryUnavailable):
        run_sync(engine, client, load_scope())
    with engine.connect() as conn:
        statuses = [(r.kind, r.status) for r in conn.execute(select(sync_runs).order_by(sync_runs.c.id))]
    assert statuses == [("full", "failed"), ("full", "completed"), ("incremental", "failed")]


def test_a_short_sync_exits_1_naming_the_counts_and_the_rerun_heals(
    tmp_path: Path, db_url: str, fake_api: FakeRegistryServer
) -> None:
    fake_api.set_studies(make_studies(SERVED))
    fake_api.inject(Fault.no_next_page_token(page=2), times=QUERY_ATTEMPTS)
    env = cli_env(tmp_path, db_url, fake_api.base_url, HEMEWATCH_PAGE_SIZE=str(PAGE))

    short = hemewatch("sync", env=env)

    assert short.returncode == 1, short.stdout + short.stderr
    assert "received 1,000 of 2,528 studies" in short.stderr
    assert "Traceback" not in short.stderr and "completed" not in short.stdout
    summary = json.loads(hemewatch("status", "--json", env=env).stdout)
    assert summary["trials"] == 1000
    assert summary["last_sync"]["status"] == "failed" and summary["last_completed_sync"] is None
    assert "received 1,000 of 2,528 studies" in summary["last_sync"]["error"]

    healed = hemewatch("sync", env=env)

    assert healed.returncode == 0, healed.stderr
    assert "full sync #2 completed" in healed.stdout
    summary = json.loads(hemewatch("status", "--json", env=env).stdout)
    assert summary["trials"] == SERVED and summary["last_sync"]["status"] == "completed"


def test_status_shows_a_failing_version_call(
    tmp_path: Path, sqlite_url: str, fake_api: FakeRegistryServer
) -> None:
    env = cli_env(tmp_path, sqlite_url, fake_api.base_url)
    fake_api.inject(Fault.http_error(503, path="/version"), times=2)  # HEMEWATCH_MAX_RETRIES=1

    failed = hemewatch("sync", env=env)

    assert failed.returncode == 1 and "503" in failed.stderr
    status = hemewatch("status", env=env)
    assert status.returncode == 0
    assert "failed" in status.stdout and "503" in status.stdout
