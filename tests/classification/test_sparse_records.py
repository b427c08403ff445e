"""Rules for sparse records (titles, conditions, intervention names and the brief summary only):
the study design they imply, untyped interventions, transplants named in titles, and what the summary
may add to the diseases."""

from __future__ import annotations

from typing import Any

import pytest

from hemewatch.classification import classify_study, to_guideline_labels

from .conftest import StudyBuilder


def _labels(record: dict[str, Any]) -> dict[str, Any]:
    return to_guideline_labels(classify_study(record))


# -- study design --------------------------------------------------------------------------------


def test_an_empty_intervention_list_means_an_observational_study(sparse_study: StudyBuilder) -> None:
    labels = _labels(sparse_study(title="Outcomes of adults with AML", conditions=["AML"]))
    assert labels["modalities"] == ["non-interventional"]
    evidence = labels["evidence"]["modalities"]["non-interventional"][0]
    assert evidence["path"] == "protocolSection.armsInterventionsModule.interventions"


@pytest.mark.parametrize(
    ("title", "summary"),
    [
        ("A Registry of Patients With Chronic Lymphocytic Leukemia", None),
        ("Real-World Outcomes of Venetoclax in CLL", None),
        ("Venetoclax in CLL", "This observational study describes patients treated with venetoclax."),
        ("Venetoclax in CLL", "A prospective, multicentre, non-interventional study in Germany."),
    ],
)
def test_a_title_or_summary_naming_an_observational_design_means_non_interventional(
    sparse_study: StudyBuilder, title: str, summary: str | None
) -> None:
    record = sparse_study(
        title=title,
        conditions=["Chronic Lymphocytic Leukemia"],
        interventions=["Venetoclax"],
        summary=summary,
    )
    # An observational study about one named drug is non-interventional plus that drug's modality.
    assert _labels(record)["modalities"] == ["BCL-2 inhibitor", "non-interventional"]


def test_background_retrospective_data_in_a_summary_do_not_make_a_study_observational(
    sparse_study: StudyBuilder,
) -> None:
    record = sparse_study(
        title="Venetoclax plus azacitidine in AML",
        conditions=["AML"],
        interventions=["Venetoclax", "Azacitidine"],
        summary="Retrospective series suggest benefit; this trial tests the combination.",
    )
    assert _labels(record)["modalities"] == ["BCL-2 inhibitor", "hypomethylating agent"]


def test_a_stated_interventional_design_is_not_second_guessed(study: StudyBuilder) -> None:
    record = study(
        title="Registry-based randomised trial of venetoclax in AML",
        conditions=["AML"],
        interventions=[("DRUG", "Venetoclax")],
    )
    assert _labels(record)["modalities"] == ["BCL-2 inhibitor"]


def test_a_cancer_study_giving_only_tests_is_observational_and_its_title_phrases_do_not_count(
    sparse_study: StudyBuilder,
) -> None:
    record = sparse_study(
        title="Immune cells and tyrosine kinase inhibitor resistance in CML",
        conditions=["Chronic Myeloid Leukemia"],
        interventions=["Immunophenotyping by flow cytometry"],
    )
    assert _labels(record)["modalities"] == ["non-interventional"]


def test_only_tests_outside_cancer_do_not_make_a_study_observational(sparse_study: StudyBuilder) -> None:
    record = sparse_study(
        title="Cerebral metabolism in cluster headache",
        conditions=["Cluster Headache"],
        interventions=["Biopsy"],
    )
    assert _labels(record)["modalities"] == []


def test_supportive_interventions_alone_make_a_supportive_care_study(sparse_study: StudyBuilder) -> None:
    record = sparse_study(
        title="Frequency of PICC line dressing changes in acute leukemia",
        conditions=["Acute Leukemia"],
        interventions=["Dressing change"],
    )
    labels = _labels(record)
    assert labels["modalities"] == ["supportive care"]
    assert "Dressing change" in [item["text"] for item in labels["evidence"]["modalities"]["supportive care"]]


def test_a_supportive_summary_makes_a_supportive_study_when_nothing_anticancer_is_listed(
    sparse_study: StudyBuilder,
) -> None:
    record = sparse_study(
        title="An intervention for individuals with acute leukemia",
        conditions=["Acute Leukemia"],
        interventions=["Usual care", "EASE"],
        summary="EASE combines psychological support with early palliative care.",
    )
    assert _labels(record)["modalities"] == ["supportive care"]


def test_an_anticancer_drug_listed_means_no_supportive_purpose(sparse_study: StudyBuilder) -> None:
    record = sparse_study(
        title="Azacitidine in older adults with AML",
        conditions=["AML"],
        interventions=["Azacitidine", "Nutritional support"],
    )
    assert _labels(record)["modalities"] == ["hypomethylating agent"]


def test_a_supportive_title_naming_chemotherapy_does_not_make_chemotherapy_studied(
    sparse_study: StudyBuilder,
) -> None:
    record = sparse_study(
        title="Antiemetic prophylaxis in children with ALL receiving chemotherapy",
        conditions=["Acute Lymphoblastic Leukemia"],
        interventions=["Antiemetic prophylaxis"],
    )
    assert _labels(record)["modalities"] == ["supportive care"]


