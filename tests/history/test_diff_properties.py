"""Properties of diff_versions over the 1,446 real records, checked with hypothesis."""

from __future__ import annotations

import random

import orjson
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from hemewatch.history import ChangeEvent, EventType

from .studies import (
    MUTATIONS,
    corpus_size,
    corpus_study,
    diff,
    edited,
    section,
    shuffled,
    with_empty_arrays,
)

records = st.integers(min_value=0, max_value=corpus_size() - 1)
seeds = st.integers(min_value=0, max_value=2**32 - 1)
mutation_lists = st.lists(st.sampled_from(MUTATIONS), min_size=1, max_size=4)
STATUSES = (
    "RECRUITING", "NOT_YET_RECRUITING", "ACTIVE_NOT_RECRUITING", "COMPLETED", "TERMINATED",
    "WITHDRAWN", "SUSPENDED", "ENROLLING_BY_INVITATION", "UNKNOWN",
)  # fmt: skip
SETTINGS = settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(index=records)
def test_a_version_diffed_with_itself_gives_nothing(index: int) -> None:
    record = corpus_study(index)
    assert diff(record, record, administrative=True) == []
    assert diff(record, corpus_study(index), administrative=True) == []


@SETTINGS
@given(index=records, seed=seeds)
def test_reordering_lists_and_keys_never_alerts(index: int, seed: int) -> None:
    record = corpus_study(index)
    reordered = shuffled(record, random.Random(seed))
    assert diff(record, reordered) == []
    assert not any(event.alertable for event in diff(record, reordered, administrative=True))


@SETTINGS
@given(index=records)
def test_omitted_and_empty_arrays_are_the_same(index: int) -> None:
    record = corpus_study(index)
    assert diff(record, with_empty_arrays(record)) == []
    assert diff(with_empty_arrays(record), record) == []


@SETTINGS
@given(index=records, seed=seeds, mutations=mutation_lists)
def test_events_are_invariant_under_shuffling(index: int, seed: int, mutations: list[object]) -> None:
    old = corpus_study(index)
    new = edited(old)
    rnd = random.Random(seed)
    for mutate in mutations:
        mutate(new, rnd)  # type: ignore[operator]
    expected = diff(old, new)
    assert diff(shuffled(old, rnd), shuffled(new, rnd)) == expected
    for event in expected:
        assert ChangeEvent.from_dict(orjson.loads(orjson.dumps(event.to_dict()))) == event


@SETTINGS
@given(index=records, status=st.sampled_from(STATUSES))
def test_a_synthetic_status_change_yields_exactly_one_status_changed(index: int, status: str) -> None:
    old = corpus_study(index)
    assume(section(old, "statusModule").get("overallStatus") != status)
    new = edited(old)
    section(new, "statusModule")["overallStatus"] = status
    (event,) = diff(old, new, administrative=True)
    assert event.type is EventType.STATUS_CHANGED
    assert isinstance(event.after, dict)
    assert event.after["overallStatus"] == status


@SETTINGS
@given(index=records, seed=seeds, mutations=mutation_lists)
def test_sites_added_one_way_are_removed_the_other_way(
    index: int, seed: int, mutations: list[object]
) -> None:
    old = corpus_study(index)
    new = edited(old)
    rnd = random.Random(seed)
    for mutate in mutations:
        mutate(new, rnd)  # type: ignore[operator]

    def paths(events: list[ChangeEvent], kind: EventType) -> set[str]:
        return {event.path for event in events if event.type is kind}

    forward, backward = diff(old, new), diff(new, old)
    assert paths(forward, EventType.SITE_ADDED) == paths(backward, EventType.SITE_REMOVED)
    assert paths(forward, EventType.SITE_REMOVED) == paths(backward, EventType.SITE_ADDED)
