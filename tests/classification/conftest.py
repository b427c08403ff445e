"""Fixtures for the classifier tests: the gold data, the bundled lexicon and a study builder."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest

from hemewatch.classification import Lexicon, default_lexicon

StudyBuilder = Callable[..., dict[str, Any]]


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Read one JSON object per line."""
    with path.open("rb") as handle:
        return [orjson.loads(line) for line in handle if line.strip()]


@pytest.fixture(scope="session")
def gold_dir(real_records: Path) -> Path:
    """The gold-label folder of the bundled real data."""
    return real_records / "gold"


@pytest.fixture(scope="session")
def dev_records(gold_dir: Path) -> list[dict[str, Any]]:
    """The 149 labelled ClinicalTrials.gov records."""
    return read_jsonl(gold_dir / "dev_records.jsonl")


@pytest.fixture(scope="session")
def gold_labels(gold_dir: Path) -> list[dict[str, Any]]:
    """The expert labels of the dev records, in the same order."""
    return read_jsonl(gold_dir / "labels.jsonl")


@pytest.fixture(scope="session")
def lexicon() -> Lexicon:
    """The bundled lexicon."""
    return default_lexicon()


@pytest.fixture(scope="session")
def lexicon_dir() -> Path:
    """The folder of the bundled lexicon files."""
    return Path(__file__).resolve().parents[2] / "src" / "hemewatch" / "classification" / "lexicons"


def build_study(
    *,
    title: str = "A study",
    official_title: str | None = None,
    conditions: Sequence[str] = (),
    keywords: Sequence[str] = (),
    interventions: Sequence[tuple[str, str] | tuple[str, str, Sequence[str]]] = (),
    arms: Sequence[tuple[str, str]] = (),
    summary: str | None = None,
    eligibility: str | None = None,
    study_type: str = "INTERVENTIONAL",
    purpose: str | None = "TREATMENT",
    minimum_age: str | None = None,
    maximum_age: str | None = None,
    std_ages: Sequence[str] = ("ADULT",),
) -> dict[str, Any]:
    """Build a v2 study record with only the given fields; interventions are (type, name[, other names])."""
    identification: dict[str, Any] = {"nctId": "NCT00000001", "briefTitle": title}
    if official_title:
        identification["officialTitle"] = official_title
    listed = []
    for item in interventions:
        entry: dict[str, Any] = {"type": item[0], "name": item[1]}
        if len(item) == 3:
            entry["otherNames"] = list(item[2])
        listed.append(entry)
    eligibility_module: dict[str, Any] = {"stdAges": list(std_ages)}
    if eligibility:
        eligibility_module["eligibilityCriteria"] = eligibility
    if minimum_age:
        eligibility_module["minimumAge"] = minimum_age
    if maximum_age:
        eligibility_module["maximumAge"] = maximum_age
    design: dict[str, Any] = {"studyType": study_type}
    if purpose:
        design["designInfo"] = {"primaryPurpose": purpose}
    protocol: dict[str, Any] = {
        "identificationModule": identification,
        "conditionsModule": {"conditions": list(conditions), "keywords": list(keywords)},
        "designModule": design,
        "armsInterventionsModule": {
            "interventions": listed,
            "armGroups": [{"label": label, "description": text} for label, text in arms],
        },
        "eligibilityModule": eligibility_module,
    }
    if summary:
        protocol["descriptionModule"] = {"briefSummary": summary}
    return {"protocolSection": protocol}


@pytest.fixture
def study() -> StudyBuilder:
    """A builder for small synthetic study records."""
    return build_study


def build_sparse_study(
    *,
    title: str = "A study",
    official_title: str | None = None,
    conditions: Sequence[str] = (),
    interventions: Sequence[str] = (),
    summary: str | None = None,
) -> dict[str, Any]:
    """Build a record as sparse as `minimal_record` makes them: titles, conditions, intervention names
    (no types) and the brief summary; no design, arms, eligibility or keywords."""
    identification: dict[str, Any] = {"nctId": "NCT00000002", "briefTitle": title}
    if official_title:
        identification["officialTitle"] = official_title
    protocol: dict[str, Any] = {
        "identificationModule": identification,
        "conditionsModule": {"conditions": list(conditions)},
        "armsInterventionsModule": {"interventions": [{"name": name} for name in interventions]},
    }
    if summary:
        protocol["descriptionModule"] = {"briefSummary": summary}
    return {"protocolSection": protocol}


@pytest.fixture
def sparse_study() -> StudyBuilder:
    """A builder for sparse synthetic records (titles, conditions, intervention names, summary)."""
    return build_sparse_study
