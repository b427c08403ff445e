"""Negation, history, prior therapy and exclusion criteria: what does not make a tag."""

from __future__ import annotations

from hemewatch.classification import classify_study, to_guideline_labels

from .conftest import StudyBuilder

CD22_CAR = ("BIOLOGICAL", "Autologous anti-CD22 CAR T cells")


def test_prior_cd19_car_t_allowed_is_not_a_cd19_trial(study: StudyBuilder) -> None:
    record = study(
        title="CD22 CAR T cells for relapsed B-ALL",
        conditions=["B-cell Acute Lymphoblastic Leukemia"],
        interventions=[CD22_CAR],
        summary="Patients who relapsed after CD19 CAR-T therapy may take part.",
        eligibility="Inclusion Criteria:\n\n* Relapsed B-ALL\n* Prior CD19 CAR-T allowed\n",
    )
    classification = classify_study(record)
    assert classification.values("target") == ("CD22",)
    assert classification.values("modality") == ("CAR-T",)


def test_excluding_t_all_is_not_a_t_all_trial(study: StudyBuilder) -> None:
    record = study(
        title="Chemotherapy for acute lymphoblastic leukemia",
        conditions=["Acute Lymphoblastic Leukemia"],
        eligibility="Inclusion Criteria:\n\n* Newly diagnosed ALL, excluding T-ALL\n",
    )
    assert "T-ALL" not in classify_study(record).values("disease")


def test_nothing_under_exclusion_criteria_makes_a_tag(study: StudyBuilder) -> None:
    record = study(
        title="Venetoclax in relapsed acute myeloid leukemia",
        conditions=["Acute Myeloid Leukemia"],
        interventions=[("DRUG", "Venetoclax")],
        eligibility=(
            "Inclusion Criteria:\n\n* Relapsed AML\n\n"
            "Exclusion Criteria:\n\n* Acute promyelocytic leukemia\n* Active CNS lymphoma\n"
            "* Prior blinatumomab or CD33 CAR-T cells\n* Newly diagnosed disease\n"
        ),
    )
    labels = to_guideline_labels(classify_study(record))
    assert labels["diseases"] == ["AML"]
    assert labels["modalities"] == ["BCL-2 inhibitor"]
    assert labels["targets"] == []
    assert labels["settings"] == ["relapsed/refractory"]


def test_non_apl_aml_is_not_apl(study: StudyBuilder) -> None:
    record = study(title="Induction for non-APL AML", conditions=["Acute Myeloid Leukemia"])
    assert classify_study(record).values("disease") == ("AML",)


def test_a_disease_the_population_evolved_from_is_history(study: StudyBuilder) -> None:
    record = study(
        title="Azacitidine for secondary AML",
        conditions=["Acute Myeloid Leukemia"],
        eligibility="Inclusion Criteria:\n\n* AML secondary to MDS or with a history of CMML\n",
    )
    assert classify_study(record).values("disease") == ("AML",)


def test_no_prior_therapy_negates_the_therapy_not_the_disease(study: StudyBuilder) -> None:
    record = study(
        title="A frontline study",
        conditions=["Leukemia"],
        eligibility="Inclusion Criteria:\n\n* No prior therapy for acute myeloid leukemia\n",
    )
    labels = to_guideline_labels(classify_study(record))
    assert labels["diseases"] == ["AML"]
    assert labels["settings"] == ["newly diagnosed"]


def test_failed_first_line_therapy_is_relapsed_refractory(study: StudyBuilder) -> None:
    record = study(
        title="Gilteritinib in FLT3-mutated AML",
        conditions=["Acute Myeloid Leukemia"],
        summary="For patients who failed first-line therapy.",
    )
    assert to_guideline_labels(classify_study(record))["settings"] == ["relapsed/refractory"]


def test_relapse_as_an_endpoint_is_not_a_setting(study: StudyBuilder) -> None:
    record = study(
        title="Maintenance azacitidine to prevent relapse after transplant in AML",
        conditions=["Acute Myeloid Leukemia"],
        summary="The primary endpoint is relapse-free survival; the risk of relapse is high.",
    )
    settings = to_guideline_labels(classify_study(record))["settings"]
    assert "relapsed/refractory" not in settings


def test_lymphodepletion_described_with_a_cell_product_is_not_a_study_drug(study: StudyBuilder) -> None:
    record = study(
        title="CD19 CAR T cells in relapsed B-ALL",
        conditions=["B-ALL"],
        interventions=[("BIOLOGICAL", "CD19 CAR-T cells")],
        summary="After lymphodepleting fludarabine and cyclophosphamide, patients receive CAR T cells.",
    )
    assert to_guideline_labels(classify_study(record))["modalities"] == ["CAR-T"]


def test_an_all_caps_title_does_not_make_all_a_disease(study: StudyBuilder) -> None:
    record = study(title="A STUDY FOR ALL PATIENTS WITH CHRONIC MYELOID LEUKEMIA", conditions=["CML"])
    assert classify_study(record).values("disease") == ("CML",)


def test_an_abbreviation_that_is_also_a_word_needs_a_blood_disease(study: StudyBuilder) -> None:
    record = study(
        title="Hydrochlorothiazide in hypertension",
        conditions=["Hypertension"],
        interventions=[("DRUG", "HCT 25 mg")],
        eligibility="Inclusion Criteria:\n\n* ALL of the following must apply\n",
    )
    labels = to_guideline_labels(classify_study(record))
    assert labels["diseases"] == ["other"]
    assert labels["modalities"] == []
    assert labels["acute_leukemia"] is False
