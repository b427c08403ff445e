"""The full-text index of trials, on SQLite (FTS5) and PostgreSQL (tsvector with GIN).

It follows each trial's current version and tags, finds drugs by every lexicon name, never lets a
search text be read as query syntax, is built for databases made before it, and the facets counted
in one pass agree with what choosing each value finds.
"""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from alembic import command
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, event, func, inspect, select
from sqlalchemy.engine import Connection

from hemewatch.storage import engine as storage_engine
from hemewatch.storage import text_index
from hemewatch.storage.catalog import (
    FACETS,
    TrialQuery,
    count_trials,
    facets,
    load_facet_index,
    search_trials,
)
from hemewatch.storage.engine import current_revision, head_revision, migrate
from hemewatch.storage.tables import trial_search, trials
from hemewatch.storage.tags import ClassifiedVersion, store_classifications
from hemewatch.storage.text_index import fts5_query, matching_trials, tsquery, words
from hemewatch.storage.versions import store_records
from tests.storage.test_paired_and_text import (
    BLINA_INO,
    CAR19_INO,
    CAR22,
    MENIN,
    MPAL,
    NOW,
    WORLD,
    Seed,
    _record,
    classification_of,
    labels_of,
    seed_world,
    therapy,
)

EVERY_TRIAL = {BLINA_INO, CAR19_INO, CAR22, MENIN, MPAL}


@pytest.fixture
def world(engine: Engine) -> Engine:
    with engine.begin() as conn:
        seed_world(conn)
    return engine


def indexed(conn: Connection, text: str) -> set[str]:
    """What the full-text index alone finds (no lexicon reading of the text, no tags)."""
    statement = matching_trials(conn.dialect.name, text)
    return set() if statement is None else set(conn.execute(statement).scalars())


def found(conn: Connection, **filters: Any) -> set[str]:
    return {row.nct_id for row in search_trials(conn, TrialQuery(limit=None, **filters))}


def document_of(conn: Connection, nct_id: str) -> str:
    return str(
        conn.execute(select(trial_search.c.document).where(trial_search.c.nct_id == nct_id)).scalar_one()
    )


def reclassify(conn: Connection, seed: Seed) -> None:
    """Store a new classification of the trial's current version (as a re-tagging does)."""
    version_id = conn.execute(
        select(trials.c.current_version_id).where(trials.c.nct_id == seed.nct_id)
    ).scalar_one()
    classification = classification_of(seed)
    store_classifications(
        conn, [ClassifiedVersion(version_id, seed.nct_id, classification, labels_of(classification))], now=NOW
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("revumenib", {MENIN}),
        ("Revuforj", {MENIN}),  # a brand the record never writes: the agent's lexicon names
        ("SNDX-5613", {MENIN}),  # a code name as written
        ("sndx5613", {MENIN}),  # ... and without its hyphen
        ("revum", {MENIN}),  # the start of a word
        ("Blincyto", {BLINA_INO}),
        ("Besponsa", {BLINA_INO, CAR19_INO}),  # written in one record, a brand of the other's agent
        ("inotuzu", {BLINA_INO, CAR19_INO}),
        ("Aucatzyl", {CAR19_INO}),
        ("xyz-22 car", {CAR22}),  # an intervention as written, no lexicon entry
        ("lineage switch", {MPAL}),  # conditions and keywords
        ("Lineage-Switch", {MPAL}),
        ("switch lineage", set()),  # words in their order
        ("Mixed Phenotype Acute", {MPAL}),
        (MENIN, {MENIN}),
        (MENIN.lower(), {MENIN}),
        ("NCT9000000", EVERY_TRIAL),  # the start of NCT ids
        ("90000004", {MENIN}),  # the NCT number alone
        ("ACUTE leukémia", EVERY_TRIAL),  # case and accents folded: every title says "acute leukemia"
        ("treatment in acute", EVERY_TRIAL),
        ("x" * 300, set()),  # longer than any word the index keeps
    ],
)
def test_the_index_finds_titles_conditions_drug_names_and_ids(
    world: Engine, text: str, expected: set[str]
) -> None:
    with world.connect() as conn:
        assert indexed(conn, text) == expected


