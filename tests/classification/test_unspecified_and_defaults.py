"""Unspecified leukemia names (Ph-positive leukemias, childhood leukemia, myeloid-only therapies) and
the settings a study implies (engineered cell therapy, first-in-human studies, maintenance, remission)."""

from __future__ import annotations

from typing import Any

import pytest

from hemewatch.classification import classify_study, to_guideline_labels

from .conftest import StudyBuilder


def _labels(record: dict[str, Any]) -> dict[str, Any]:
    return to_guideline_labels(classify_study(record))


# -- unspecified leukemia -----------------------------------------------------------------------


def test_ph_positive_leukemias_are_cml_and_ph_positive_all(sparse_study: StudyBuilder) -> None:
    record = sparse_study(
        title="Kinase domain mutations in Ph-positive leukemias", conditions=["Leukemia"], interventions=[]
    )
    labels = _labels(record)
    assert labels["diseases"] == ["ALL", "CML", "Ph+ ALL"]
    assert labels["acute_leukemia"] is True


def test_ph_positive_leukemia_in_a_record_naming_cml_is_that_cml(study: StudyBuilder) -> None:
    record = study(
        title="Asciminib in Ph+ chronic myeloid leukemia",
        conditions=["Chronic Myeloid Leukemia"],
        keywords=["Ph1 Positive Leukemia"],
        interventions=[("DRUG", "Asciminib")],
    )
    assert _labels(record)["diseases"] == ["CML"]


@pytest.mark.parametrize(
    ("title", "maximum_age"),
    [
        ("Virtual reality for lumbar punctures in children with leukemia", None),
        ("Translational research in childhood leukemia", None),
        ("Virtual reality for lumbar punctures in leukemia", "17 Years"),
    ],
)
def test_leukemia_in_children_is_acute_leukemia(
    study: StudyBuilder, title: str, maximum_age: str | None
) -> None:
    record = study(
        title=title,
        conditions=["Leukemia"],
        interventions=[("OTHER", "Virtual reality")],
        maximum_age=maximum_age,
        std_ages=("CHILD",),
    )
    labels = _labels(record)
    assert labels["diseases"] == ["acute leukemia"]
    assert labels["acute_leukemia"] is True


def test_leukemia_in_adults_stays_unspecified(study: StudyBuilder) -> None:
    record = study(
        title="Collection of blood from adults with leukemia",
        conditions=["Leukemia"],
        interventions=[("OTHER", "Blood sample")],
    )
    labels = _labels(record)
    assert labels["diseases"] == ["other"]
    assert labels["acute_leukemia"] is False


def test_leukemia_treated_with_a_myeloid_only_drug_is_aml(sparse_study: StudyBuilder) -> None:
    record = sparse_study(
        title="Tegavivint for relapsed or refractory leukemia",
        conditions=["Recurrent Leukemia"],
        interventions=["Decitabine", "Tegavivint"],
    )
    assert _labels(record)["diseases"] == ["AML"]


def test_a_myeloid_only_drug_does_not_resolve_leukemia_when_a_disease_is_named(
    sparse_study: StudyBuilder,
) -> None:
    record = sparse_study(
        title="Decitabine in myelodysplastic syndromes",
        conditions=["Leukemia", "Myelodysplastic Syndromes"],
        interventions=["Decitabine"],
    )
    assert _labels(record)["diseases"] == ["MDS"]


# -- settings -----------------------------------------------------------------------------------


def test_an_engineered_cell_therapy_without_a_stated_setting_is_relapsed(sparse_study: StudyBuilder) -> None:
    record = sparse_study(
        title="CAR T cells targeting CD19 in B-cell leukemia and lymphoma",
        conditions=["Leukemia", "Lymphoma"],
        interventions=["Chimeric antigen receptor modified T cells targeting CD19"],
    )
    labels = _labels(record)
    assert labels["settings"] == ["relapsed/refractory"]


