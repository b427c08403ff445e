"""Trial catalog queries, event listing and stored tags, on SQLite and PostgreSQL, over the demo data."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine

from hemewatch.storage.catalog import TrialQuery, count_trials, facet_counts, search_trials
from hemewatch.storage.events import EventFilter, list_events
from hemewatch.storage.tags import current_labels, load_tags
from hemewatch.storage.trial_view import load_trial_view


def test_tag_filters_combine(demo: Engine) -> None:
    with demo.connect() as conn:
        cd19_car_t = search_trials(conn, TrialQuery(target=("CD19",), modality=("CAR-T",), limit=None))
        cd19 = search_trials(conn, TrialQuery(target=("cd19",), limit=None))
        either = search_trials(conn, TrialQuery(target=("CD19", "CD22"), limit=None))
    # Target and modality together ask for one therapy with both (a CD19 CAR-T).
    assert cd19_car_t and {r.nct_id for r in cd19_car_t} < {r.nct_id for r in cd19}
    assert all("CAR-T" in r.labels["modalities"] and "CD19" in r.labels["targets"] for r in cd19_car_t)
    assert {r.nct_id for r in cd19} < {r.nct_id for r in either}


def test_record_filters(demo: Engine) -> None:
    with demo.connect() as conn:
        japan = search_trials(conn, TrialQuery(country=("japan",), limit=None))
        phase3 = search_trials(conn, TrialQuery(phase=("PHASE3",), limit=None))
        pfizer = search_trials(conn, TrialQuery(sponsor="pfizer", limit=None))
        text = search_trials(conn, TrialQuery(text="blinatumomab", limit=None))
        terminated = search_trials(conn, TrialQuery(status=("terminated",), limit=None))
        by_id = search_trials(conn, TrialQuery(nct_ids=("nct03319901",), limit=None))
    assert japan and all("Japan" in r.countries for r in japan)
    assert phase3 and all("PHASE3" in r.phases for r in phase3)
    assert pfizer and all("pfizer" in (r.lead_sponsor or "").lower() for r in pfizer)
    # The text matches titles, and the agent tags through the lexicon (a trial may name it elsewhere).
    assert text and all(
        "blinatumomab" in (r.title or "").lower() or "blinatumomab" in r.labels["agents"] for r in text
    )
    assert [r.nct_id for r in terminated] == ["NCT05464836"]
    assert [r.nct_id for r in by_id] == ["NCT03319901"]


def test_pagination_sorting_and_counts(demo: Engine) -> None:
    with demo.connect() as conn:
        total = count_trials(conn, TrialQuery())
        first = search_trials(conn, TrialQuery(sort="nct_id", descending=False, limit=10))
        second = search_trials(conn, TrialQuery(sort="nct_id", descending=False, limit=10, offset=10))
        changed = search_trials(conn, TrialQuery(sort="last_change", limit=3))
    assert total == 96
    ids = [r.nct_id for r in first + second]
    assert ids == sorted(ids) and len(set(ids)) == 20
    assert all(r.last_change == date(2025, 7, 8) for r in changed)


def test_facets_count_matching_trials(demo: Engine) -> None:
    with demo.connect() as conn:
        targets = facet_counts(conn, TrialQuery(), "target")
        car_t_targets = facet_counts(conn, TrialQuery(modality=("CAR-T",)), "target")
        cd19 = count_trials(conn, TrialQuery(target=("CD19",)))
    assert targets["CD19"] == cd19
    assert car_t_targets["CD19"] <= targets["CD19"] and "CD123" in car_t_targets


def test_events_filters(demo: Engine) -> None:
    with demo.connect() as conn:
        alertable = list_events(conn)
        everything = list_events(conn, EventFilter(include_administrative=True))
        critical = list_events(conn, EventFilter(min_severity="critical"))
        sites = list_events(conn, EventFilter(types=("site_added", "site_status_changed")))
        one = list_events(conn, EventFilter(nct_ids=("NCT03319901",)))
        later = list_events(conn, EventFilter(since=date(2025, 7, 9)))
        after = list_events(conn, EventFilter(after_id=alertable[1].id), newest_first=False)
    assert len(alertable) == 10 and len(everything) > 10
    assert {e.event.type.value for e in critical} == {"status_changed", "results_posted"}
    assert {e.event.nct_id for e in sites} == {"NCT05886491", "NCT05918692"}
    assert [e.event.type.value for e in one] == ["results_posted"]
    assert later == []
    assert all(e.id > alertable[1].id for e in after)


def test_tags_and_labels_of_the_current_version(demo: Engine) -> None:
    with demo.connect() as conn:
        view = load_trial_view(conn, "NCT02650414")
        labels = current_labels(conn, ["NCT02650414", "NCT99999999"])
        assert view is not None and view.version_id is not None
        tags = load_tags(conn, view.version_id)
    assert view.version_count == 2
    assert ("target", "CD22") in {(t.kind, t.value) for t in tags}
    assert all(t.evidence for t in tags)
    assert list(labels) == ["NCT02650414"] and labels["NCT02650414"]["targets"] == ["CD22"]
