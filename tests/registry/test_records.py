"""Parsing one study object into a StudyRecord."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest

from hemewatch.errors import InvalidNctId, InvalidRecord
from hemewatch.registry.records import compute_content_hash, normalise_nct_id, parse_study


@pytest.fixture(scope="module")
def study(real_records: Path) -> dict[str, Any]:
    with (real_records / "ctgov" / "studies.jsonl").open("rb") as f:
        return dict(orjson.loads(f.readline()))


def test_parse_a_real_study(study: dict[str, Any]) -> None:
    record = parse_study(study)
    assert record.nct_id == study["protocolSection"]["identificationModule"]["nctId"]
    assert record.last_update_post_date == date.fromisoformat(
        study["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"]
    )
    assert record.version_holder == date.fromisoformat(
        study["derivedSection"]["miscInfoModule"]["versionHolder"]
    )
    assert len(record.content_hash) == 64


def test_hash_ignores_version_holder_and_key_order(study: dict[str, Any]) -> None:
    other = copy.deepcopy(study)
    other["derivedSection"]["miscInfoModule"]["versionHolder"] = "2040-01-01"
    reordered = dict(reversed(list(other.items())))
    assert compute_content_hash(reordered) == compute_content_hash(study)
    assert study["derivedSection"]["miscInfoModule"]["versionHolder"] != "2040-01-01"  # input untouched


def test_hash_changes_with_content(study: dict[str, Any]) -> None:
    other = copy.deepcopy(study)
    other["protocolSection"]["statusModule"]["overallStatus"] = "SUSPENDED"
    assert compute_content_hash(other) != compute_content_hash(study)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ([1, 2], "expected a JSON object"),
        ({"studies": []}, "no protocolSection"),
        ({"protocolSection": {}}, "no protocolSection.identificationModule.nctId"),
        ({"protocolSection": {"identificationModule": {"nctId": "NCT0001"}}}, "invalid NCT id"),
        ({"protocolSection": {"identificationModule": {"nctId": "NCT00000001"}}}, "partial record"),
    ],
)
def test_invalid_records_name_the_problem(value: object, reason: str) -> None:
    with pytest.raises((InvalidRecord, InvalidNctId), match=reason):
        parse_study(value)


@pytest.mark.parametrize("raw", ["nct04530565", " NCT04530565 "])
def test_nct_ids_are_normalised(raw: str) -> None:
    assert normalise_nct_id(raw) == "NCT04530565"


@pytest.mark.parametrize("raw", ["NCT4530565", "NCT045305650", "04530565", "NCT0453056X", ""])
def test_invalid_nct_ids_are_refused(raw: str) -> None:
    with pytest.raises(InvalidNctId, match="eight digits"):
        normalise_nct_id(raw)
