"""Eligibility facts are stored wherever tags are (sync, import); reclassify redoes them for a new parser."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, delete, func, select

from hemewatch.classification import default_lexicon
from hemewatch.eligibility.parse import PARSER_VERSION, parse_eligibility
from hemewatch.pipeline import tagging
from hemewatch.pipeline.importing import import_files
from hemewatch.pipeline.reclassify import reclassify
from hemewatch.pipeline.syncing import run_sync
from hemewatch.registry.client import RegistryClient
from hemewatch.registry.scope import load_scope
from hemewatch.storage.codec import decompress_json
from hemewatch.storage.eligibility import current_facts
from hemewatch.storage.tables import classifications, eligibility_facts, study_versions, trials
from tests.fakeapi.server import FakeRegistryServer


@pytest.fixture(scope="module")
def lines(real_records: Path) -> list[bytes]:
    return (real_records / "ctgov" / "studies.jsonl").read_bytes().splitlines()[:30]


def _classified_ids(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return {row.nct_id for row in conn.execute(select(classifications.c.nct_id))}


def _assert_current_facts_are_the_parsers(engine: Engine) -> int:
    """Every classified trial's stored facts equal what the parser reads from its stored record."""
    checked = 0
    with engine.connect() as conn:
        rows = conn.execute(
            select(trials.c.nct_id, study_versions.c.raw_zstd)
            .select_from(trials.join(study_versions, study_versions.c.id == trials.c.current_version_id))
            .where(trials.c.in_scope.is_(True))
        ).all()
        for nct_id, blob in rows:
            study: dict[str, Any] = decompress_json(blob)
            assert current_facts(conn, nct_id) == list(parse_eligibility(study)), nct_id
            checked += 1
    return checked


def _fact_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(eligibility_facts)).scalar_one())


# 0: prepared in this process; 2: by worker processes, whose facts travel back with the labels.
@pytest.mark.parametrize("workers", [0, 2])
def test_an_import_stores_the_facts_of_the_trials_it_classifies(
    engine: Engine, tmp_path: Path, lines: list[bytes], workers: int
) -> None:
    (tmp_path / "a.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    import_files(engine, [tmp_path], scope=load_scope(), workers=workers)
    assert _assert_current_facts_are_the_parsers(engine) > 0
    assert _fact_rows(engine) > len(_classified_ids(engine))
    with engine.connect() as conn:
        fact_trials = {row.nct_id for row in conn.execute(select(eligibility_facts.c.nct_id).distinct())}
        labels = [row.labels for row in conn.execute(select(classifications.c.labels))]
    assert fact_trials <= _classified_ids(engine)  # the same set that gets tags
    assert all(tagging.FACTS_LABEL not in item for item in labels)  # not stored twice


def test_a_sync_stores_facts(engine: Engine, fake_api: FakeRegistryServer, client: RegistryClient) -> None:
    run = run_sync(engine, client, load_scope())
    assert run.status == "completed"
    assert _assert_current_facts_are_the_parsers(engine) > 0
    assert _fact_rows(engine) > 0


def test_reclassify_redoes_facts_when_the_parser_version_changes(
    engine: Engine, tmp_path: Path, lines: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    import_files(engine, [tmp_path], scope=load_scope(), workers=0)
    stored = _fact_rows(engine)
    with engine.begin() as conn:
        conn.execute(delete(eligibility_facts))
    # Same lexicon, same parser: nothing is stale, nothing redone.
    assert reclassify(engine, lexicon=default_lexicon()) == 0
    assert _fact_rows(engine) == 0
    monkeypatch.setattr(tagging, "PARSER_VERSION", PARSER_VERSION + 1)
    redone = reclassify(engine, lexicon=default_lexicon())
    assert redone == len(_classified_ids(engine)) > 0
    assert _fact_rows(engine) == stored
    with engine.connect() as conn:
        versions = {row.lexicon_version for row in conn.execute(select(classifications.c.lexicon_version))}
    assert versions == {f"{default_lexicon().version}+facts.{PARSER_VERSION + 1}"}
    assert reclassify(engine, lexicon=default_lexicon()) == 0


def test_the_stored_version_names_lexicon_and_parser(lines: list[bytes]) -> None:
    classification, labels = tagging.classify_version(orjson.loads(lines[0]), default_lexicon())
    assert classification.lexicon_version == tagging.tagging_version(default_lexicon().version)
    assert classification.lexicon_version.endswith(f"+facts.{PARSER_VERSION}")
    assert isinstance(labels[tagging.FACTS_LABEL], list)
