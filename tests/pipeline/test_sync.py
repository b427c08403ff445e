"""`run_sync` against the fake registry: full then incremental, skips, failures, scope."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from hemewatch.errors import RegistryUnavailable
from hemewatch.pipeline.progress import SilentProgress
from hemewatch.pipeline.syncing import run_sync
from hemewatch.registry.client import RegistryClient
from hemewatch.registry.scope import load_scope
from hemewatch.storage.events import EventFilter, list_events
from hemewatch.storage.runs import last_run
from hemewatch.storage.tables import study_versions, trials
from tests.fakeapi.faults import Fault
from tests.fakeapi.sample import make_studies
from tests.fakeapi.server import FakeRegistryServer


def _nct(study: dict[str, Any]) -> str:
    return str(study["protocolSection"]["identificationModule"]["nctId"])


def _counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        n_trials = conn.execute(select(func.count()).select_from(trials)).scalar_one()
        n_versions = conn.execute(select(func.count()).select_from(study_versions)).scalar_one()
    return int(n_trials), int(n_versions)


def _in_scope(studies: list[dict[str, Any]]) -> set[str]:
    scope = load_scope()
    return {_nct(s) for s in studies if scope.matches(s)}


def _studies_requests(server: FakeRegistryServer) -> list[Any]:
    return [r for r in server.requests if r.path == "/studies"]


def _updated(study: dict[str, Any], *, status: str, posted: str) -> dict[str, Any]:
    changed = copy.deepcopy(study)
    changed["protocolSection"]["statusModule"]["overallStatus"] = status
    changed["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"] = {
        "date": posted,
        "type": "ACTUAL",
    }
    return changed


def test_first_sync_reads_the_whole_scope(
    engine: Engine, fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    served = list(fake_api.studies)
    run = run_sync(engine, client, load_scope())
    assert run.status == "completed" and run.kind == "full" and run.baseline
    assert run.data_timestamp == fake_api.data_timestamp
    with engine.connect() as conn:
        stored = {row.nct_id for row in conn.execute(select(trials.c.nct_id))}
    assert stored == _in_scope(served)
    assert run.counts["stored"] == len(stored) == run.counts["new_trials"]
    with engine.connect() as conn:
        assert list_events(conn, EventFilter(include_administrative=True)) == []  # a baseline is silent
    (request,) = _studies_requests(fake_api)
    assert request.param("pageSize") == "1000"
    assert request.param("filter.advanced") is None
    assert request.headers["user-agent"].startswith("hemewatch/")


def test_later_syncs_read_only_what_changed(
    engine: Engine, fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    served = list(fake_api.studies)
    run_sync(engine, client, load_scope())
    target = next(s for s in served if _nct(s) in _in_scope(served))
    fake_api.set_studies(
        [_updated(s, status="SUSPENDED", posted="2026-11-21") if s is target else s for s in served]
    )
    fake_api.data_timestamp = "2026-11-21T09:00:03"
    fake_api.clear_requests()

    run = run_sync(engine, client, load_scope())

    assert run.kind == "incremental" and not run.baseline and run.status == "completed"
    (request,) = _studies_requests(fake_api)
    assert request.param("filter.advanced") == "AREA[LastUpdatePostDate]RANGE[2026-11-19,MAX]"
    assert run.counts["fetched"] == 1 and run.counts["stored"] == 1
    with engine.connect() as conn:
        status = conn.execute(
            select(trials.c.overall_status).where(trials.c.nct_id == _nct(target))
        ).scalar_one()
    assert status == "SUSPENDED"
    with engine.connect() as conn:
        events = list_events(conn)
    assert [(e.event.type, e.event.nct_id) for e in events] == [("status_changed", _nct(target))]
    assert events[0].event.after is not None and "SUSPENDED" in str(events[0].event.after)
    assert events[0].sync_run_id == run.id and run.counts["events"] == 1


def test_an_unchanged_registry_is_not_read_again(
    engine: Engine, fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    run_sync(engine, client, load_scope())
    fake_api.clear_requests()
    run = run_sync(engine, client, load_scope())
    assert run.status == "skipped"
    assert _studies_requests(fake_api) == []
    assert [r.path for r in fake_api.requests] == ["/version"]


def test_paging_through_thousands_of_trials(
    engine: Engine, fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    fake_api.set_studies(make_studies(2500))
    run = run_sync(engine, client, load_scope())
    assert run.counts["fetched"] == 2500
    assert _counts(engine) == (2500, 2500)
    tokens = [r.param("pageToken") for r in _studies_requests(fake_api)]
    assert len(tokens) == 3 and tokens[0] is None and None not in tokens[1:]


class _FailAfterFirstPage(SilentProgress):
    def __init__(self, server: FakeRegistryServer) -> None:
        super().__init__()
        self.server = server

    def advance(self, amount: float) -> None:
        # Once the first page is stored, the registry fails every attempt the client makes.
        if not self.server.pending_faults:
            self.server.inject(Fault.http_error(503, path="/studies"), times=3)


def test_a_failure_mid_paging_fails_the_run_and_the_next_run_completes(
    engine: Engine, fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    fake_api.set_studies(make_studies(2500))
    with pytest.raises(RegistryUnavailable):
        run_sync(engine, client, load_scope(), progress=_FailAfterFirstPage(fake_api))
    with engine.connect() as conn:
        failed = last_run(conn, kinds=("full",))
    assert failed is not None and failed.status == "failed" and "503" in (failed.error or "")
    assert _counts(engine) == (1000, 1000)  # the first page is kept

    assert fake_api.pending_faults == []
    run = run_sync(engine, client, load_scope())
    assert run.status == "completed" and run.kind == "full"
    assert run.counts["stored"] == 1500 and run.counts["unchanged"] == 1000
    assert _counts(engine) == (2500, 2500)


def test_scope_decides_what_is_stored(
    engine: Engine, fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    served = list(fake_api.studies)
    run_sync(engine, client, load_scope())
    leaving = next(s for s in served if _nct(s) == sorted(_in_scope(served))[0])
    moved = _updated(leaving, status="RECRUITING", posted="2026-11-21")
    # Still found by the registry query ("leukemia"), no longer an acute leukemia trial.
    moved["protocolSection"]["conditionsModule"] = {"conditions": ["Plasma Cell Leukemia"]}
    moved["protocolSection"]["identificationModule"]["briefTitle"] = "Daratumumab in plasma cell leukemia"
    moved["protocolSection"]["identificationModule"].pop("officialTitle", None)
    moved["derivedSection"].pop("conditionBrowseModule", None)
    newcomer = _updated(make_studies(1)[0], status="RECRUITING", posted="2026-11-21")
    newcomer["protocolSection"]["conditionsModule"] = {"conditions": ["Chronic Lymphocytic Leukemia"]}
    newcomer["protocolSection"]["identificationModule"]["briefTitle"] = "A CLL study"
    newcomer["protocolSection"]["identificationModule"].pop("officialTitle", None)
    newcomer["derivedSection"].pop("conditionBrowseModule", None)
    fake_api.set_studies([moved if s is leaving else s for s in served] + [newcomer])
    fake_api.data_timestamp = "2026-11-21T09:00:03"

    run = run_sync(engine, client, load_scope())

    assert run.counts["fetched"] == 2 and run.counts["out_of_scope"] == 2
    assert run.counts["stored"] == 1 and run.counts["new_trials"] == 0
    with engine.connect() as conn:
        rows = {r.nct_id: r for r in conn.execute(select(trials))}
    assert _nct(newcomer) not in rows
    assert rows[_nct(leaving)].in_scope is False or rows[_nct(leaving)].in_scope == 0
    assert rows[_nct(leaving)].version_count == 2
    with engine.connect() as conn:
        types = {e.event.type for e in list_events(conn)}
    assert "left_scope" in types
