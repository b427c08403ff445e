"""Trackers with both targets and modalities follow one therapy with both; free text reads drug names."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select

from hemewatch.alerts.criteria import TrialFacts, criteria_from_stored
from hemewatch.storage.tables import change_events, tracker_events, trackers
from tests.alerts.world import add_tracker, make_event, store_and_enqueue
from tests.storage.test_paired_and_text import (
    ADC,
    BLINA_INO,
    CAR19_INO,
    CAR22,
    MENIN,
    MPAL,
    seed_world,
)

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def facts(nct_id: str, pairs: list[str], **tags: list[str]) -> TrialFacts:
    targets = sorted({pair.split("|")[0] for pair in pairs})
    modalities = sorted({pair.split("|")[1] for pair in pairs})
    return TrialFacts.build(
        nct_id=nct_id,
        title="A study of treatment in acute leukemia",
        sponsor="A sponsor",
        in_scope=True,
        tags={"pairs": pairs, "targets": targets, "modalities": modalities, **tags},
    )


BLINA_INO_FACTS = facts(
    BLINA_INO,
    ["CD19|T-cell engager", f"CD22|{ADC}"],
    agents=["blinatumomab", "inotuzumab ozogamicin"],
)
CAR19_INO_FACTS = facts(CAR19_INO, ["CD19|CAR-T", f"CD22|{ADC}"])


def accepts(trial: TrialFacts, **stored: object) -> bool:
    return criteria_from_stored(1, T0, stored).accepts_trial(trial)


def test_targets_and_modalities_become_one_pairs_filter() -> None:
    criteria = criteria_from_stored(1, T0, {"targets": ["CD22"], "modalities": [ADC, "CAR-T"]})
    assert criteria.filters == (("pairs", frozenset({"cd22|antibody-drug conjugate", "cd22|car-t"})),)
    assert criteria_from_stored(1, T0, {"targets": ["CD22"]}).filters == (("targets", frozenset({"cd22"})),)


def test_the_reference_rule_asks_one_therapy() -> None:
    assert accepts(BLINA_INO_FACTS, targets=["CD22"], modalities=[ADC])
    assert not accepts(BLINA_INO_FACTS, targets=["CD19"], modalities=[ADC])
    assert not accepts(CAR19_INO_FACTS, targets=["CD22"], modalities=["CAR-T"])
    assert accepts(CAR19_INO_FACTS, targets=["cd19", "CD22"], modalities=["car-t"])
    assert accepts(CAR19_INO_FACTS, targets=["CD22"]) and accepts(CAR19_INO_FACTS, modalities=["CAR-T"])


def test_free_text_reads_drug_names_through_the_lexicon() -> None:
    assert accepts(BLINA_INO_FACTS, text="Blincyto")
    assert accepts(BLINA_INO_FACTS, text="blinatumomab and inotuzumab")
    assert not accepts(CAR19_INO_FACTS, text="Blincyto")
    assert accepts(CAR19_INO_FACTS, text="CD19 CAR-T") and not accepts(CAR19_INO_FACTS, text="CD22 CAR-T")


@pytest.fixture
def mirror(engine: Engine) -> Engine:
    with engine.begin() as conn:
        seed_world(conn)
    return engine


def test_trackers_fire_on_the_trials_a_search_finds(mirror: Engine) -> None:
    wanted: dict[str, dict[str, Any]] = {
        "CD22 ADC": {"targets": ("CD22",), "modalities": (ADC,)},
        "CD19 ADC": {"targets": ("CD19",), "modalities": (ADC,)},
        "CD22 CAR-T": {"targets": ("CD22",), "modalities": ("CAR-T",)},
        "CD22": {"targets": ("CD22",)},
        "Revuforj": {"text": "Revuforj"},
        "XYZ-22": {"text": "xyz-22"},  # the therapy's name as written
        "Lineage switch": {"text": "lineage switch"},  # the record's conditions
    }
    with mirror.begin() as conn:
        ids = {name: add_tracker(conn, name, **fields).id for name, fields in wanted.items()}
        store_and_enqueue(conn, [make_event(nct_id) for nct_id in (BLINA_INO, CAR19_INO, CAR22, MENIN, MPAL)])
    with mirror.connect() as conn:
        rows = conn.execute(
            select(trackers.c.id, change_events.c.nct_id).select_from(
                tracker_events.join(trackers, trackers.c.id == tracker_events.c.tracker_id).join(
                    change_events, change_events.c.id == tracker_events.c.event_id
                )
            )
        ).all()
    fired: dict[str, set[str]] = {name: set() for name in wanted}
    names = {tracker_id: name for name, tracker_id in ids.items()}
    for tracker_id, nct_id in rows:
        fired[names[tracker_id]].add(nct_id)
    assert fired == {
        "CD22 ADC": {BLINA_INO, CAR19_INO},
        "CD19 ADC": set(),
        "CD22 CAR-T": {CAR22},  # not the CD19 CAR-T + inotuzumab trial
        "CD22": {BLINA_INO, CAR19_INO, CAR22},
        "Revuforj": {MENIN},
        "XYZ-22": {CAR22},
        "Lineage switch": {MPAL},
    }