# -- untyped interventions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "modality"),
    [("AUR-1042", None), ("Zorbatinib", "tyrosine kinase inhibitor")],
)
def test_an_untyped_drug_like_name_is_a_therapy(
    sparse_study: StudyBuilder, name: str, modality: str | None
) -> None:
    # A code name nothing explains is an unresolved agent: a therapy without a modality, never a
    # default "other targeted therapy"; a known INN stem classes the drug.
    record = sparse_study(title="A study in lymphoma", conditions=["Lymphoma"], interventions=[name])
    (therapy,) = classify_study(record).therapies
    assert (therapy.name, therapy.agent, therapy.modality) == (name, None, modality)
    assert _labels(record)["modalities"] == ([modality] if modality else [])


def test_an_untyped_name_that_is_not_drug_like_is_not_a_drug(sparse_study: StudyBuilder) -> None:
    record = sparse_study(
        title="Radiation dose in lymphoma", conditions=["Lymphoma"], interventions=["Standard arm"]
    )
    assert _labels(record)["modalities"] == []


# -- transplant named in a title ----------------------------------------------------------------


def test_a_transplant_named_in_the_title_of_a_record_without_arms_is_studied(
    sparse_study: StudyBuilder,
) -> None:
    record = sparse_study(
        title="Allogeneic Stem Cell Transplantation for Children With Acute Lymphoblastic Leukaemia",
        conditions=["Acute Lymphoblastic Leukaemia"],
        interventions=["Busulfan", "Fludarabine", "Thiotepa"],
    )
    assert _labels(record)["modalities"] == ["allogeneic HSCT", "chemotherapy"]


def test_a_transplant_in_a_title_with_arms_counts_only_from_the_arms(study: StudyBuilder) -> None:
    record = study(
        title="Allogeneic stem cell transplantation for children with ALL",
        conditions=["Acute Lymphoblastic Leukemia"],
        interventions=[("DRUG", "Busulfan")],
        arms=[("Busulfan", "Busulfan exposure")],
    )
    assert _labels(record)["modalities"] == ["chemotherapy"]


def test_a_transplant_in_a_supportive_study_title_is_not_studied(sparse_study: StudyBuilder) -> None:
    record = sparse_study(
        title="Prehabilitation exercise for allogeneic hematopoietic stem cell transplant recipients",
        conditions=["Acute Leukemia"],
        interventions=["Prehabilitation"],
    )
    assert _labels(record)["modalities"] == ["supportive care"]


# -- diseases from the summary ------------------------------------------------------------------


def test_a_summary_says_what_an_umbrella_name_covers(sparse_study: StudyBuilder) -> None:
    record = sparse_study(
        title="LBS-007 in relapsed or resistant acute leukaemias",
        conditions=["Relapsed or Resistant Acute Leukaemias"],
        interventions=["LBS-007"],
        summary="Patients with acute lymphoblastic leukaemia (ALL) or acute myeloid leukaemia (AML).",
    )
    assert _labels(record)["diseases"] == ["ALL", "AML"]


def test_a_summary_disease_beside_a_specific_one_is_background(sparse_study: StudyBuilder) -> None:
    record = sparse_study(
        title="Venetoclax with azacitidine in acute leukaemias of ambiguous lineage",
        conditions=["Acute Leukemia of Ambiguous Lineage"],
        interventions=["Venetoclax", "Azacitidine"],
        summary="Venetoclax with azacitidine is standard for older AML patients and active in MDS.",
    )
    assert _labels(record)["diseases"] == ["MPAL"]


def test_a_generic_leukemia_condition_next_to_a_named_type_opens_nothing(sparse_study: StudyBuilder) -> None:
    record = sparse_study(
        title="Cladribine and cytarabine in untreated AML",
        conditions=["Leukemia"],
        interventions=["Cladribine", "Cytarabine"],
        summary="Cladribine is approved for hairy cell leukemia; its use in AML is investigational.",
    )
    assert _labels(record)["diseases"] == ["AML"]


def test_a_summary_gives_the_lineages_of_all(sparse_study: StudyBuilder) -> None:
    record = sparse_study(
        title="Nutrition in childhood leukemia",
        conditions=["Acute Lymphoblastic Leukemia"],
        interventions=["Diet"],
        summary="Eligible patients have newly diagnosed B- or T-cell acute lymphoblastic leukemia.",
    )
    assert _labels(record)["diseases"] == ["B-ALL", "T-ALL"]


def test_b_or_t_all_in_inclusion_criteria_is_the_population(study: StudyBuilder) -> None:
    record = study(
        title="A study in relapsed leukemias",
        conditions=["Relapsed Leukemia"],
        interventions=[("BIOLOGICAL", "Dendritic cell vaccine")],
        eligibility="Inclusion Criteria:\n- Acute lymphoblastic leukemia (B-cell or T-cell ALL)\n",
    )
    assert _labels(record)["diseases"] == ["B-ALL", "T-ALL"]