@pytest.mark.parametrize("phase", ["A Phase 1 Study", "A First-in-Human Study", "A Dose-Escalation Study"])
def test_an_early_phase_study_of_a_new_agent_is_relapsed(sparse_study: StudyBuilder, phase: str) -> None:
    record = sparse_study(
        title=f"{phase} of BMF-500 in Adults With Acute Leukemia",
        conditions=["Acute Myeloid Leukemia"],
        interventions=["BMF-500"],
    )
    labels = _labels(record)
    assert labels["settings"] == ["relapsed/refractory"]
    assert labels["evidence"]["settings"]["relapsed/refractory"][0]["path"].endswith("briefTitle")


@pytest.mark.parametrize(
    ("title", "conditions", "interventions"),
    [
        # A stated setting wins.
        ("A Phase 1 Study of BMF-500 in Newly Diagnosed AML", ["AML"], ["BMF-500"]),
        # Later phases say nothing.
        ("A Phase 2 Study of BMF-500 in AML", ["AML"], ["BMF-500"]),
        # Lower-risk MDS is treated for cytopenias, not after relapse.
        ("A Phase 1b Study of Enasidenib for Anemia in Lower-Risk MDS", ["MDS"], ["Enasidenib"]),
        # A first-in-human transplant procedure is given in remission.
        (
            "A First-in-Human Study of Deceased Donor Bone Marrow Transplantation",
            ["Acute Leukemia"],
            ["Busulfan", "Bone Marrow Transplant"],
        ),
    ],
)
def test_no_default_setting_where_the_study_says_or_implies_otherwise(
    sparse_study: StudyBuilder, title: str, conditions: list[str], interventions: list[str]
) -> None:
    settings = _labels(sparse_study(title=title, conditions=conditions, interventions=interventions))[
        "settings"
    ]
    assert "relapsed/refractory" not in settings


def test_an_observational_study_gets_no_default_setting(sparse_study: StudyBuilder) -> None:
    record = sparse_study(title="A registry of CAR-T cell therapy in B-ALL", conditions=["B-ALL"])
    assert _labels(record)["settings"] == []


def test_maintenance_in_newly_diagnosed_disease_is_a_maintenance_study(sparse_study: StudyBuilder) -> None:
    record = sparse_study(
        title="Iberdomide Maintenance Versus Lenalidomide Maintenance in Newly Diagnosed Multiple Myeloma",
        conditions=["Multiple Myeloma"],
        interventions=["Iberdomide", "Lenalidomide"],
    )
    assert _labels(record)["settings"] == ["consolidation/maintenance", "newly diagnosed"]


def test_consolidation_after_induction_is_a_phase_of_a_frontline_programme(
    sparse_study: StudyBuilder,
) -> None:
    record = sparse_study(
        title="Cladribine Induction Followed by Consolidation in Untreated AML",
        conditions=["AML"],
        interventions=["Cladribine", "Cytarabine"],
    )
    assert _labels(record)["settings"] == ["newly diagnosed"]


def test_complete_morphological_remission_is_consolidation(sparse_study: StudyBuilder) -> None:
    record = sparse_study(
        title="Stem cell transplantation for children with ALL",
        conditions=["Acute Lymphoblastic Leukaemia"],
        interventions=["Treosulfan"],
        summary="For children with ALL in complete morphological remission with an indication for HSCT.",
    )
    assert _labels(record)["settings"] == ["consolidation/maintenance"]


@pytest.mark.parametrize("title", ["Blinatumomab in r/r B-ALL", "BLINATUMOMAB IN R/R B-CELL ALL"])
def test_r_slash_r_in_any_case_is_relapsed(sparse_study: StudyBuilder, title: str) -> None:
    record = sparse_study(title=title, conditions=["B-cell ALL"], interventions=["Blinatumomab"])
    assert _labels(record)["settings"] == ["relapsed/refractory"]
