"""Reading records, evidence that points at real fields, and the guideline label set."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hemewatch.classification import classify_study, to_guideline_labels
from hemewatch.classification.record import read_study, split_eligibility
from hemewatch.errors import InvalidRecord

from .conftest import StudyBuilder, build_study

_STEP = re.compile(r"([^.\[\]]+)(?:\[(\d+)\])?")


def _resolve(record: dict[str, Any], path: str) -> object:
    value: object = record
    for name, index in _STEP.findall(path):
        assert isinstance(value, dict), path
        value = value[name]
        if index:
            assert isinstance(value, list), path
            value = value[int(index)]
    return value


def test_every_evidence_path_points_at_a_field_holding_its_text(dev_records: list[dict[str, Any]]) -> None:
    checked = 0
    for record in dev_records:
        for tag in classify_study(record).tags:
            for evidence in tag.evidence:
                value = _resolve(record, evidence.path)
                text = ", ".join(value) if isinstance(value, list) else str(value)
                assert evidence.text in text, (tag, evidence)
                checked += 1
    assert checked > 1000


def test_guideline_labels_have_exactly_the_guideline_keys(dev_records: list[dict[str, Any]]) -> None:
    labels = to_guideline_labels(classify_study(dev_records[0]))
    assert set(labels) == {
        "nct_id",
        "acute_leukemia",
        "immunotherapy",
        "diseases",
        "modalities",
        "targets",
        "settings",
        "evidence",
    }
    for field in ("diseases", "modalities", "targets", "settings"):
        assert labels[field] == sorted(labels[field])
        assert set(labels["evidence"][field]) == set(labels[field])
        for proofs in labels["evidence"][field].values():
            assert proofs and all(set(proof) == {"path", "text"} for proof in proofs)


def test_classification_carries_the_lexicon_version(study: StudyBuilder) -> None:
    from hemewatch.classification import default_lexicon

    assert classify_study(study()).lexicon_version == default_lexicon().version


def test_classification_helpers(study: StudyBuilder) -> None:
    classification = classify_study(study(conditions=["AML"], interventions=[("DRUG", "Venetoclax")]))
    assert classification.values("agent") == ("venetoclax",)
    assert classification.has("disease", "AML")
    assert classification.get("disease", "CML") is None
    assert [tag.value for tag in classification.tags_of("modality")] == ["BCL-2 inhibitor"]


@pytest.mark.parametrize("study_record", [{}, {"protocolSection": "x"}, []])
def test_a_non_record_is_rejected(study_record: Any) -> None:
    with pytest.raises(InvalidRecord):
        read_study(study_record)


def test_eligibility_is_split_at_section_headers() -> None:
    text = (
        "Key Inclusion Criteria:\n* AML\n* Patient meets the inclusion criteria for trial entry\n"
        "Key Exclusion Criteria:\n* APL\nDonor Inclusion Criteria\n* healthy sibling\n"
    )
    parts = [(part.strip().splitlines()[0], excluded) for part, excluded in split_eligibility(text)]
    assert parts == [("* AML", False), ("* APL", True), ("* healthy sibling", True)]


def test_read_study_gives_paths_roles_and_facts(dev_records: list[dict[str, Any]]) -> None:
    facts, segments = read_study(dev_records[3])
    assert facts.nct_id == "NCT02349698"
    assert facts.study_type == "INTERVENTIONAL"
    assert facts.minimum_age == 4.0 and facts.maximum_age == 75.0
    roles = {segment.role for segment in segments}
    assert {"title", "condition", "intervention", "summary", "inclusion", "exclusion"} <= roles
    assert any(s.path == "protocolSection.armsInterventionsModule.interventions[0].name" for s in segments)


_WORDS = st.sampled_from(
    [
        "acute",
        "myeloid",
        "leukemia",
        "ALL",
        "B-ALL",
        "relapsed",
        "refractory",
        "no",
        "prior",
        "CD19",
        "CAR-T",
        "anti-CD22",
        "blinatumomab",
        "excluding",
        "after",
        "HSCT",
        "Ph+",
        "é",
        "≥",
        "(",
        ")",
        ",",
        ".",
        "\n",
        "*",
    ]
)
_TEXT = st.lists(_WORDS, max_size=30).map(" ".join)


@settings(max_examples=200)
@given(title=_TEXT, condition=_TEXT, intervention=_TEXT, eligibility=_TEXT)
def test_any_text_classifies_with_evidence_from_its_fields(
    title: str, condition: str, intervention: str, eligibility: str
) -> None:
    record = build_study(
        title=title or "x",
        conditions=[condition] if condition.strip() else [],
        interventions=[("DRUG", intervention)] if intervention.strip() else [],
        eligibility=eligibility,
    )
    for tag in classify_study(record).tags:
        for evidence in tag.evidence:
            value = _resolve(record, evidence.path)
            text = ", ".join(value) if isinstance(value, list) else str(value)
            assert evidence.text in text
