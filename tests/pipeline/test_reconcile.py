"""Reconciliation against the fake registry, on SQLite and PostgreSQL: merged, removed, left scope,
updated upstream, back again, and nothing said twice."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select

from hemewatch.errors import RegistryUnavailable
from hemewatch.pipeline.reconcile import last_reconciled, projection_fields, reconcile
from hemewatch.pipeline.syncing import run_sync
from hemewatch.pipeline.watching import fetch_study, store_watched
from hemewatch.registry.client import RegistryClient
from hemewatch.registry.scope import load_scope, parse_scope
from hemewatch.storage.events import EventFilter, list_events
from hemewatch.storage.runs import last_run
from hemewatch.storage.tables import change_events, tracker_events
from hemewatch.storage.watchlist import watched_ids
from tests.fakeapi.faults import Fault
from tests.fakeapi.server import FakeRegistryServer
from tests.pipeline.watchdata import (
    OUTSIDE,
    alerted,
    event_types,
    outside_scope,
    release,
    renumbered,
    replace_study,
    served,
    tracker,
    trial_row,
    updated,
)

MERGED = "NCT04811560"  # a real acute leukemia trial of the sample; becomes an alias
REMOVED = "NCT05918692"
LEAVING = "NCT05993949"
UPDATED = "NCT05326516"
NEW_ID = "NCT99100001"


def _counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        events = conn.execute(select(func.count()).select_from(change_events)).scalar_one()
        matched = conn.execute(select(func.count()).select_from(tracker_events)).scalar_one()
    return int(events), int(matched)


def test_reconcile_finds_merges_removals_departures_and_missed_updates(
    engine: Engine, fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    scope = load_scope()
    run_sync(engine, client, scope)
    with engine.begin() as conn:
        everything = tracker(conn, "everything")
    leaving = served(fake_api, LEAVING)
    leaving["protocolSection"]["conditionsModule"] = {"conditions": ["Plasma Cell Leukemia"]}
    leaving["protocolSection"]["identificationModule"]["briefTitle"] = "Daratumumab in plasma cell leukemia"
    leaving["protocolSection"]["identificationModule"].pop("officialTitle", None)
    leaving["derivedSection"].pop("conditionBrowseModule", None)
    leaving["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"] = {
        "date": "2026-11-21",
        "type": "ACTUAL",
    }
    studies = replace_study(fake_api, MERGED, renumbered(served(fake_api, MERGED), NEW_ID))
    fake_api.set_studies(studies)
    studies = replace_study(fake_api, REMOVED, None)
    fake_api.set_studies(studies)
    studies = replace_study(fake_api, LEAVING, leaving)
    fake_api.set_studies(studies)
    # Updated upstream, but the sync that would have read it never ran.
    release(
        fake_api, replace_study(fake_api, UPDATED, updated(served(fake_api, UPDATED), status="SUSPENDED"))
    )

    report = reconcile(engine, client, scope)

    assert report.status == "completed"
    outcomes = {(c.nct_id, c.outcome, c.into) for c in report.changes}
    assert outcomes == {
        (MERGED, "merged", NEW_ID),
        (REMOVED, "removed", None),
        (LEAVING, "left_scope", None),
        (UPDATED, "updated", None),
    }
    # The trials and their marks.
    merged, new, removed, left, changed = (
        trial_row(engine, nct_id) for nct_id in (MERGED, NEW_ID, REMOVED, LEAVING, UPDATED)
    )
    assert merged is not None and merged.merged_into == NEW_ID and not merged.in_scope
    assert new is not None and bool(new.in_scope) and new.version_count == 1
    assert removed is not None and removed.removed_at is not None and not removed.in_scope
    assert left is not None and not left.in_scope and left.version_count == 2
    assert changed is not None and changed.overall_status == "SUSPENDED" and changed.version_count == 2
    # The events, and who was told.
    assert event_types(engine, MERGED) == ["merged_into"]
    assert event_types(engine, NEW_ID) == []  # no false new_trial for the merged record
    assert event_types(engine, REMOVED) == ["record_removed"]
    assert "left_scope" in event_types(engine, LEAVING)
    assert "status_changed" in event_types(engine, UPDATED)
    told = alerted(engine, everything.id)
    assert {("merged_into", MERGED), ("record_removed", REMOVED), ("left_scope", LEAVING)} <= set(told)
    assert ("status_changed", UPDATED) in told
    assert all(nct_id != NEW_ID for _, nct_id in told)
    with engine.connect() as conn:
        (merge_event,) = list_events(conn, EventFilter(types=("merged_into",)))
        (removal,) = list_events(conn, EventFilter(types=("record_removed",)))
        run = last_run(conn, kinds=("reconcile",))
        when = last_reconciled(conn)
    assert (merge_event.event.before, merge_event.event.after) == (MERGED, NEW_ID)
    assert merge_event.event.severity.value == "notable" and removal.event.severity.value == "critical"
    assert removal.event.before is not None and removal.event.after is None
    assert run is not None and run.status == "completed" and run.id == report.run_id
    assert run.counts["events"] == report.events > 0 and "1 merged" in (run.source or "")
    assert when is not None and when == run.finished_at

    # Without downloading the registry: one projected query for the 28 followed trials, one
    # for the full records to store, one GET to confirm the deletion.
    lists = [r for r in fake_api.requests if r.path == "/studies"]
    assert len(lists) == 2
    assert lists[0].param("fields") == ",".join(projection_fields(scope))
    assert len((lists[0].param("filter.ids") or "").split(",")) == report.checked == 28
    assert lists[1].param("fields") is None
    gets = [r.path for r in fake_api.requests if r.path.startswith("/studies/")]
    assert gets == [f"/studies/{REMOVED}"]

    # A rerun says nothing new and alerts nobody twice.
    before = _counts(engine)
    again = reconcile(engine, client, scope)
    assert again.changes == [] and again.events == 0
    assert _counts(engine) == before
    # The merged id and the departed trial are no longer checked; the new record is (and the removed
    # one, for a return).
    assert again.checked == report.checked - 1
    # A sync afterwards does not bring the merged record back as new, nor re-alert anything.
    fake_api.data_timestamp = "2026-11-22T09:00:00"
    run_sync(engine, client, scope)
    assert _counts(engine) == before


def test_a_removed_record_that_comes_back_is_restored(
    engine: Engine, fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    scope = load_scope()
    run_sync(engine, client, scope)
    original = list(fake_api.studies)
    release(fake_api, replace_study(fake_api, REMOVED, None))
    first = reconcile(engine, client, scope)
    assert [(c.nct_id, c.outcome) for c in first.changes] == [(REMOVED, "removed")]

    still = reconcile(engine, client, scope)  # still gone: said once
    assert still.changes == [] and event_types(engine, REMOVED) == ["record_removed"]

    release(fake_api, original)
    back = reconcile(engine, client, scope)

    assert [(c.nct_id, c.outcome) for c in back.changes] == [(REMOVED, "restored")]
    row = trial_row(engine, REMOVED)
    assert row is not None and row.removed_at is None and bool(row.in_scope) and row.version_count == 1
    assert event_types(engine, REMOVED) == ["record_removed"]


def test_a_removed_record_found_again_by_a_sync_is_restored(
    engine: Engine, fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    scope = load_scope()
    run_sync(engine, client, scope)
    original = list(fake_api.studies)
    release(fake_api, replace_study(fake_api, REMOVED, None))
    reconcile(engine, client, scope)
    back = updated(
        next(s for s in original if s["protocolSection"]["identificationModule"]["nctId"] == REMOVED),
        status="RECRUITING",
    )
    release(
        fake_api,
        [back if s["protocolSection"]["identificationModule"]["nctId"] == REMOVED else s for s in original],
    )
    run_sync(engine, client, scope)
    row = trial_row(engine, REMOVED)
    assert row is not None and row.removed_at is None and bool(row.in_scope) and row.version_count == 2


def test_a_watched_trial_merged_upstream_moves_its_watch_to_the_new_record(
    engine: Engine, fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    scope = load_scope()
    run_sync(engine, client, scope)
    store_watched(engine, scope, fetch_study(client, OUTSIDE), requested=OUTSIDE, added_by="cli")
    with engine.begin() as conn:
        everything = tracker(conn, "everything")
    release(fake_api, replace_study(fake_api, OUTSIDE, renumbered(served(fake_api, OUTSIDE), NEW_ID)))

    report = reconcile(engine, client, scope)

    assert [(c.nct_id, c.outcome, c.into) for c in report.changes] == [(OUTSIDE, "merged", NEW_ID)]
    with engine.connect() as conn:
        assert watched_ids(conn) == [NEW_ID]
    new = trial_row(engine, NEW_ID)
    assert new is not None and bool(new.in_scope)  # outside the scope, followed for the watch
    assert alerted(engine, everything.id) == [("merged_into", OUTSIDE)]
    assert event_types(engine, NEW_ID) == []
    # Every later sync reads the new id.
    fake_api.data_timestamp = "2026-11-22T09:00:00"
    fake_api.clear_requests()
    run_sync(engine, client, scope)
    assert [r.param("filter.ids") for r in fake_api.requests if r.param("filter.ids")] == [NEW_ID]


def test_a_watched_trial_outside_the_scope_stays_followed(
    engine: Engine, fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    scope = load_scope()
    run_sync(engine, client, scope)
    store_watched(engine, scope, fetch_study(client, OUTSIDE), requested=OUTSIDE, added_by="cli")
    report = reconcile(engine, client, scope)
    assert report.changes == [] and report.checked == 29
    assert bool(trial_row(engine, OUTSIDE).in_scope)  # type: ignore[union-attr]


def test_a_narrower_scope_lets_unchanged_trials_go_with_a_left_scope_event(
    engine: Engine, fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    run_sync(engine, client, load_scope())
    with engine.begin() as conn:
        everything = tracker(conn, "everything")
    myeloid_only = parse_scope(
        {
            "name": "aml",
            "queries": [{"query.cond": "leukemia"}],
            "local": {
                "fields": ["protocolSection.conditionsModule.conditions[]"],
                "patterns": [r"\bmyeloid\b", r"\bmyelogenous\b"],
            },
        },
        source="test",
    )

    report = reconcile(engine, client, myeloid_only)

    left = {c.nct_id for c in report.changes if c.outcome == "left_scope"}
    assert "NCT05993949" in left and "NCT02724163" not in left  # B-ALL goes, AML stays
    assert all(c.outcome == "left_scope" for c in report.changes)
    assert not trial_row(engine, "NCT05993949").in_scope  # type: ignore[union-attr]
    assert ("left_scope", "NCT05993949") in alerted(engine, everything.id)
    assert report.stored == 0  # no record changed: nothing new was stored
    assert reconcile(engine, client, myeloid_only).changes == []


def test_a_registry_failure_fails_the_run_and_keeps_what_was_settled(
    engine: Engine, fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    scope = load_scope()
    run_sync(engine, client, scope)
    fake_api.inject(Fault.http_error(503, path="/studies"), times=3)
    with pytest.raises(RegistryUnavailable):
        reconcile(engine, client, scope)
    with engine.connect() as conn:
        failed = last_run(conn, kinds=("reconcile",))
        assert last_reconciled(conn) is None
    assert failed is not None and failed.status == "failed" and "503" in (failed.error or "")
    assert reconcile(engine, client, scope).status == "completed"


def test_a_trial_merged_into_a_record_outside_the_scope_is_let_go(
    engine: Engine, fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    # Not watched, and the record it became is outside the scope: that record is not stored.
    scope = load_scope()
    run_sync(engine, client, scope)
    target = outside_scope(renumbered(served(fake_api, MERGED), NEW_ID))
    release(fake_api, replace_study(fake_api, MERGED, target))
    report = reconcile(engine, client, scope)
    assert [(c.nct_id, c.outcome, c.into) for c in report.changes] == [(MERGED, "merged", NEW_ID)]
    assert trial_row(engine, NEW_ID) is None
    assert trial_row(engine, MERGED).merged_into == NEW_ID  # type: ignore[union-attr]
