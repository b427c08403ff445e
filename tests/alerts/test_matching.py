"""The index finds exactly the (tracker, event) pairs the one-by-one rule finds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from hemewatch.alerts.criteria import Criteria, TrialFacts, criteria_from_stored
from hemewatch.alerts.matching import match_events, positions
from hemewatch.history import EventType, Severity
from hemewatch.storage.events import StoredEvent
from tests.alerts.world import make_event

T0 = datetime(2026, 11, 20, tzinfo=UTC)
DISEASES = ["AML", "B-ALL", "T-ALL", "MPAL"]
TARGETS = ["CD19", "CD22", "CD33", "CD123", "CD7"]
MODALITIES = ["CAR-T", "T-cell engager", "antibody-drug conjugate"]
AGENTS = ["blinatumomab", "inotuzumab ozogamicin", "revumenib"]
COUNTRIES = ["France", "United States", "China"]
TITLES = ["CAR-T for relapsed B-ALL", "Venetoclax in older adults", "Blinatumomab MRD study", "A trial"]
SPONSORS = ["Amgen", "M.D. Anderson Cancer Center", "Novartis Pharmaceuticals", ""]
NCT_IDS = [f"NCT0000000{i}" for i in range(6)]


def facts(nct_id: str, **fields: object) -> TrialFacts:
    values = {
        "nct_id": nct_id,
        "title": "A trial",
        "sponsor": "Amgen",
        "in_scope": True,
        "tags": {},
        "phases": ["PHASE2"],
        "status": "RECRUITING",
        "countries": ["France"],
        **fields,
    }
    return TrialFacts.build(**values)  # type: ignore[arg-type]


def criteria(tracker_id: int, created: datetime = T0, **stored: object) -> Criteria:
    return criteria_from_stored(tracker_id, created, stored)


def stored(event_id: int, nct_id: str, **fields: object) -> StoredEvent:
    fields.setdefault("detected_at", T0 + timedelta(hours=1))
    return StoredEvent(event_id, make_event(nct_id, **fields), None)  # type: ignore[arg-type]


def pairs(found: dict[int, list[int]]) -> set[tuple[int, int]]:
    return {(tracker, event) for event, trackers in found.items() for tracker in trackers}


def test_filters_within_a_dimension_are_alternatives_and_across_dimensions_all_apply() -> None:
    trials = {
        "NCT00000001": facts("NCT00000001", tags={"diseases": ["AML"], "targets": ["CD33"]}),
        "NCT00000002": facts("NCT00000002", tags={"diseases": ["B-ALL"], "targets": ["CD19"]}),
    }
    trackers = [
        criteria(1, diseases=["AML", "B-ALL"]),
        criteria(2, diseases=["aml"], targets=["CD19"]),  # no trial has both
        criteria(3, targets=["cd19"], countries=["france"]),
        criteria(4),  # follows everything
        criteria(5, nct_ids=["NCT00000002"]),
    ]
    events = [stored(10, "NCT00000001"), stored(11, "NCT00000002")]
    assert pairs(match_events(trackers, trials, events)) == {
        (1, 10), (1, 11), (3, 11), (4, 10), (4, 11), (5, 11),
    }  # fmt: skip


def test_event_type_severity_and_creation_time() -> None:
    trials = {"NCT00000001": facts("NCT00000001")}
    events = [
        stored(1, "NCT00000001", kind=EventType.RESULTS_POSTED, severity=Severity.CRITICAL),
        stored(2, "NCT00000001", kind=EventType.SITE_ADDED, severity=Severity.MINOR),
        stored(3, "NCT00000001", kind=EventType.OTHER_CHANGED, severity=Severity.ADMINISTRATIVE),
    ]
    trackers = [
        criteria(1, event_types=["results_posted"]),
        criteria(2, min_severity="notable"),
        criteria(3),
        criteria(4, created=T0 + timedelta(hours=2)),  # created after the events were detected
    ]
    assert pairs(match_events(trackers, trials, events)) == {(1, 1), (2, 1), (3, 1), (3, 2)}


def test_sponsor_and_free_text_are_case_insensitive_parts() -> None:
    trials = {
        "NCT00000001": facts(
            "NCT00000001", title="CAR-T cells for B-ALL", sponsor="Memorial Sloan Kettering"
        ),
        "NCT00000002": facts("NCT00000002", title="Venetoclax in AML", sponsor="AbbVie"),
    }
    trackers = [
        criteria(1, sponsor="sloan"),
        criteria(2, text="car-t"),
        criteria(3, text="nct00000002"),
        criteria(4, text="ab"),  # shorter than three letters: checked on every trial
        criteria(5, text="venetoclax", sponsor="memorial"),
    ]
    events = [stored(1, "NCT00000001"), stored(2, "NCT00000002")]
    assert pairs(match_events(trackers, trials, events)) == {(1, 1), (2, 1), (3, 2), (4, 2)}


def test_trials_outside_the_scope_only_alert_that_they_left() -> None:
    trials = {"NCT00000001": facts("NCT00000001", in_scope=False)}
    events = [stored(1, "NCT00000001"), stored(2, "NCT00000001", kind=EventType.LEFT_SCOPE)]
    assert pairs(match_events([criteria(1)], trials, events)) == {(1, 2)}


def test_events_of_unknown_trials_match_nobody() -> None:
    assert match_events([criteria(1)], {}, [stored(1, "NCT00000009")]) == {}


def test_positions_of_a_bitmap() -> None:
    assert positions(0b1011) == [3, 1, 0]
    assert sorted(positions(1 << 100 | 1 << 64 | 1)) == [0, 64, 100]


def _tags(
    diseases: list[str], therapies: list[tuple[str, str]], targets: list[str], agents: list[str]
) -> dict[str, list[str]]:
    # A trial's pairs are its therapies' (target, modality); its targets and modalities include
    # theirs, and it may have targets of therapies without a known modality.
    return {
        "diseases": diseases,
        "targets": [t for t, _ in therapies] + targets,
        "modalities": [m for _, m in therapies],
        "pairs": [f"{t}|{m}" for t, m in therapies],
        "agents": agents,
    }


tags_strategy = st.builds(
    _tags,
    st.lists(st.sampled_from(DISEASES), max_size=2),
    st.lists(st.tuples(st.sampled_from(TARGETS), st.sampled_from(MODALITIES)), max_size=3),
    st.lists(st.sampled_from(TARGETS), max_size=1),
    st.lists(st.sampled_from(AGENTS), max_size=2),
)
trial_strategy = st.fixed_dictionaries(
    {
        "tags": tags_strategy,
        "countries": st.lists(st.sampled_from(COUNTRIES), max_size=2),
        "title": st.sampled_from(TITLES),
        "sponsor": st.sampled_from(SPONSORS),
        "in_scope": st.booleans(),
        "status": st.sampled_from(["RECRUITING", "COMPLETED"]),
    }
)
tracker_strategy = st.fixed_dictionaries(
    {},
    optional={
        "diseases": st.lists(st.sampled_from(DISEASES), min_size=1, max_size=2),
        "targets": st.lists(st.sampled_from(TARGETS), min_size=1, max_size=2),
        "modalities": st.lists(st.sampled_from(MODALITIES), min_size=1, max_size=2),
        "agents": st.lists(st.sampled_from(AGENTS), min_size=1, max_size=2),
        "countries": st.lists(st.sampled_from(COUNTRIES), min_size=1, max_size=2),
        "statuses": st.just(["RECRUITING"]),
        "nct_ids": st.lists(st.sampled_from(NCT_IDS), min_size=1, max_size=2),
        "sponsor": st.sampled_from(["amgen", "anderson", "pharma", "zz"]),
        # Plain parts of the title, and names the lexicon reads as tags (a brand, a code, a pair).
        "text": st.sampled_from(
            [
                "car-t",
                "venetoclax",
                "mrd",
                "trial",
                "nct000000",
                "a",
                "Blincyto",
                "SNDX-5613",
                "CD22 CAR-T",
                "blinatumomab and inotuzumab",
            ]
        ),
        "event_types": st.lists(st.sampled_from(["status_changed", "site_added", "left_scope"]), min_size=1),
        "min_severity": st.sampled_from(["critical", "notable", "minor"]),
    },
)
event_strategy = st.tuples(
    st.sampled_from(NCT_IDS),
    st.sampled_from([EventType.STATUS_CHANGED, EventType.SITE_ADDED, EventType.LEFT_SCOPE]),
    st.sampled_from(list(Severity)),
    st.integers(min_value=0, max_value=3),
)


@settings(max_examples=150)
@given(
    trial_fields=st.lists(trial_strategy, min_size=len(NCT_IDS), max_size=len(NCT_IDS)),
    tracker_fields=st.lists(st.tuples(tracker_strategy, st.integers(0, 3)), max_size=25),
    event_fields=st.lists(event_strategy, max_size=20),
)
def test_the_index_agrees_with_the_one_by_one_rule(
    trial_fields: list[dict[str, object]],
    tracker_fields: list[tuple[dict[str, object], int]],
    event_fields: list[tuple[str, EventType, Severity, int]],
) -> None:
    _check_agreement(trial_fields, tracker_fields, event_fields)


# Trackers that only ask for tags, pairs and texts the lexicon reads: the paths where a trial meets
# a filter through its therapies rather than its words, met often enough to be tested each run.
tag_tracker_strategy = st.fixed_dictionaries(
    {},
    optional={
        "targets": st.lists(st.sampled_from(TARGETS[:2]), min_size=1, max_size=2),
        "modalities": st.lists(st.sampled_from(MODALITIES), min_size=1, max_size=2),
        "agents": st.lists(st.sampled_from(AGENTS), min_size=1, max_size=2),
        "sponsor": st.sampled_from(["amgen", "novartis"]),
        "text": st.sampled_from(
            ["Blincyto", "SNDX-5613", "CD22 CAR-T", "CD19", "blinatumomab and inotuzumab"]
        ),
    },
)


@settings(max_examples=150)
@given(
    trial_fields=st.lists(trial_strategy, min_size=len(NCT_IDS), max_size=len(NCT_IDS)),
    tracker_fields=st.lists(st.tuples(tag_tracker_strategy, st.just(0)), max_size=25),
    event_fields=st.lists(event_strategy, max_size=20),
)
def test_the_index_agrees_on_pairs_and_texts_read_as_tags(
    trial_fields: list[dict[str, object]],
    tracker_fields: list[tuple[dict[str, object], int]],
    event_fields: list[tuple[str, EventType, Severity, int]],
) -> None:
    _check_agreement(trial_fields, tracker_fields, event_fields)


def _check_agreement(
    trial_fields: list[dict[str, object]],
    tracker_fields: list[tuple[dict[str, object], int]],
    event_fields: list[tuple[str, EventType, Severity, int]],
) -> None:
    trials = {nct_id: facts(nct_id, **fields) for nct_id, fields in zip(NCT_IDS, trial_fields, strict=True)}
    trackers = [
        criteria(i + 1, T0 + timedelta(hours=hour), **fields)
        for i, (fields, hour) in enumerate(tracker_fields)
    ]
    events = [
        stored(i + 1, nct_id, kind=kind, severity=severity, detected_at=T0 + timedelta(hours=hour))
        for i, (nct_id, kind, severity, hour) in enumerate(event_fields)
    ]
    expected = {
        (item.tracker_id, event.id)
        for item in trackers
        for event in events
        if item.matches(trials[event.event.nct_id], event.event)
    }
    assert pairs(match_events(trackers, trials, events)) == expected
