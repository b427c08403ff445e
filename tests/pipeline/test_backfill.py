"""`backfill` against the fake registry: real dates, the present untouched, no alerts, resumable."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from hemewatch.alerts import TrackerSpec, create_tracker, enqueue_deliveries
from hemewatch.errors import HemewatchError
from hemewatch.pipeline.backfill import BackfillReport, backfill
from hemewatch.pipeline.importing import import_files
from hemewatch.registry.client import RegistryClient
from hemewatch.registry.scope import Scope, parse_scope
from hemewatch.settings import Settings
from hemewatch.storage.engine import open_database
from hemewatch.storage.events import EventFilter, StoredEvent, list_events
from hemewatch.storage.record_history import history_rows, trials_to_backfill
from hemewatch.storage.runs import get_run, last_run
from hemewatch.storage.tables import (
    change_events,
    classifications,
    deliveries,
    record_history,
    study_versions,
    tracker_events,
    trial_tags,
    trials,
)
from hemewatch.web import create_app
from hemewatch.web.views.timeline import timeline_entries
from tests.fakeapi.faults import Fault
from tests.fakeapi.history import real_study, serve_built
from tests.fakeapi.server import FakeRegistryServer

ACTT = "NCT04280705"  # ACTT-1: registered 2020-02-21; the mirror holds its record of 2022-03-14
MYELOMA = "NCT05827016"  # iberdomide maintenance: versions of 2023-06-07 and 2025-07-01
INOTUZUMAB = "NCT05923112"  # an ALL trial with one version, captured on its release day and the next
NOW = datetime(2026, 11, 22, 7, 0, tzinfo=UTC)

ACTT_NOW = "data/ctgov/other_studies.jsonl#NCT04280705"
MYELOMA_2023 = "data/ctgov/versions/NCT05827016__2023-06-07.json"
MYELOMA_2025 = "data/ctgov/versions/NCT05827016__2025-07-01.json"
INOTUZUMAB_NEXT_DAY = "data/ctgov/versions/NCT05923112__2023-06-28__2.json"

# A watch scope (as a scope file gives it) taking in the trials these tests mirror.
SCOPE: Scope = parse_scope(
    {
        "name": "backfill-tests",
        "queries": [{"query.cond": "COVID-19 OR myeloma OR leukemia"}],
        "local": {
            "fields": ["protocolSection.conditionsModule.conditions[]"],
            "patterns": [r"\bcovid", r"\bmyeloma\b", r"\bacute\s+\w+\s+leuka?emia\b"],
        },
    },
    source="test scope",
)


def _mirror(engine: Engine, tmp_path: Path, *references: str, studies: Sequence[dict[str, Any]] = ()) -> None:
    """Store records as `hemewatch import` does (the first import into a mirror is a baseline)."""
    path = tmp_path / f"import-{len(list(tmp_path.glob('import-*')))}.jsonl"
    records = [real_study(r) for r in references] + list(studies)
    path.write_bytes(b"\n".join(orjson.dumps(s) for s in records) + b"\n")
    import_files(engine, [path], scope=SCOPE)


def _updated(study: dict[str, Any], *, status: str, posted: str) -> dict[str, Any]:
    changed = copy.deepcopy(study)
    changed["protocolSection"]["statusModule"]["overallStatus"] = status
    changed["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"] = {
        "date": posted,
        "type": "ACTUAL",
    }
    return changed


def _present(engine: Engine) -> dict[str, Any]:
    """What a trial shows now: its row, its current version's labels and tags."""
    with engine.connect() as conn:
        rows = {
            r.nct_id: {k: v for k, v in r._mapping.items() if k not in ("version_count", "last_checked_at")}
            for r in conn.execute(select(trials))
        }
        labels = {
            r.nct_id: r.labels
            for r in conn.execute(
                select(trials.c.nct_id, classifications.c.labels).join(
                    classifications, classifications.c.version_id == trials.c.current_version_id
                )
            )
        }
        tags = sorted(
            (r.nct_id, r.kind, r.value)
            for r in conn.execute(
                select(trial_tags.c.nct_id, trial_tags.c.kind, trial_tags.c.value).join(
                    trials, trials.c.current_version_id == trial_tags.c.version_id
                )
            )
        )
    return {"trials": rows, "labels": labels, "tags": tags}


