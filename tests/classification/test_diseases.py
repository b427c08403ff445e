"""Diseases and subtypes, and how they map onto the guideline vocabulary."""

from __future__ import annotations

import pytest

from hemewatch.classification import classify_study, to_guideline_labels

from .conftest import StudyBuilder


@pytest.mark.parametrize(
    ("condition", "diseases"),
    [
        ("B-cell Acute Lymphoblastic Leukaemia", ["B-ALL"]),
        ("Precursor B-lymphoblastic leukemia/lymphoma", ["B-ALL"]),
        ("Early T-cell precursor acute lymphoblastic leukemia", ["T-ALL"]),
        ("Philadelphia chromosome-positive (Ph+) acute lymphoblastic leukemia", ["ALL", "Ph+ ALL"]),
        ("Ph-like ALL", ["B-ALL", "Ph-like ALL"]),
        ("Ph-negative B-ALL", ["B-ALL"]),
        ("Acute myeloid leukemia with FLT3-ITD", ["AML"]),
        ("Acute promyelocytic leukemia", ["APL"]),
        ("Mixed phenotype acute leukemia", ["MPAL"]),
        ("Acute leukemia of ambiguous lineage", ["MPAL"]),
        ("Acute leukemia", ["acute leukemia"]),
        ("Chronic myeloid leukemia in myeloid blast crisis", ["CML"]),
        ("Chronic lymphocytic leukemia", ["CLL"]),
        ("Myelodysplastic syndromes", ["MDS"]),
        ("Multiple myeloma", ["myeloma"]),
        ("Diffuse large B-cell lymphoma", ["lymphoma"]),
        ("Juvenile myelomonocytic leukemia", ["other"]),
        ("Type 2 diabetes", ["other"]),
    ],
)
def test_condition_maps_to_guideline_diseases(
    study: StudyBuilder, condition: str, diseases: list[str]
) -> None:
    assert to_guideline_labels(classify_study(study(conditions=[condition])))["diseases"] == diseases


def test_internal_tags_are_richer_than_the_guideline(study: StudyBuilder) -> None:
    classification = classify_study(study(conditions=["ETP-ALL", "KMT2A-rearranged acute myeloid leukemia"]))
    assert {"ETP-ALL", "T-ALL", "AML", "KMT2A-rearranged"} <= set(classification.values("disease"))
    assert to_guideline_labels(classification)["diseases"] == ["AML", "T-ALL"]


def test_lineage_named_after_all_makes_b_and_t_all(study: StudyBuilder) -> None:
    record = study(
        conditions=["Leukemia"],
        eligibility="Inclusion Criteria:\n\n* Acute lymphoblastic leukemia (B-cell or T-cell)\n",
    )
    assert to_guideline_labels(classify_study(record))["diseases"] == ["B-ALL", "T-ALL"]


def test_unspecified_leukemia_treated_with_a_cd19_car_is_b_all(study: StudyBuilder) -> None:
    record = study(conditions=["Leukemia"], interventions=[("BIOLOGICAL", "Anti-CD19 CAR T cells")])
    labels = to_guideline_labels(classify_study(record))
    assert labels["diseases"] == ["B-ALL"]
    assert labels["acute_leukemia"] is True


def test_myeloid_malignancy_treated_with_a_cd123_engager_is_aml(study: StudyBuilder) -> None:
    record = study(conditions=["Myeloid Malignancies"], interventions=[("DRUG", "Flotetuzumab")])
    assert to_guideline_labels(classify_study(record))["diseases"] == ["AML"]


def test_all_treated_with_a_b_cell_antigen_therapy_is_b_all(study: StudyBuilder) -> None:
    record = study(
        conditions=["Acute Lymphoblastic Leukemia"], interventions=[("DRUG", "Inotuzumab ozogamicin")]
    )
    assert to_guideline_labels(classify_study(record))["diseases"] == ["B-ALL"]


def test_eligible_diagnoses_are_listed(study: StudyBuilder) -> None:
    record = study(
        title="Haploidentical transplant in hematologic malignancies",
        conditions=["Hematologic Malignancies"],
        eligibility="Inclusion Criteria:\n\n* AML, ALL or MDS in remission\n",
    )
    labels = to_guideline_labels(classify_study(record))
    assert labels["diseases"] == ["ALL", "AML", "MDS"]
    assert labels["acute_leukemia"] is True


def test_chronic_leukemias_alone_are_not_acute(study: StudyBuilder) -> None:
    record = study(
        conditions=["Hairy Cell Leukemia", "T-cell prolymphocytic leukemia", "Aggressive NK-cell leukemia"]
    )
    labels = to_guideline_labels(classify_study(record))
    assert labels["acute_leukemia"] is False
    assert labels["diseases"] == ["other"]
