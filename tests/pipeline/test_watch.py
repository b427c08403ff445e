"""Watching trials by NCT id against the fake registry, on SQLite and PostgreSQL: add, sync, remove."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine, func, select

from hemewatch.errors import StudyNotFound
from hemewatch.pipeline.importing import import_files
from hemewatch.pipeline.syncing import run_sync
from hemewatch.pipeline.watching import fetch_study, follow_mirrored, store_watched, unwatch_trial
from hemewatch.registry.client import RegistryClient
from hemewatch.registry.scope import load_scope
from hemewatch.storage.catalog import TrialQuery, search_trials
from hemewatch.storage.runs import last_run, utc_now
from hemewatch.storage.tables import classifications, study_versions, trials, watched_trials
from hemewatch.storage.watchlist import (
    FetchLimitReached,
    add_watch,
    fetches_counted,
    list_watched,
    take_fetch_quota,
    watched_ids,
)
from tests.fakeapi.sample import make_studies
from tests.fakeapi.server import FakeRegistryServer
from tests.pipeline.watchdata import (
    ALIAS,
    ALIASED,
    OUTSIDE,
    UNKNOWN,
    WINDOW,
    alerted,
    event_types,
    outside_scope,
    release,
    replace_study,
    served,
    tracker,
    trial_row,
    updated,
)


def _add(engine: Engine, client: RegistryClient, nct_id: str, *, note: str | None = None) -> None:
    record = fetch_study(client, nct_id)
    store_watched(engine, load_scope(), record, requested=nct_id, added_by="cli", note=note)


def _classified(engine: Engine, nct_id: str) -> bool:
    with engine.connect() as conn:
        found = conn.execute(
            select(classifications.c.version_id)
            .select_from(
                trials.join(classifications, classifications.c.version_id == trials.c.current_version_id)
            )
            .where(trials.c.nct_id == nct_id)
        ).first()
    return found is not None


def test_a_trial_added_outside_the_scope_is_stored_classified_and_alerts_nobody(
    engine: Engine, fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    scope = load_scope()
    run_sync(engine, client, scope)
    assert trial_row(engine, OUTSIDE) is None  # the scope does not bring it
    with engine.begin() as conn:
        everything = tracker(conn, "everything")

    record = fetch_study(client, OUTSIDE)
    outcome = store_watched(engine, scope, record, requested=OUTSIDE, added_by="cli", note="EGFR exon 20")

    assert outcome.added and outcome.new_to_mirror and outcome.stored and not outcome.matches_scope
    assert not outcome.followed_alias and outcome.title and "Furmonertinib" in outcome.title
    row = trial_row(engine, OUTSIDE)
    assert row is not None and bool(row.in_scope) and row.version_count == 1
    assert _classified(engine, OUTSIDE)
    assert event_types(engine, OUTSIDE) == []  # the first version is the user's own doing
    assert alerted(engine, everything.id) == []
    with engine.connect() as conn:
        (item,) = list_watched(conn)
        run = last_run(conn, kinds=("watch",))
        listed = search_trials(conn, TrialQuery())  # listings show followed trials only
    assert (item.nct_id, item.added_by, item.note, item.title) == (
        OUTSIDE,
        "cli",
        "EGFR exon 20",
        row.brief_title,
    )
    assert run is not None and run.status == "completed" and run.counts["stored"] == 1
    assert OUTSIDE in {trial.nct_id for trial in listed}

    # Adding it again changes nothing and says so.
    again = store_watched(engine, scope, fetch_study(client, OUTSIDE), requested=OUTSIDE, added_by="web")
    assert not again.added and not again.stored
    assert trial_row(engine, OUTSIDE).version_count == 1  # type: ignore[union-attr]


def test_a_later_change_to_a_watched_trial_alerts_a_matching_tracker(
    engine: Engine, fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    scope = load_scope()
    run_sync(engine, client, scope)
    _add(engine, client, OUTSIDE)
    with engine.begin() as conn:
        one = tracker(conn, "this trial", nct_ids=(OUTSIDE,))
        other = tracker(conn, "another trial", nct_ids=("NCT04811560",))
    release(
        fake_api, replace_study(fake_api, OUTSIDE, updated(served(fake_api, OUTSIDE), status="TERMINATED"))
    )

    run = run_sync(engine, client, scope)

    assert run.kind == "incremental" and run.status == "completed"
    (by_id,) = [r for r in fake_api.requests if r.param("filter.ids")]
    assert by_id.param("filter.ids") == OUTSIDE and by_id.param("filter.advanced") == WINDOW
    assert "status_changed" in event_types(engine, OUTSIDE)
    assert ("status_changed", OUTSIDE) in alerted(engine, one.id)
    assert alerted(engine, other.id) == []
    row = trial_row(engine, OUTSIDE)
    assert row is not None and row.overall_status == "TERMINATED" and bool(row.in_scope)
    assert _classified(engine, OUTSIDE)


def test_every_sync_reads_the_watched_trials_by_id_in_batches(
    engine: Engine, fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    scope = load_scope()
    extra = [
        outside_scope(s, title=f"Lung study {i}")
        for i, s in enumerate(make_studies(150, last_update="2025-01-02"))
    ]
    fake_api.set_studies([*fake_api.studies, *extra])
    with engine.begin() as conn:
        # Watched before the first sync: the sync itself brings them in.
        for study in extra:
            add_watch(
                conn, study["protocolSection"]["identificationModule"]["nctId"], added_by="cli", now=utc_now()
            )

    first = run_sync(engine, client, scope)

    by_id = [r for r in fake_api.requests if r.param("filter.ids")]
    assert [len((r.param("filter.ids") or "").split(",")) for r in by_id] == [100, 50]
    assert all(r.param("filter.advanced") is None for r in by_id)  # a full sync has no window
    assert all(len(str(r.params)) < 2000 for r in by_id)
    assert first.status == "completed" and "watched trials" in (first.source or "")
    with engine.connect() as conn:
        followed = conn.execute(
            select(func.count())
            .select_from(trials)
            .where(trials.c.in_scope.is_(True), trials.c.nct_id.like("NCT99%"))
        ).scalar_one()
    assert followed == 150

    changed = updated(extra[7], status="SUSPENDED")
    release(fake_api, [changed if s is extra[7] else s for s in fake_api.studies])
    later = run_sync(engine, client, scope)

    by_id = [r for r in fake_api.requests if r.param("filter.ids")]
    assert len(by_id) == 2 and all(r.param("filter.advanced") == WINDOW for r in by_id)
    assert later.kind == "incremental" and later.counts["fetched"] == 1 and later.counts["stored"] == 1
    assert "status_changed" in event_types(
        engine, extra[7]["protocolSection"]["identificationModule"]["nctId"]
    )


def test_removing_a_watch_keeps_the_versions_and_stops_syncing_the_trial(
    engine: Engine, fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    scope = load_scope()
    run_sync(engine, client, scope)
    _add(engine, client, OUTSIDE)
    with engine.begin() as conn:
        everything = tracker(conn, "everything")

    outcome = unwatch_trial(engine, scope, OUTSIDE)

    assert outcome.was_watched and outcome.mirrored and not outcome.followed
    row = trial_row(engine, OUTSIDE)
    assert row is not None and not row.in_scope and row.version_count == 1
    with engine.connect() as conn:
        assert watched_ids(conn) == []
    assert event_types(engine, OUTSIDE) == []  # no left_scope for the user's own action
    assert alerted(engine, everything.id) == []

    release(
        fake_api, replace_study(fake_api, OUTSIDE, updated(served(fake_api, OUTSIDE), status="COMPLETED"))
    )
    run = run_sync(engine, client, scope)
    assert run.status == "completed"
    assert [r for r in fake_api.requests if r.param("filter.ids")] == []
    assert trial_row(engine, OUTSIDE).version_count == 1  # type: ignore[union-attr]

    # A second remove says it was not watched.
    assert not unwatch_trial(engine, scope, OUTSIDE).was_watched


def test_removing_a_watch_from_a_trial_in_scope_keeps_it_followed(
    engine: Engine, fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    scope = load_scope()
    run_sync(engine, client, scope)
    _add(engine, client, "NCT04811560")
    outcome = unwatch_trial(engine, scope, "NCT04811560")
    assert outcome.was_watched and outcome.followed
    assert bool(trial_row(engine, "NCT04811560").in_scope)  # type: ignore[union-attr]


def test_an_alias_leads_to_the_current_record(
    engine: Engine, fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    record = fetch_study(client, ALIAS)
    assert record.nct_id == ALIASED
    outcome = store_watched(engine, load_scope(), record, requested=ALIAS, added_by="cli")
    assert outcome.followed_alias and outcome.nct_id == ALIASED
    with engine.connect() as conn:
        assert watched_ids(conn) == [ALIASED]
    assert trial_row(engine, ALIAS) is None and trial_row(engine, ALIASED) is not None


def test_an_unknown_id_stores_nothing(
    engine: Engine, fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    with pytest.raises(StudyNotFound, match=UNKNOWN):
        fetch_study(client, UNKNOWN)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(watched_trials)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(study_versions)).scalar_one() == 0


def test_a_trial_mirrored_outside_the_scope_becomes_followed(
    engine: Engine, fake_api: FakeRegistryServer, tmp_path: Path
) -> None:
    scope = load_scope()
    source = tmp_path / "outside.jsonl"
    source.write_bytes(orjson.dumps(served(fake_api, OUTSIDE)) + b"\n")
    import_files(engine, [source], scope=scope)  # kept, not followed, not classified
    row = trial_row(engine, OUTSIDE)
    assert row is not None and not row.in_scope and not _classified(engine, OUTSIDE)

    outcome = follow_mirrored(engine, scope, OUTSIDE, requested=OUTSIDE, added_by="web", note="from the page")

    assert outcome.added and not outcome.stored and not outcome.new_to_mirror and not outcome.matches_scope
    assert bool(trial_row(engine, OUTSIDE).in_scope) and _classified(engine, OUTSIDE)  # type: ignore[union-attr]
    assert fake_api.requests == []  # nothing asked of the registry
    assert event_types(engine, OUTSIDE) == []


def test_an_import_keeps_a_watched_trial_outside_the_scope(
    engine: Engine, fake_api: FakeRegistryServer, tmp_path: Path
) -> None:
    scope = load_scope()
    with engine.begin() as conn:
        add_watch(conn, OUTSIDE, added_by="cli", now=utc_now())
    source = tmp_path / "outside.jsonl"
    source.write_bytes(orjson.dumps(served(fake_api, OUTSIDE)) + b"\n")
    report = import_files(engine, [source], scope=scope, in_scope_only=True)
    assert report.stored == 1 and report.out_of_scope == 0
    assert bool(trial_row(engine, OUTSIDE).in_scope) and _classified(engine, OUTSIDE)  # type: ignore[union-attr]


def test_registry_fetches_from_the_web_are_counted_per_client_and_in_total(engine: Engine) -> None:
    now = utc_now()
    for _ in range(3):
        with engine.begin() as conn:
            take_fetch_quota(conn, client="192.0.2.1", per_client=3, total=5, now=now)
    with pytest.raises(FetchLimitReached, match="within the hour"), engine.begin() as conn:
        take_fetch_quota(conn, client="192.0.2.1", per_client=3, total=5, now=now)
    for _ in range(2):
        with engine.begin() as conn:
            take_fetch_quota(conn, client="192.0.2.2", per_client=3, total=5, now=now)
    # The site's total is used up: the refused fetch counts for its client neither.
    with pytest.raises(FetchLimitReached, match="this hour"), engine.begin() as conn:
        take_fetch_quota(conn, client="192.0.2.2", per_client=3, total=5, now=now)
    with engine.connect() as conn:
        assert fetches_counted(conn, client="192.0.2.1", now=now) == 3
        assert fetches_counted(conn, client="192.0.2.2", now=now) == 2
    with engine.begin() as conn:
        take_fetch_quota(conn, client="192.0.2.1", per_client=3, total=5, now=now + timedelta(hours=1))