def _count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _events(engine: Engine, nct_id: str | None = None) -> list[StoredEvent]:
    where = EventFilter(include_administrative=True, nct_ids=(nct_id,) if nct_id else ())
    with engine.connect() as conn:
        return list_events(conn, where, newest_first=False)


def _requests(server: FakeRegistryServer) -> list[str]:
    return [r.path for r in server.requests]


def _run(engine: Engine, client: RegistryClient, *nct_ids: str, **kwargs: Any) -> BackfillReport:
    return backfill(engine, client, list(nct_ids), now=NOW, **kwargs)


def test_past_versions_are_stored_with_their_real_dates_and_the_present_is_untouched(
    engine: Engine, tmp_path: Path, fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    _mirror(engine, tmp_path, ACTT_NOW, MYELOMA_2025)
    before = _present(engine)
    serve_built(fake_api.history, [ACTT, MYELOMA])

    report = _run(engine, client, ACTT, MYELOMA)

    assert report.failures == []
    assert (
        report.total("listed"),
        report.total("fetched"),
        report.total("stored"),
        report.total("linked"),
    ) == (
        4,
        4,
        2,
        2,
    )
    assert _present(engine) == before  # current version, status, dates, labels and tags: unchanged
    with engine.connect() as conn:
        stored = {r.id: r for r in conn.execute(select(study_versions))}
        current = {r.nct_id: r.current_version_id for r in conn.execute(select(trials))}
        rows = {nct: history_rows(conn, nct) for nct in (ACTT, MYELOMA)}
        classified = {r.version_id for r in conn.execute(select(classifications.c.version_id))}
        run = get_run(conn, report.run_id)
    registration, linked = rows[ACTT]
    past = stored[registration.version_id]  # type: ignore[index]
    assert (past.source, past.last_update_post_date, past.version_holder) == (
        "history",
        date(2020, 2, 21),
        None,
    )
    assert linked.version_id == current[ACTT] and stored[current[ACTT]].source == "import"
    assert all(row.fetched_at == NOW for rows_of in rows.values() for row in rows_of)
    assert rows[MYELOMA][0].version_date == date(2023, 6, 6)
    assert stored[rows[MYELOMA][0].version_id].last_update_post_date == date(2023, 6, 7)  # type: ignore[index]
    assert {registration.version_id, rows[MYELOMA][0].version_id} <= classified  # in scope: classified
    # The changes from each trial's past to the version the mirror began with, at the registry's dates.
    for nct, posted in ((ACTT, date(2022, 3, 14)), (MYELOMA, date(2025, 7, 1))):
        events = _events(engine, nct)
        assert events and {e.event.registry_date for e in events} == {posted}
        assert {(e.event.old_version_id, e.event.new_version_id) for e in events} == {
            (rows[nct][0].version_id, current[nct])
        }
        assert all(e.sync_run_id == report.run_id and e.event.detected_at == NOW for e in events)
    status = {e.event.nct_id: e.event for e in _events(engine) if e.event.type == "status_changed"}
    assert status[ACTT].summary == "Overall status: not yet recruiting → completed"
    assert status[MYELOMA].summary == "Overall status: not yet recruiting → recruiting"
    assert "new_trial" not in report.events and "new_trial" not in {e.event.type for e in _events(engine)}
    assert sum(report.events.values()) == len(_events(engine))
    assert (run.kind, run.status) == ("backfill", "completed")
    assert run.counts["fetched"] == 4 and run.counts["stored"] == 2 and run.counts["unchanged"] == 2
    assert run.counts["events"] == sum(1 for e in _events(engine) if e.event.alertable)
    assert {t.nct_id: t.registered for t in report.trials}[ACTT] == date(2020, 2, 21)


def test_the_timeline_starts_at_registration_in_date_order(
    engine: Engine, tmp_path: Path, fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    _mirror(engine, tmp_path, ACTT_NOW)
    _mirror(
        engine, tmp_path, studies=[_updated(real_study(ACTT_NOW), status="TERMINATED", posted="2026-11-21")]
    )
    found_by_sync = {e.id for e in _events(engine, ACTT)}
    assert found_by_sync
    serve_built(fake_api.history, [ACTT])

    _run(engine, client, ACTT)

    with engine.connect() as conn:
        events = list_events(
            conn, EventFilter(nct_ids=(ACTT,), include_administrative=True), by_registry_date=True
        )
        entries = timeline_entries(conn, ACTT, events)
    dates = [e.registry_date for e in entries]
    assert dates == sorted(dates, reverse=True)  # newest first, although the past was found last
    assert dates[0] == date(2026, 11, 21) and date(2022, 3, 14) in dates
    assert [e.from_history for e in entries if e.id in found_by_sync] == [False] * len(found_by_sync)
    assert all(e.from_history for e in entries if e.id not in found_by_sync)
    first = entries[-1]
    assert (first.type, first.registry_date, first.from_history) == ("registered", date(2020, 2, 21), True)
    assert (
        first.registry_date.isoformat()
        == real_study(ACTT_NOW)["protocolSection"]["statusModule"]["studyFirstPostDateStruct"]["date"]
    )
    by_id = sorted(entries[:-1], key=lambda e: e.id)
    assert by_id[-1].registry_date == date(2022, 3, 14)  # the highest ids are the oldest changes


def test_no_delivery_is_queued_even_for_a_tracker_matching_everything(
    engine: Engine, tmp_path: Path, fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    _mirror(engine, tmp_path, ACTT_NOW, MYELOMA_2025)
    with engine.begin() as conn:
        create_tracker(
            conn,
            TrackerSpec(name="everything", email="watcher@example.org", cadence="immediate"),
            now=datetime(2026, 1, 1, tzinfo=UTC),
            confirmed=True,
        )
    serve_built(fake_api.history, [ACTT, MYELOMA])

    report = _run(engine, client, ACTT, MYELOMA)

    past = _events(engine)
    assert sum(report.events.values()) == len(past) and any(e.event.alertable for e in past)
    assert _count(engine, deliveries) == 0 and _count(engine, tracker_events) == 0
    # The tracker does match these events: queued, they would have gone out.
    with engine.connect() as conn, conn.begin() as transaction:
        assert enqueue_deliveries(conn, past, now=NOW) > 0
        transaction.rollback()
    assert _count(engine, deliveries) == 0

    # The next update is diffed against the version the mirror had, and only it is alerted.
    _mirror(
        engine, tmp_path, studies=[_updated(real_study(ACTT_NOW), status="TERMINATED", posted="2026-11-21")]
    )
    fresh = [e for e in _events(engine) if e.id not in {p.id for p in past}]
    with engine.connect() as conn:
        current_before = conn.execute(
            select(change_events.c.old_version_id).where(change_events.c.id == fresh[0].id)
        ).scalar_one()
        matched = {r.event_id for r in conn.execute(select(tracker_events.c.event_id))}
        sources = {r.id: r.source for r in conn.execute(select(study_versions))}
    assert sources[current_before] == "import"  # the 2022 record, not a version from the record history
    assert [e.event.type for e in fresh if e.event.alertable] == ["status_changed"]
    assert matched == {e.id for e in fresh if e.event.alertable}
    assert _count(engine, deliveries) > 0


def test_a_rerun_stores_nothing_new(
    engine: Engine, tmp_path: Path, fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    _mirror(engine, tmp_path, ACTT_NOW, MYELOMA_2025)
    serve_built(fake_api.history, [ACTT, MYELOMA])
    _run(engine, client, ACTT, MYELOMA)
    counts = [_count(engine, t) for t in (study_versions, change_events, record_history, classifications)]
    fake_api.clear_requests()

    again = _run(engine, client, ACTT, MYELOMA)

    assert [
        _count(engine, t) for t in (study_versions, change_events, record_history, classifications)
    ] == counts
    assert (again.total("fetched"), again.total("stored"), sum(again.events.values())) == (0, 0, 0)
    assert _requests(fake_api) == [f"/api/int/studies/{ACTT}/history", f"/api/int/studies/{MYELOMA}/history"]


class CtrlCAfterFirstTrial:
    """A progress display whose person presses Ctrl-C once the first trial is done."""

    def start(self, description: str, total: float | None) -> None:
        """Nothing to draw."""

    def set_total(self, total: float) -> None:
        """Nothing to draw."""

    def note(self, message: str) -> None:
        """Nothing to draw."""

    def advance(self, amount: float) -> None:
        """Ctrl-C."""
        raise KeyboardInterrupt


def _clean_events(tmp_path: Path, fake_api: FakeRegistryServer, client: RegistryClient) -> Counter[str]:
    """The events of a backfill that nothing interrupted, on a database of its own."""
    other = open_database(f"sqlite:///{tmp_path / 'clean.db'}")
    try:
        (tmp_path / "clean").mkdir()
        _mirror(other, tmp_path / "clean", ACTT_NOW, MYELOMA_2025)
        return _run(other, client, ACTT, MYELOMA).events
    finally:
        other.dispose()


def test_an_interrupted_backfill_resumes_where_it_stopped(
    engine: Engine, tmp_path: Path, fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    _mirror(engine, tmp_path, ACTT_NOW, MYELOMA_2025)
    serve_built(fake_api.history, [ACTT, MYELOMA])
    clean = _clean_events(tmp_path, fake_api, client)

    with pytest.raises(KeyboardInterrupt):
        _run(engine, client, ACTT, MYELOMA, progress=CtrlCAfterFirstTrial())
    with engine.connect() as conn:
        run = last_run(conn, kinds=("backfill",))
        assert run is not None and (run.status, run.error) == ("failed", "interrupted (KeyboardInterrupt)")
        assert [row.fetched_at is not None for row in history_rows(conn, ACTT)] == [True, True]
        assert history_rows(conn, MYELOMA) == []
    # The second trial fails on its second version (the registry keeps answering 500).
    fake_api.inject(Fault.http_error(500, path=f"/api/int/studies/{MYELOMA}/history/1"), times=3)
    stopped = _run(engine, client, ACTT, MYELOMA)
    assert [t.nct_id for t in stopped.failures] == [MYELOMA] and "HTTP 500" in str(stopped.failures[0].error)
    with engine.connect() as conn:
        assert [row.fetched_at is not None for row in history_rows(conn, MYELOMA)] == [True, False]
        assert get_run(conn, stopped.run_id).status == "completed_issues"
    fake_api.clear_requests()

    resumed = _run(engine, client, MYELOMA)

    assert resumed.failures == [] and resumed.total("fetched") == 1
    assert _requests(fake_api) == [
        f"/api/int/studies/{MYELOMA}/history",
        f"/api/int/studies/{MYELOMA}/history/1",
    ]
    assert Counter(e.event.type.value for e in _events(engine)) == clean
    assert _count(engine, study_versions) == 4


def test_rate_limits_and_server_errors_are_retried(
    engine: Engine, tmp_path: Path, fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    _mirror(engine, tmp_path, ACTT_NOW)
    serve_built(fake_api.history, [ACTT])
    listing = f"/api/int/studies/{ACTT}/history"
    fake_api.inject(Fault.rate_limited("2", path=listing))
    fake_api.inject(Fault.http_error(500, path=f"{listing}/0"), times=2)

    report = _run(engine, client, ACTT)

    assert report.failures == [] and report.total("stored") == 1 and fake_api.pending_faults == []
    assert _requests(fake_api).count(listing) == 2 and _requests(fake_api).count(f"{listing}/0") == 3


def test_a_failing_trial_does_not_stop_the_others(
    engine: Engine, tmp_path: Path, fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    _mirror(engine, tmp_path, ACTT_NOW, MYELOMA_2025, INOTUZUMAB_NEXT_DAY)
    serve_built(fake_api.history, [ACTT, MYELOMA])  # none for the ALL trial: its history answers 404
    reshaped = orjson.dumps({"versions": [{"n": 0, "posted": "2020-02-21"}]})
    fake_api.inject(Fault.reshaped(reshaped, path=f"/api/int/studies/{ACTT}/history"))

    report = _run(engine, client, ACTT, "NCT03690141", INOTUZUMAB, MYELOMA)

    errors = {t.nct_id: t.error for t in report.failures}
    assert set(errors) == {ACTT, "NCT03690141", INOTUZUMAB}
    assert "expected a non-empty `changes` list" in str(errors[ACTT])
    assert "NCT03690141 is not in the local mirror" in str(errors["NCT03690141"])
    assert f"no record history for {INOTUZUMAB}" in str(errors[INOTUZUMAB])
    assert {t.nct_id: t.stored for t in report.trials}[MYELOMA] == 1
    with engine.connect() as conn:
        assert history_rows(conn, ACTT) == [] and len(history_rows(conn, MYELOMA)) == 2
        run = get_run(conn, report.run_id)
    assert run.status == "completed_issues" and run.counts["rejected"] == 3
    assert run.error is not None and "NCT03690141" in run.error


def test_a_version_the_mirror_has_is_linked_and_a_newer_one_waits_for_the_sync(
    engine: Engine, tmp_path: Path, fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    _mirror(engine, tmp_path, INOTUZUMAB_NEXT_DAY, MYELOMA_2023)
    serve_built(fake_api.history, [INOTUZUMAB, MYELOMA])
    with engine.connect() as conn:
        current = {r.nct_id: r.current_version_id for r in conn.execute(select(trials))}
        assert trials_to_backfill(conn) == ([MYELOMA, INOTUZUMAB], 0)

    report = _run(engine, client, INOTUZUMAB, MYELOMA)

    by_trial = {t.nct_id: t for t in report.trials}
    # Posted the same day as the mirror's capture (which the registry stamped a day later): the same version.
    assert (by_trial[INOTUZUMAB].linked, by_trial[INOTUZUMAB].stored) == (1, 0)
    # The 2025 version is newer than anything mirrored: storing it would make it current.
    assert (by_trial[MYELOMA].linked, by_trial[MYELOMA].newer, by_trial[MYELOMA].stored) == (1, 1, 0)
    assert _count(engine, study_versions) == 2 and _events(engine) == []
    with engine.connect() as conn:
        assert [r.version_id for r in history_rows(conn, INOTUZUMAB)] == [current[INOTUZUMAB]]
        assert [r.version_id for r in history_rows(conn, MYELOMA)] == [current[MYELOMA], None]
        assert trials_to_backfill(conn) == ([MYELOMA], 1)
        assert trials_to_backfill(conn, limit=0) == ([], 1)

    # The sync brings the 2025 record (and finds its changes); the next backfill links to it.
    _mirror(engine, tmp_path, MYELOMA_2025)
    synced = len(_events(engine))
    again = _run(engine, client, MYELOMA)
    assert (again.total("linked"), again.total("stored"), again.total("newer")) == (1, 0, 0)
    assert len(_events(engine)) == synced  # the sync diffed those two already
    with engine.connect() as conn:
        assert trials_to_backfill(conn) == ([], 2)


def test_the_trial_page_and_the_api_show_the_past_in_date_order(
    engine: Engine, db_url: str, tmp_path: Path, fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    _mirror(engine, tmp_path, ACTT_NOW)
    _mirror(
        engine, tmp_path, studies=[_updated(real_study(ACTT_NOW), status="TERMINATED", posted="2026-11-21")]
    )
    serve_built(fake_api.history, [ACTT])
    _run(engine, client, ACTT)
    settings = Settings(
        home=tmp_path / "home", database_url=db_url, secret_key="s" * 40, public_url="http://testserver"
    )

    with TestClient(create_app(settings)) as web:
        changes = web.get(f"/api/v1/trials/{ACTT}/changes", params={"include_administrative": "true"}).json()
        page = web.get(f"/trials/{ACTT}", params={"all": "1"}).text

    dates = [c["registry_date"] for c in changes["changes"]]
    assert dates == sorted(dates, reverse=True) and dates[0] == "2026-11-21" and dates[-1] == "2022-03-14"
    assert {c["from_history"] for c in changes["changes"] if c["registry_date"] == "2022-03-14"} == {True}
    assert {c["from_history"] for c in changes["changes"] if c["registry_date"] == "2026-11-21"} == {False}
    assert "Registered" in page and "First posted on ClinicalTrials.gov" in page
    assert (
        page.index("Overall status: completed → terminated")
        < page.index("Overall status: not yet recruiting → completed")
        < page.index("First posted on ClinicalTrials.gov")
    )


def test_an_unknown_trial_id_is_refused_before_anything_runs(engine: Engine, client: RegistryClient) -> None:
    with pytest.raises(HemewatchError, match=r"not a ClinicalTrials\.gov identifier"):
        _run(engine, client, "NCT123")
    assert _count(engine, record_history) == 0
