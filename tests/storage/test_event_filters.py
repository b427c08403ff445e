"""Change events filtered by registry date range and by their trial's tags and countries, paged,
on SQLite and PostgreSQL, over the demo data."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine

from hemewatch.storage.catalog import TrialQuery, search_trials
from hemewatch.storage.events import EventFilter, list_events


def _trials(engine: Engine, query: TrialQuery) -> set[str]:
    with engine.connect() as conn:
        return {row.nct_id for row in search_trials(conn, query)}


def _events(engine: Engine, where: EventFilter, **options: Any) -> list[tuple[int, str]]:
    with engine.connect() as conn:
        return [(e.id, e.event.nct_id) for e in list_events(conn, where, **options)]


@pytest.mark.parametrize(
    ("where", "query"),
    [
        (EventFilter(diseases=("aml",)), TrialQuery(disease=("AML",), limit=None)),
        (EventFilter(targets=("CD19",)), TrialQuery(target=("CD19",), limit=None)),
        (EventFilter(modalities=("CAR-T",)), TrialQuery(modality=("CAR-T",), limit=None)),
        (
            EventFilter(targets=("CD22",), modalities=("CAR-T",)),
            TrialQuery(target=("CD22",), modality=("CAR-T",), limit=None),
        ),
        (EventFilter(countries=("united states",)), TrialQuery(country=("United States",), limit=None)),
        (
            EventFilter(diseases=("B-ALL",), countries=("United States", "China")),
            TrialQuery(disease=("B-ALL",), country=("United States", "China"), limit=None),
        ),
    ],
)
def test_trial_filters_pick_the_events_of_the_matching_trials(
    demo: Engine, where: EventFilter, query: TrialQuery
) -> None:
    everything = _events(demo, EventFilter(include_administrative=True))
    chosen = _events(demo, replace(where, include_administrative=True))
    matching = _trials(demo, query)
    assert chosen and matching
    assert chosen == [(i, n) for i, n in everything if n in matching]


def test_a_country_is_matched_whole_and_like_wildcards_are_literal(demo: Engine) -> None:
    assert _events(demo, EventFilter(countries=("United",))) == []
    assert _events(demo, EventFilter(countries=("%",))) == []
    assert _events(demo, EventFilter(countries=("United_States",))) == []


def test_a_date_range_bounds_the_registry_date(demo: Engine) -> None:
    with demo.connect() as conn:
        inside = list_events(conn, EventFilter(since=date(2025, 7, 8), until=date(2025, 7, 8)))
        before = list_events(conn, EventFilter(until=date(2025, 7, 7)))
        every = list_events(conn, EventFilter())
    assert inside and all(e.event.registry_date == date(2025, 7, 8) for e in inside)
    assert all(e.event.registry_date is not None and e.event.registry_date < date(2025, 7, 8) for e in before)
    assert len(inside) + len(before) == len(every)


def test_pages_by_offset_cover_the_listing_once(demo: Engine) -> None:
    where = EventFilter(include_administrative=True)
    every = _events(demo, where, by_registry_date=True)
    pages = [_events(demo, where, by_registry_date=True, limit=7, offset=o) for o in range(0, len(every), 7)]
    assert len(every) > 7
    assert [item for page in pages for item in page] == every
