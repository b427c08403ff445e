"""End to end: the fake registry serves two registry days; two syncs yield exactly the expected events.

The days are the demo data bundled in the package (real records; day 2 made from them by the
changes listed in scripts/build_demo_data.py).
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine

from hemewatch.demo import demo_days
from hemewatch.pipeline.syncing import run_sync
from hemewatch.registry.client import RegistryClient
from hemewatch.registry.scope import load_scope
from hemewatch.settings import USER_AGENT
from hemewatch.storage.events import EventFilter, list_events
from tests.fakeapi.server import FakeRegistryServer

EXPECTED = {
    ("NCT05886491", "site_status_changed", "notable"),  # a site starts recruiting
    ("NCT05918692", "site_added", "notable"),
    ("NCT04265963", "status_changed", "notable"),
    ("NCT05464836", "status_changed", "critical"),  # terminated, with its reason
    ("NCT05993949", "enrollment_changed", "notable"),  # actual enrollment reported
    ("NCT04747912", "protocol_amended", "notable"),  # a new arm
    ("NCT03319901", "results_posted", "critical"),
    ("NCT02650414", "dates_changed", "minor"),  # completion date moved
    ("NCT06111625", "new_trial", "notable"),
    ("NCT07021677", "new_trial", "notable"),
}


def _read(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rb") as lines:
        return [orjson.loads(line) for line in lines if line.strip()]


def _nct(study: dict[str, Any]) -> str:
    return str(study["protocolSection"]["identificationModule"]["nctId"])


@pytest.fixture
def days() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    day1_file, day2_file = demo_days()
    day1 = _read(day1_file)
    changed = {_nct(s): s for s in _read(day2_file)}
    day2 = [changed.pop(_nct(s), s) for s in day1] + list(changed.values())
    return day1, day2


def test_two_registry_days(engine: Engine, days: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> None:
    day1, day2 = days
    with (
        FakeRegistryServer(day1, data_timestamp="2025-07-07T09:00:00") as server,
        RegistryClient(server.base_url, user_agent=USER_AGENT, requests_per_minute=0) as client,
    ):
        first = run_sync(engine, client, load_scope())
        server.set_studies(day2)
        server.data_timestamp = "2025-07-08T09:00:00"
        second = run_sync(engine, client, load_scope())

    assert first.baseline and first.counts["events"] == 0
    assert (
        second.kind == "incremental" and second.since is not None and second.since.isoformat() == "2025-07-06"
    )
    # Only the day's updates were read: nine in-scope changes, two new trials, one out of scope.
    assert second.counts["fetched"] == 12 and second.counts["out_of_scope"] == 1
    with engine.connect() as conn:
        alerts = list_events(conn)
        everything = list_events(conn, EventFilter(include_administrative=True))
    assert {(e.event.nct_id, e.event.type.value, e.event.severity.value) for e in alerts} == EXPECTED
    assert len(alerts) == len(EXPECTED)
    # The churn-only refresh is recorded, never alerted; the out-of-scope trial is not mirrored.
    churn = [e for e in everything if e.event.nct_id == "NCT04835519"]
    assert churn and all(not e.event.alertable for e in churn)
    assert not [e for e in everything if e.event.nct_id == "NCT02560883"]
    terminated = next(e for e in alerts if e.event.nct_id == "NCT05464836")
    assert "Sponsor decision" in orjson.dumps(terminated.event.after).decode()
    enrolling = next(e for e in alerts if e.event.type.value == "site_status_changed")
    assert "Birmingham" in enrolling.event.summary and "United States" in enrolling.event.summary
