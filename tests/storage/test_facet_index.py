"""The facet index a search page counts and filters with: every trial's facet values as arrays.

What the index answers must be what SQL answers over the same data (tests/storage/test_text_index.py
checks every count against `count_trials`); these tests pin the index's own edges: an empty mirror,
values told apart only by case, trials it does not hold, pages past the end.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import Engine

from hemewatch.storage.catalog import (
    FACETS,
    TrialQuery,
    count_trials,
    facets_and_total,
    load_facet_index,
    match_trials,
    search_trials,
)
from hemewatch.storage.facet_index import FacetColumn
from hemewatch.storage.runs import data_stamp
from hemewatch.storage.tags import ClassifiedVersion, store_classifications
from hemewatch.storage.versions import store_records
from tests.storage.test_paired_and_text import NOW, WORLD, _record, classification_of, seed_world


def test_an_empty_mirror_has_no_facets_no_trials_and_empty_pages(engine: Engine) -> None:
    with engine.connect() as conn:
        index = load_facet_index(conn)
        assert index.size == 0
        query = TrialQuery(text="acute", status=("RECRUITING",), target=("CD19",), modality=("CAR-T",))
        counts, total = facets_and_total(conn, query, index=index)
        assert total == 0
        assert counts == {name: {} for name in FACETS}
        matched = match_trials(conn, query, index=index)
        assert search_trials(conn, replace(query, limit=25), matched=matched) == []


@pytest.fixture
def world(engine: Engine) -> Engine:
    with engine.begin() as conn:
        seed_world(conn)
    return engine


def test_filters_compare_values_as_sql_does_whatever_their_case(world: Engine) -> None:
    with world.connect() as conn:
        index = load_facet_index(conn)
        everything, _ = facets_and_total(conn, TrialQuery(), index=index)
        status, phase = next(iter(everything["status"])), next(iter(everything["phase"]))
        for query in (
            TrialQuery(disease=("b-all",)),
            TrialQuery(target=("cd19",), modality=("car-t",)),
            TrialQuery(status=(status.lower(),)),
            TrialQuery(phase=(phase.lower(),)),
        ):
            matched = match_trials(conn, query, index=index)
            assert matched.total == count_trials(conn, query) > 0, query


def test_pages_past_the_end_are_empty_and_every_page_is_a_slice_of_the_whole(world: Engine) -> None:
    with world.connect() as conn:
        index = load_facet_index(conn)
        query = TrialQuery(text="acute", sort="title", descending=False, limit=None)
        matched = match_trials(conn, query, index=index)
        everything = [row.nct_id for row in search_trials(conn, query, matched=matched)]
        assert len(everything) == len(WORLD)
        for offset in range(len(WORLD) + 2):
            for limit in (1, 2, 3):
                page = search_trials(conn, replace(query, limit=limit, offset=offset), matched=matched)
                assert [row.nct_id for row in page] == everything[offset : offset + limit]


def test_ranks_leave_unknown_ids_out_and_put_trials_missing_from_the_order_last(world: Engine) -> None:
    with world.connect() as conn:
        index = load_facet_index(conn)
    first, second, *rest = index.nct_ids
    ranks = index.ranks(["NCT99999999", second, first])
    assert ranks[index.positions[second]] < ranks[index.positions[first]]
    assert all(ranks[index.positions[n]] > ranks[index.positions[first]] for n in rest)


def test_nct_numbers_name_the_trials_holding_them_and_no_other(world: Engine) -> None:
    with world.connect() as conn:
        index = load_facet_index(conn)
    numbers = [int(nct_id[3:]) for nct_id in index.nct_ids]
    first, last = min(numbers), max(numbers)
    asked = np.array([last, first, 0, first - 1, last + 1, 99_999_999, first], dtype=np.int64)
    found = index.of_numbers(asked)
    assert index.ids_at(np.flatnonzero(found)) == sorted({f"NCT{first:08d}", f"NCT{last:08d}"})
    assert not index.of_numbers(np.array([], dtype=np.int64)).any()
    # Every trial, by its number: the same set as by its NCT id.
    everyone = index.of_numbers(np.array(numbers[::-1], dtype=np.int64))
    assert everyone.all() and (everyone == index.of_ids(index.nct_ids)).all()


def test_an_empty_index_finds_no_number(engine: Engine) -> None:
    with engine.connect() as conn:
        index = load_facet_index(conn)
    assert index.of_numbers(np.array([1, 90_000_000], dtype=np.int64)).size == 0


def test_a_column_counts_each_trial_once_per_value_and_finds_every_spelling() -> None:
    column = FacetColumn(
        values=("CAR-T", "car-t", "ADC"),
        fold=str.lower,
        folded={"car-t": (0, 1), "adc": (2,)},
        trial=np.array([0, 0, 1, 2, 2], dtype=np.int32),
        value=np.array([0, 2, 1, 0, 2], dtype=np.int32),
    )
    assert column.carriers(["Car-T"], 4).tolist() == [True, True, True, False]
    assert column.carriers(["unknown"], 4).tolist() == [False] * 4
    selected = np.array([True, False, True, True])
    assert column.counts(selected) == {"CAR-T": 2, "ADC": 2}


def test_the_data_stamp_moves_when_a_version_is_classified_again_without_any_tag(world: Engine) -> None:
    # Web pages are cached per data stamp: a classification that adds and removes no tag must move it too.
    with world.begin() as conn:
        untagged = replace(WORLD[0], diseases=(), therapies=())
        (stored,) = store_records(conn, [_record(untagged, 50)], source="import", now=NOW).stored
        classification = classification_of(untagged)
        assert classification.tags == ()
        item = ClassifiedVersion(stored.version_id, stored.nct_id, classification, {})
        store_classifications(conn, [item], now=NOW)
    with world.connect() as conn:
        before = data_stamp(conn)
    with world.begin() as conn:
        store_classifications(conn, [item], now=NOW + timedelta(hours=1))
    with world.connect() as conn:
        assert data_stamp(conn) != before
