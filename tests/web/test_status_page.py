"""Status: `hemewatch status` (text and JSON), the /status page and GET /api/v1/status tell the same facts.

A real service state, built with the real pipeline: two registry releases synced by cycles, e-mail
deliveries that failed for good and others waiting for a retry, a reconciliation that failed with
an upstream message, and a scheduler running (holding the lock, beating).
"""

from __future__ import annotations

import html
import json
import os
import signal
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from hemewatch.alerts import TrackerSpec, create_tracker
from hemewatch.pipeline.cycle import registry_client, run_cycle
from hemewatch.registry.scope import load_scope
from hemewatch.settings import Settings
from hemewatch.storage.engine import open_database
from hemewatch.storage.runs import finish_run, list_heartbeats, start_run, utc_now
from hemewatch.web import create_app
from tests.alerts.servers import SmtpServer
from tests.cli.runner import cli_env, hemewatch, start
from tests.fakeapi.server import FakeRegistryServer
from tests.pipeline import scheduling
from tests.pipeline.scheduling import DAY_1, DAY_2, DAY_3, completed_syncs, release, running, wait_for

pytestmark = pytest.mark.anyio

ADDRESS = "hem@example.org"
UPSTREAM = "<script>alert('upstream')</script> list unavailable"


@dataclass
class Service:
    """The state under test and how to reach it."""

    engine: Engine
    settings: Settings
    db_url: str
    smtp_url: str
    registry_url: str


@pytest.fixture
def service(tmp_path: Path, db_url: str, fake_api: FakeRegistryServer) -> Iterator[Service]:
    engine = open_database(db_url)
    scope = load_scope()
    with SmtpServer() as smtp:
        smtp.refuse = "554 5.7.1 not accepted here"
        failing = scheduling.make_settings(
            tmp_path, db_url, fake_api, smtp_url=smtp.url, delivery_max_attempts=1
        )
        patient = scheduling.make_settings(
            tmp_path, db_url, fake_api, smtp_url=smtp.url, delivery_backoff_seconds=3600
        )
        with registry_client(failing) as client:
            run_cycle(engine, failing, client, scope, who="test")
            with engine.begin() as conn:
                spec = TrackerSpec(name="all", email=ADDRESS, cadence="immediate")
                create_tracker(conn, spec, now=utc_now(), confirmed=True)
            release(fake_api, DAY_2)
            run_cycle(engine, failing, client, scope, who="test")  # two deliveries die
            release(fake_api, DAY_3, status="COMPLETED")
            run_cycle(engine, patient, client, scope, who="test")  # two wait for their retry
        with engine.begin() as conn:
            reconcile = start_run(conn, kind="reconcile")
            finish_run(conn, reconcile, status="failed", error=UPSTREAM)
        try:
            yield Service(engine, patient, db_url, smtp.url, fake_api.base_url)
        finally:
            engine.dispose()


