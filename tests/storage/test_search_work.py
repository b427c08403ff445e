"""Work a search and a write do once, not twice: one text-index refresh per writer transaction, the
search page's count taken from its facet pass, and search-text readings kept per text.

Each change keeps the results: the same rows, the same counts, the same suggestions as before.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.engine import Connection

from hemewatch.classification.lexicon import default_lexicon
from hemewatch.classification.terms import canonical
from hemewatch.pipeline.ingest import ingest_batch
from hemewatch.registry.records import parse_study
from hemewatch.registry.scope import load_scope
from hemewatch.storage import text_index
from hemewatch.storage.catalog import (
    FACETS,
    TrialQuery,
    count_trials,
    facets,
    facets_and_total,
    search_trials,
)
from hemewatch.storage.runs import start_run, utc_now
from hemewatch.storage.tables import trial_search, trials
from hemewatch.storage.tags import ClassifiedVersion, store_classifications
from hemewatch.storage.text_search import _names, suggest_names
from hemewatch.storage.versions import store_records
from tests.storage.test_paired_and_text import (
    MENIN,
    NOW,
    WORLD,
    Seed,
    _record,
    classification_of,
    labels_of,
    seed_world,
    therapy,
)


@pytest.fixture
def world(engine: Engine) -> Engine:
    with engine.begin() as conn:
        seed_world(conn)
    return engine


@contextmanager
def index_rebuilds(engine: Engine) -> Iterator[list[str]]:
    """The statements that delete text-index rows (one per refresh of up to 500 trials), as they run."""
    seen: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("DELETE FROM TRIAL_SEARCH "):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


def documents(conn: Connection) -> dict[str, str]:
    return {
        row.nct_id: row.document
        for row in conn.execute(select(trial_search.c.nct_id, trial_search.c.document))
    }


def _new_version_and_tags(conn: Connection) -> None:
    """A new version of MENIN (new title) and then its classification (a new agent), as a sync stores them."""
    renamed = Seed(
        MENIN, ("Acute Myeloid Leukemia",), ("AML",), (therapy("KO-539", "ziftomenib", "menin inhibitor"),)
    )
    result = store_records(
        conn, [_record(renamed, 3, posted="2026-11-20", title="Zanzibar protocol")], source="sync", now=NOW
    )
    (stored,) = result.stored
    classification = classification_of(renamed)
    store_classifications(
        conn,
        [ClassifiedVersion(stored.version_id, MENIN, classification, labels_of(classification))],
        now=NOW,
    )


def test_a_deferred_block_rebuilds_each_row_once_from_the_final_state(world: Engine) -> None:
    with index_rebuilds(world) as rebuilt, world.begin() as conn:
        _new_version_and_tags(conn)
    # Without the block: one rebuild after the version, another after its tags.
    assert len(rebuilt) == 2
    with index_rebuilds(world) as rebuilt, world.begin() as conn:
        with text_index.deferred(conn):
            renamed = Seed(
                MENIN,
                ("Acute Myeloid Leukemia",),
                ("AML",),
                (therapy("SNDX-5613", "revumenib", "menin inhibitor"),),
            )
            result = store_records(
                conn,
                [_record(renamed, 3, posted="2026-11-25", title="Kilimanjaro protocol")],
                source="sync",
                now=NOW,
            )
            (stored,) = result.stored
            classification = classification_of(renamed)
            store_classifications(
                conn,
                [ClassifiedVersion(stored.version_id, MENIN, classification, labels_of(classification))],
                now=NOW,
            )
            # Inside the block nothing is rebuilt yet.
            assert "kilimanjaro" not in documents(conn)[MENIN]
        assert len(rebuilt) == 1
        document = documents(conn)[MENIN]
        assert "kilimanjaro protocol" in document and "revuforj" in document and "komzifti" not in document
        # The row is what a full rebuild makes of the final state.
        before = documents(conn)
        text_index.rebuild(conn)
        assert documents(conn) == before


def test_a_failed_block_refreshes_nothing_and_leaves_no_pending_trials(world: Engine) -> None:
    with world.connect() as conn:
        before = documents(conn)
    with pytest.raises(RuntimeError), world.begin() as conn, text_index.deferred(conn):
        _new_version_and_tags(conn)
        raise RuntimeError("the batch failed")
    with world.connect() as conn:
        assert documents(conn) == before
    with index_rebuilds(world) as rebuilt, world.begin() as conn:
        _new_version_and_tags(conn)
        assert "zanzibar protocol" in documents(conn)[MENIN]
    # Outside any block each step refreshes at once, as before.
    assert len(rebuilt) == 2


def test_an_ingested_batch_rebuilds_the_index_once(engine: Engine, real_records: Path) -> None:
    lines = (real_records / "ctgov" / "studies.jsonl").read_bytes().splitlines()[:12]
    studies = [parse_study(orjson.loads(line)) for line in lines]
    with index_rebuilds(engine) as rebuilt, engine.begin() as conn:
        run_id = start_run(conn, kind="full")
        outcome, _ = ingest_batch(
            conn,
            studies,
            scope=load_scope(),
            source="sync",
            run_id=run_id,
            now=utc_now(),
            keep_out_of_scope=True,
            baseline=True,
        )
    assert outcome.stored == len(studies)
    assert len(rebuilt) == 1
    with engine.begin() as conn:
        stored = documents(conn)
        assert set(stored) == {s.nct_id for s in studies}
        # Built after the tags: every row is what a full rebuild makes (agent names included).
        text_index.rebuild(conn)
        assert documents(conn) == stored


QUERIES = [
    TrialQuery(text="acute"),
    TrialQuery(text="acute", status=("RECRUITING",)),
    TrialQuery(text="inotuzu", phase=("PHASE2",), status=("RECRUITING", "COMPLETED")),
    TrialQuery(text="Besponsa", disease=("B-ALL",)),
    TrialQuery(target=("CD19",), modality=("CAR-T",)),
    TrialQuery(text="nothing like this"),
    TrialQuery(in_scope_only=False, country=("United States",)),
]


@pytest.mark.parametrize("query", QUERIES)
def test_the_facet_pass_counts_what_the_count_counts(world: Engine, query: TrialQuery) -> None:
    with world.connect() as conn:
        counted, total = facets_and_total(conn, query)
        assert total == count_trials(conn, query)
        assert counted == facets(conn, query, FACETS)


@pytest.mark.parametrize(
    "sort", ["nct_id", "title", "status", "phase", "last_update", "start_date", "last_change"]
)
@pytest.mark.parametrize("descending", [True, False])
def test_pages_are_the_rows_of_the_full_listing_in_order(world: Engine, sort: Any, descending: bool) -> None:
    with world.connect() as conn:
        everything = search_trials(
            conn, TrialQuery(text="acute", sort=sort, descending=descending, limit=None)
        )
        assert len(everything) == len(WORLD)
        pages = [
            search_trials(
                conn, TrialQuery(text="acute", sort=sort, descending=descending, limit=2, offset=offset)
            )
            for offset in range(0, len(WORLD), 2)
        ]
        assert [row.nct_id for page in pages for row in page] == [row.nct_id for row in everything]
        # Every row carries its labels and newest change, as read for the page.
        assert all(row.labels for row in everything)
        ids = conn.execute(select(trials.c.nct_id).order_by(trials.c.nct_id)).scalars().all()
        assert sorted(row.nct_id for row in everything) == list(ids)


def _suggest_over_every_name(text: str, limit: int = 3) -> list[Any]:
    """suggest_names as difflib reads it over every name (the reference the faster reading must equal)."""
    names = _names(default_lexicon())
    wanted = canonical(text)
    if not wanted:
        return []
    tries = [wanted, *(canonical(word) for word in text.split() if len(word) >= 4)]
    found: list[Any] = []
    for attempt in dict.fromkeys(tries):
        for key in difflib.get_close_matches(attempt, list(names), n=limit, cutoff=0.75):
            if key == wanted:
                continue
            for suggestion in names[key]:
                if suggestion not in found:
                    found.append(suggestion)
        if found:
            break
    return found[:limit]


@pytest.mark.parametrize(
    "text",
    [
        "blinatumomb",
        "venetoclx",
        "gilterinib",
        "CD1",
        "CD193",
        "flt",
        "acute myelod leukemia",
        "revumenb x",
        "a",
        "zzzzzzzz",
        "Philadelphia",
    ],
)
def test_suggestions_are_those_of_every_name(text: str) -> None:
    lexicon = default_lexicon()
    expected = _suggest_over_every_name(text)
    assert suggest_names(text, lexicon) == expected
    assert suggest_names(text, lexicon) == expected  # kept, and a copy each time
    assert any(_suggest_over_every_name(t) for t in ("blinatumomb", "venetoclx"))
