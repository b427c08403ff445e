"""Storing versions: new content only, idempotent, the newest version is current."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, func, select

from hemewatch.registry.records import parse_study
from hemewatch.storage.tables import study_versions, trials
from hemewatch.storage.versions import load_current_study, load_version, store_records

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def studies(real_records: Path) -> list[dict[str, Any]]:
    lines = (real_records / "ctgov" / "studies.jsonl").read_bytes().splitlines()
    return [orjson.loads(line) for line in lines[:30]]


def _count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _with(
    study: dict[str, Any], *, status: str | None = None, posted: str | None = None, holder: str | None = None
) -> dict[str, Any]:
    changed = copy.deepcopy(study)
    if status:
        changed["protocolSection"]["statusModule"]["overallStatus"] = status
    if posted:
        changed["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"] = posted
    if holder:
        changed["derivedSection"]["miscInfoModule"]["versionHolder"] = holder
    return changed


def test_storing_the_same_records_twice_stores_nothing_new(
    engine: Engine, studies: list[dict[str, Any]]
) -> None:
    records = [parse_study(s) for s in studies]
    with engine.begin() as conn:
        first = store_records(conn, records, source="import", now=NOW)
    with engine.begin() as conn:
        second = store_records(conn, records + records, source="import", now=NOW)
    assert len(first.stored) == len(studies) and len(first.new_trials) == len(studies)
    assert second.stored == [] and second.new_trials == [] and second.unchanged == 2 * len(studies)
    assert _count(engine, study_versions) == len(studies)
    assert _count(engine, trials) == len(studies)


def test_a_new_version_holder_alone_is_not_a_new_version(
    engine: Engine, studies: list[dict[str, Any]]
) -> None:
    study = studies[0]
    with engine.begin() as conn:
        store_records(conn, [parse_study(study)], source="sync", now=NOW)
        result = store_records(conn, [parse_study(_with(study, holder="2031-01-01"))], source="sync", now=NOW)
    assert result.stored == [] and result.unchanged == 1
    assert _count(engine, study_versions) == 1


def test_changed_content_becomes_the_current_version(engine: Engine, studies: list[dict[str, Any]]) -> None:
    study = studies[1]
    nct = study["protocolSection"]["identificationModule"]["nctId"]
    updated = _with(study, status="TERMINATED", posted="2030-01-02")
    with engine.begin() as conn:
        first = store_records(conn, [parse_study(study)], source="sync", now=NOW)
        second = store_records(conn, [parse_study(updated)], source="sync", now=NOW)
    (stored,) = second.stored
    assert stored.previous_version_id == first.stored[0].version_id
    assert stored.is_current and not stored.is_new_trial
    with engine.connect() as conn:
        row = conn.execute(select(trials).where(trials.c.nct_id == nct)).one()
        assert row.version_count == 2
        assert row.overall_status == "TERMINATED"
        assert row.current_version_id == stored.version_id
        assert load_current_study(conn, nct) == updated
        assert load_version(conn, first.stored[0].version_id) == study


def test_an_older_version_imported_later_is_kept_but_not_current(
    engine: Engine, studies: list[dict[str, Any]]
) -> None:
    study = studies[2]
    nct = study["protocolSection"]["identificationModule"]["nctId"]
    older = _with(study, status="NOT_YET_RECRUITING", posted="2001-01-01")
    with engine.begin() as conn:
        store_records(conn, [parse_study(study)], source="import", now=NOW)
        late = store_records(conn, [parse_study(older)], source="import", now=NOW)
    assert len(late.stored) == 1 and not late.stored[0].is_current
    with engine.connect() as conn:
        assert load_current_study(conn, nct) == study
        assert conn.execute(select(trials.c.version_count).where(trials.c.nct_id == nct)).scalar_one() == 2


def test_stored_json_is_compressed_and_faithful(engine: Engine, studies: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        result = store_records(conn, [parse_study(s) for s in studies], source="import", now=NOW)
    with engine.connect() as conn:
        sizes = conn.execute(
            select(func.sum(study_versions.c.raw_size), func.sum(func.length(study_versions.c.raw_zstd)))
        ).one()
        for stored, study in zip(result.stored, studies, strict=True):
            assert load_version(conn, stored.version_id) == study
    raw, compressed = sizes
    assert compressed * 2 < raw


def test_a_failed_transaction_leaves_nothing_behind(engine: Engine, studies: list[dict[str, Any]]) -> None:
    with pytest.raises(RuntimeError), engine.begin() as conn:
        store_records(conn, [parse_study(s) for s in studies], source="import", now=NOW)
        raise RuntimeError("killed mid-batch")
    assert _count(engine, study_versions) == 0
    assert _count(engine, trials) == 0