@pytest.fixture
async def web(service: Service) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(service.settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
    app.state.web.engine.dispose()


def _check_facts(status: dict[str, object]) -> None:
    fresh = status["freshness"]
    assert isinstance(fresh, dict)
    assert fresh["data_timestamp"] == DAY_3 and fresh["registry_timestamp"] == DAY_3
    assert fresh["behind"] is False and fresh["last_polled_at"] is not None
    assert fresh["data_age_seconds"] > 0
    runs = status["runs"]
    assert isinstance(runs, dict)
    assert runs["sync"]["status"] == "completed" and runs["sync"]["data_timestamp"] == DAY_3
    assert (
        runs["cycle"]["status"] == "completed_issues"
        and runs["cycle"]["details"]["deliveries"]["retrying"] == 2
    )
    assert runs["reconcile"]["status"] == "failed" and runs["reconcile"]["error"] == UPSTREAM
    assert runs["import"] is None and runs["backfill"] is None
    outbox = status["outbox"]
    assert isinstance(outbox, dict)
    assert outbox["channels"] == {"email": {"pending": 0, "retrying": 2, "sending": 0, "dead": 2}}
    assert outbox["waiting"] == 2 and outbox["dead"] == 2 and outbox["next_due_at"] is not None
    scheduler = status["scheduler"]
    assert isinstance(scheduler, dict)
    assert scheduler["running"] is True and scheduler["lock"]["pid"] == os.getpid()
    assert scheduler["active"]["pid"] == os.getpid() and scheduler["active"]["silent"] is False
    problems = status["problems"]
    assert isinstance(problems, list)
    assert f"the last reconcile (#{runs['reconcile']['id']}) failed: {UPSTREAM}" in problems
    assert any(p.startswith("2 deliveries gave up after every attempt") for p in problems)
    assert any("delivery attempts failed" in p for p in problems)  # the last cycle's
    assert {"trials", "versions", "last_sync"} <= set(status)


async def test_cli_web_page_and_api_show_the_same_facts(
    service: Service, web: httpx.AsyncClient, tmp_path: Path
) -> None:
    env = cli_env(
        tmp_path,
        service.db_url,
        service.registry_url,
        HEMEWATCH_SMTP_URL=service.smtp_url,
        HEMEWATCH_PUBLIC_URL="https://hemewatch.example.org",
    )
    with running(service.engine, service.settings) as scheduler:
        wait_for(lambda: scheduler.said("poll"), "a look at the registry")
        wait_for(lambda: len(scheduler.said("poll")) >= 2, "a heartbeat after it")
        api = (await web.get("/api/v1/status")).json()
        page = await web.get("/status")
        cli = json.loads(hemewatch("status", "--json", env=env).stdout)
        text = hemewatch("status", env=env)
        front = await web.get("/")

    for status in (api, cli):
        _check_facts(status)
    # The web shows no delivery target; the operator's command line does.
    assert ADDRESS not in json.dumps(api) and ADDRESS not in page.text
    assert ADDRESS in json.dumps(cli["runs"]["cycle"]["details"]["deliveries"]["errors"])

    assert page.status_code == 200 and page.headers["cache-control"] == "no-cache"
    body = page.text
    assert "<script>alert" not in body and html.escape(UPSTREAM, quote=False) in body.replace("&#39;", "'")
    assert f"Running: process {os.getpid()}" in body
    assert DAY_3 in body and "2 waiting, 2 given up" in body
    assert '<a href="/status">Status</a>' in front.text

    assert text.returncode == 0, text.stderr
    out = text.stdout
    assert out.startswith("trials:") and f"registry release {DAY_3}" in out
    assert "outbox:   2 waiting, 2 dead (email: 2 retrying, 2 dead)" in out
    assert f"scheduler: running (pid {os.getpid()}" in out
    assert f"  reconcile  #{cli['runs']['reconcile']['id']} reconcile failed" in out and UPSTREAM in out
    assert "problems:" in out and "gave up after every attempt" in out


async def test_a_new_mirror_says_what_is_missing(
    tmp_path: Path, db_url: str, fake_api: FakeRegistryServer
) -> None:
    settings = scheduling.make_settings(tmp_path, db_url, fake_api)
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        api = (await http.get("/api/v1/status")).json()
        page = await http.get("/status")
    app.state.web.engine.dispose()
    assert api["problems"] == ["nothing is mirrored yet: no sync or import has completed"]
    assert api["freshness"]["data_timestamp"] is None and api["scheduler"]["running"] is False
    assert api["runs"] == dict.fromkeys(("sync", "cycle", "reconcile", "import", "backfill"))
    assert "No sync with ClinicalTrials.gov has completed yet." in page.text
    assert "No scheduler has run here" in page.text


async def test_a_scheduler_that_was_killed_is_reported(
    tmp_path: Path, db_url: str, fake_api: FakeRegistryServer
) -> None:
    settings = scheduling.make_settings(tmp_path, db_url, fake_api)
    env = cli_env(tmp_path, db_url, fake_api.base_url, HEMEWATCH_POLL_INTERVAL="0.1")
    engine = open_database(db_url)
    worker = start("worker", env=env)
    try:
        wait_for(lambda: completed_syncs(engine) == [DAY_1], "the worker's cycle")
        wait_for(
            lambda: _roles(engine) == {worker.pid: "active"} and _polled(engine), "the worker's heartbeat"
        )
        worker.send_signal(signal.SIGKILL)  # no stop recorded
        worker.communicate(timeout=30)
        app = create_app(settings)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            api = (await http.get("/api/v1/status")).json()
        app.state.web.engine.dispose()
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate(timeout=30)
        engine.dispose()
    assert api["scheduler"]["running"] is False and api["scheduler"]["last_seen"]["pid"] == worker.pid
    assert any(
        p.startswith(f"no scheduler is running: the last one (pid {worker.pid}") for p in api["problems"]
    )
    assert api["freshness"]["data_timestamp"] == DAY_1


def _roles(engine: Engine) -> dict[int, str]:
    with engine.connect() as conn:
        return {beat.pid: beat.role for beat in list_heartbeats(conn)}


def _polled(engine: Engine) -> bool:
    with engine.connect() as conn:
        return any(beat.last_poll_at is not None for beat in list_heartbeats(conn))
