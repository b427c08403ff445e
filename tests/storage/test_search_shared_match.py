"""A search page reads the trials its filters find once (`match_trials`) and shares them between its
facets, its count and its listing: each gives what it gives when it reads the filters itself."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, event

from hemewatch.storage.catalog import (
    FACETS,
    TrialQuery,
    count_trials,
    facets_and_total,
    load_facet_index,
    match_trials,
    search_trials,
)
from hemewatch.storage.text_index import matching_numbers, matching_trials, row_id
from tests.storage.test_paired_and_text import seed_world
from tests.storage.test_search_work import QUERIES


@pytest.fixture
def world(engine: Engine) -> Engine:
    with engine.begin() as conn:
        seed_world(conn)
    return engine


SORTS = ["nct_id", "title", "status", "phase", "last_update", "start_date", "last_change"]


@pytest.mark.parametrize("query", QUERIES)
def test_shared_matches_give_the_same_facets_count_and_pages(world: Engine, query: TrialQuery) -> None:
    with world.connect() as conn:
        matched = match_trials(conn, query)
        assert matched.total == count_trials(conn, query)
        assert facets_and_total(conn, query, FACETS, matched=matched) == facets_and_total(conn, query)
        for sort in SORTS:
            for descending in (True, False):
                for limit, offset in ((2, 0), (2, 2), (None, 0)):
                    page = TrialQuery(**{**vars(query), "sort": sort, "descending": descending})
                    page = TrialQuery(**{**vars(page), "limit": limit, "offset": offset})
                    shared = search_trials(conn, page, matched=matched)
                    alone = search_trials(conn, page)
                    assert [r.nct_id for r in shared] == [r.nct_id for r in alone]
                    assert [r.to_dict() for r in shared] == [r.to_dict() for r in alone]


def test_matches_of_other_filters_are_refused(world: Engine) -> None:
    with world.connect() as conn:
        matched = match_trials(conn, TrialQuery(text="acute"))
        with pytest.raises(ValueError):
            search_trials(conn, TrialQuery(text="acute", status=("RECRUITING",)), matched=matched)
        with pytest.raises(ValueError):
            facets_and_total(conn, TrialQuery(text="inotuzu"), matched=matched)


def test_the_text_index_is_read_once_per_shared_match(world: Engine) -> None:
    query = TrialQuery(text="acute", status=("RECRUITING",), phase=("PHASE2",))
    seen: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "trial_search" in statement.lower() or "hemewatch_text_matches" in statement.lower():
            seen.append(statement)

    with world.connect() as conn:
        table = load_facet_index(conn)  # as the web app keeps it across requests
    event.listen(world, "before_cursor_execute", before)
    try:
        with world.connect() as conn:
            matched = match_trials(conn, query)
            facets_and_total(conn, query, index=table, matched=matched)
            search_trials(conn, TrialQuery(**{**vars(query), "limit": 25}), matched=matched)
    finally:
        event.remove(world, "before_cursor_execute", before)
    assert len(seen) == 1


def test_matching_numbers_are_those_of_the_trials_the_index_selects(world: Engine) -> None:
    with world.connect() as conn:
        index = load_facet_index(conn)
        for text in ("acute", "inotuzu", "acute myeloid leuk", "nothing like this"):
            statement = matching_trials(conn.dialect.name, text)
            assert statement is not None
            selected = sorted(conn.execute(statement).scalars())
            assert selected or text == "nothing like this"
            numbers = matching_numbers(conn, text)
            assert numbers is not None
            assert sorted(numbers.tolist()) == [row_id(nct_id) for nct_id in selected]
            assert index.ids_at(index.of_numbers(numbers).nonzero()[0]) == selected
        assert matching_numbers(conn, "  ,, ") is None
        if conn.dialect.name == "postgresql":
            # The read rules the scan out for its own statement (the function's setting), not after it.
            config = conn.exec_driver_sql(
                "SELECT proconfig FROM pg_proc WHERE proname = 'hemewatch_text_matches'"
            ).scalar_one()
            assert config == ["enable_seqscan=off"]
            assert conn.exec_driver_sql("SHOW enable_seqscan").scalar_one() == "on"
