"""Accuracy against the expert gold labels, on full records and on minimal ones.

The thresholds are the acceptance bar for the classifier; bench/bench_classify.py prints the figures,
the per-label breakdown and every disagreement.
"""

from __future__ import annotations

from typing import Any

import pytest

from hemewatch.classification import classify_study, to_guideline_labels
from hemewatch.classification.evaluation import Scores, minimal_record, score_labels

FULL_F1 = {"targets": 0.95, "modalities": 0.90, "diseases": 0.90, "settings": 0.85}
FULL_ACCURACY = {"acute_leukemia": 0.95, "immunotherapy": 0.95}
# Minimal records keep titles, conditions, intervention names and the brief summary: no eligibility
# criteria, keywords, arms or study design. They meet the same bar as full records, except diseases:
# where the eligibility criteria alone say which types an umbrella name ("acute leukemia",
# "hematologic malignancies") covers, a minimal record cannot (docs/classification.md, "Minimal records").
MINIMAL_F1 = {"targets": 0.95, "modalities": 0.90, "diseases": 0.85, "settings": 0.85}
MINIMAL_ACCURACY = {"acute_leukemia": 0.95, "immunotherapy": 0.95}


def _score(records: list[dict[str, Any]], gold: list[dict[str, Any]]) -> Scores:
    return score_labels([to_guideline_labels(classify_study(record)) for record in records], gold)


@pytest.fixture(scope="module")
def full_scores(dev_records: list[dict[str, Any]], gold_labels: list[dict[str, Any]]) -> Scores:
    return _score(dev_records, gold_labels)


@pytest.fixture(scope="module")
def minimal_scores(dev_records: list[dict[str, Any]], gold_labels: list[dict[str, Any]]) -> Scores:
    return _score([minimal_record(record) for record in dev_records], gold_labels)


def test_gold_labels_cover_the_dev_records(
    dev_records: list[dict[str, Any]], gold_labels: list[dict[str, Any]]
) -> None:
    record_ids = [record["protocolSection"]["identificationModule"]["nctId"] for record in dev_records]
    assert record_ids == [label["nct_id"] for label in gold_labels]


@pytest.mark.parametrize("field", sorted(FULL_F1))
def test_full_records_meet_the_f1_bar(full_scores: Scores, field: str) -> None:
    assert full_scores.fields[field].f1 >= FULL_F1[field], _report(full_scores, field)


@pytest.mark.parametrize("field", sorted(FULL_ACCURACY))
def test_full_records_meet_the_accuracy_bar(full_scores: Scores, field: str) -> None:
    assert full_scores.accuracy[field] >= FULL_ACCURACY[field], _report(full_scores, field)


@pytest.mark.parametrize("field", sorted(MINIMAL_F1))
def test_minimal_records_meet_the_f1_bar(minimal_scores: Scores, field: str) -> None:
    assert minimal_scores.fields[field].f1 >= MINIMAL_F1[field], _report(minimal_scores, field)


@pytest.mark.parametrize("field", sorted(MINIMAL_ACCURACY))
def test_minimal_records_meet_the_accuracy_bar(minimal_scores: Scores, field: str) -> None:
    assert minimal_scores.accuracy[field] >= MINIMAL_ACCURACY[field], _report(minimal_scores, field)


def test_minimal_record_keeps_only_the_listed_fields(dev_records: list[dict[str, Any]]) -> None:
    protocol = minimal_record(dev_records[0])["protocolSection"]
    assert set(protocol) <= {
        "identificationModule",
        "conditionsModule",
        "armsInterventionsModule",
        "descriptionModule",
    }
    assert set(protocol.get("descriptionModule", {})) <= {"briefSummary"}
    for item in protocol["armsInterventionsModule"]["interventions"]:
        assert set(item) == {"name"}


def _report(scores: Scores, field: str) -> str:
    lines = [f"{field}: see python bench/bench_classify.py"]
    lines += [
        f"{item.nct_id}: expected {list(item.expected)} got {list(item.got)}"
        for item in scores.disagreements
        if item.field == field
    ]
    return "\n".join(lines)