def test_the_index_follows_new_versions(world: Engine) -> None:
    renamed = Seed(
        CAR22, ("T-cell lymphoblastic lymphoma",), ("T-ALL",), (therapy("Daratumumab", None, None),)
    )
    with world.connect() as conn:
        before = document_of(conn, CAR22)
    assert "xyz 22 car t cells" in before and "b all" in before
    with world.begin() as conn:
        result = store_records(
            conn,
            [_record(renamed, 2, posted="2026-11-15", title="Zanzibar protocol for relapse")],
            source="sync",
            now=NOW - timedelta(days=1),
        )
        (stored,) = result.stored
        assert stored.is_current
        # The new version is indexed at once (its title and conditions), before it is classified.
        assert indexed(conn, "zanzibar protocol") == {CAR22}
        assert indexed(conn, "lymphoblastic lymphoma") == {CAR22}
        assert indexed(conn, "xyz-22") == set()
        reclassify(conn, renamed)
    with world.connect() as conn:
        assert indexed(conn, "daratumumab") == {CAR22}
        assert found(conn, text="zanzibar") == {CAR22}
        assert found(conn, text="xyz-22") == set()
        # One row per trial, whatever the number of its versions.
        assert conn.execute(select(func.count()).select_from(trial_search)).scalar_one() == len(WORLD)


def test_an_older_version_arriving_late_changes_nothing(world: Engine) -> None:
    late = Seed(MPAL, ("Late capture condition",), ("MPAL",), ())
    with world.begin() as conn:
        before = document_of(conn, MPAL)
        result = store_records(
            conn, [_record(late, 4, posted="2020-01-01", title="Old title")], source="sync", now=NOW
        )
        assert [s.is_current for s in result.stored] == [False]
        assert document_of(conn, MPAL) == before
        assert indexed(conn, "old title") == set()


def test_the_index_follows_re_tagging(world: Engine) -> None:
    ziftomenib = Seed(
        MENIN, ("Acute Myeloid Leukemia",), ("AML",), (therapy("KO-539", "ziftomenib", "menin inhibitor"),)
    )
    with world.begin() as conn:
        reclassify(conn, ziftomenib)
    with world.connect() as conn:
        document = document_of(conn, MENIN)
        assert "revuforj" not in document and "komzifti" in document
        assert indexed(conn, "Komzifti") == {MENIN}  # the new agent's brand
        assert indexed(conn, "KO539") == {MENIN}
        assert indexed(conn, "Revuforj") == set()
        assert found(conn, text="Revuforj") == set()
        assert found(conn, text="ziftomenib") == {MENIN}


def test_trials_leaving_scope_leave_search(world: Engine) -> None:
    with world.begin() as conn:
        store_records(
            conn,
            [_record(WORLD[4], 4, posted="2026-11-20")],
            source="sync",
            now=NOW,
            in_scope={MPAL: False},
        )
    with world.connect() as conn:
        assert found(conn, text="lineage switch") == set()
        assert found(conn, text="lineage switch", in_scope_only=False) == {MPAL}
        assert count_trials(conn, TrialQuery(text="lineage switch")) == 0


HOSTILE = [
    '"',
    "'",
    '""',
    "''",
    'a"b',
    "it's",
    "NEAR(blinatumomab inotuzumab)",
    "blinatumomab NEAR/2 inotuzumab",
    "*",
    "**",
    "revu*",
    "*revu",
    "-revumenib",
    "revumenib AND",
    "OR",
    "AND OR NOT",
    "NOT revumenib",
    "(",
    ")",
    "((a)",
    "{document}: x",
    "document:revumenib",
    "^revumenib",
    "a + b",
    "\\",
    "%",
    "_",
    "a & b | !c <-> d:*",
    "'a':* & !",
    "ünïcødé",
    "日本語の試験",
    "🙂",
    "a\x00b",
    "\t\n",
    "x" * 3000,
    " ".join(["leukemia"] * 200),
    "SELECT * FROM trials; --",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_search_texts_never_fail(world: Engine, text: str) -> None:
    with world.connect() as conn:
        listed = found(conn, text=text)
        assert listed <= EVERY_TRIAL
        assert count_trials(conn, TrialQuery(text=text)) == len(listed)
        counts = facets(conn, TrialQuery(text=text))
        assert sum(counts["status"].values()) == len(listed)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"mixed phenotype"', {MPAL}),
        ("(xyz-22)", {CAR22}),
        ("Revuforj!", {MENIN}),
        ("lineage* switch", {MPAL}),
        ("NEAR(lineage switch)", set()),
    ],
)
def test_syntax_in_a_search_text_is_read_as_words(world: Engine, text: str, expected: set[str]) -> None:
    with world.connect() as conn:
        assert found(conn, text=text) == expected


def test_query_texts_hold_only_quoted_words() -> None:
    assert words("SNDX-5613 «Revuforj» Leukämie_x") == ["sndx", "5613", "revuforj", "leukamie", "x"]
    assert fts5_query('a" OR NEAR(b') == '"a or near b"*'
    assert tsquery("a' & b:*") == "'a' <-> 'b':*"
    assert fts5_query("\"'*()") is None and tsquery("") is None


QUERIES = [
    TrialQuery(),
    TrialQuery(text="acute leukemia"),
    TrialQuery(text="acute leukemia", disease=("B-ALL",)),
    TrialQuery(target=("CD19",)),
    TrialQuery(modality=("CAR-T",), target=("CD22", "CD19")),
    TrialQuery(disease=("B-ALL",), modality=("antibody-drug conjugate",), agent=("inotuzumab ozogamicin",)),
]


@pytest.mark.parametrize("query", QUERIES)
def test_facets_counted_in_one_pass_are_what_choosing_finds(world: Engine, query: TrialQuery) -> None:
    with world.connect() as conn:
        status = next(iter(facets(conn, TrialQuery())["status"]))
        phases = list(facets(conn, TrialQuery())["phase"])
        # Record filters too: each facet leaves its own filter out, every other one holds.
        for chosen in (query, replace(query, status=(status,)), replace(query, phase=tuple(phases[:1]))):
            counts = facets(conn, chosen)
            assert facets(conn, chosen, index=load_facet_index(conn)) == counts
            assert set(counts) == set(FACETS)
            for name, values in counts.items():
                for value, count in values.items():
                    assert count == count_trials(conn, replace(chosen, **{name: (value,)})), (
                        chosen,
                        name,
                        value,
                    )
            total = count_trials(conn, replace(chosen, status=()))
            assert sum(counts["status"].values()) == total


def test_every_facet_comes_from_one_read_of_the_matching_trials(world: Engine) -> None:
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # Reads only: PostgreSQL's index read runs in a savepoint with its own planner setting.
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "SET ", "ROLLBACK", "RELEASE")):
            statements.append(statement)

    chosen = TrialQuery(
        text="acute leukemia",
        disease=("B-ALL",),
        phase=("PHASE2",),
        status=("COMPLETED",),
        country=("France",),
    )
    paired = replace(chosen, target=("CD19",), modality=("CAR-T",))
    with world.connect() as conn:
        index = load_facet_index(conn)
        event.listen(conn, "before_cursor_execute", seen)
        counted = [facets(conn, chosen, index=index), facets(conn, paired, index=index)]
        with_index = len(statements)
        alone = [facets(conn, chosen), facets(conn, paired)]
        event.remove(conn, "before_cursor_execute", seen)
    # Per call: the text index is read once; every filter and facet is then looked up in the facet
    # index. With no index kept, it is read first (the trials, then their tags).
    assert with_index == 2
    assert len(statements) - with_index == 6
    assert counted == alone


def test_the_migration_builds_the_index_of_an_existing_database(world: Engine) -> None:
    with world.connect() as conn:
        documents = {row.nct_id: row.document for row in conn.execute(select(trial_search))}
    assert set(documents) == EVERY_TRIAL
    with world.begin() as conn:
        config = storage_engine._alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, "0008")
    assert "trial_search" not in inspect(world).get_table_names()

    migrate(world)

    with world.connect() as conn:
        assert current_revision(conn) == head_revision()
        rebuilt = {row.nct_id: row.document for row in conn.execute(select(trial_search))}
        assert rebuilt == documents
        assert indexed(conn, "Revuforj") == {MENIN}
        assert found(conn, text="lineage switch") == {MPAL}
    # And it keeps following the data afterwards.
    with world.begin() as conn:
        store_records(
            conn, [_record(WORLD[0], 0, posted="2026-11-18", title="Quokka study")], source="sync", now=NOW
        )
    with world.connect() as conn:
        assert indexed(conn, "quokka") == {BLINA_INO}


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=60))
def test_ascii_text_gives_the_words_the_unicode_path_gives(text: str) -> None:
    # The ASCII shortcut must read exactly what decomposing and case-folding would.
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    assert words(text) == [w for w in text_index._WORD_SPLIT.split(bare.casefold()) if w]
