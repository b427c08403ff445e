"""Therapies: each studied intervention as agent -> modality -> targets, with its role in the trial."""

from __future__ import annotations

from typing import Any

from hemewatch.classification import classify_study, to_guideline_labels
from hemewatch.classification.model import Therapy

from .conftest import StudyBuilder


def _therapies(record: dict[str, Any]) -> dict[str, Therapy]:
    return {therapy.name: therapy for therapy in classify_study(record).therapies}


def _with_arms(
    record: dict[str, Any], arms: list[tuple[str, str, list[str]]], *, allocation: str = "RANDOMIZED"
) -> dict[str, Any]:
    """Link the record's interventions to typed arms: (label, type, intervention names)."""
    module = record["protocolSection"]["armsInterventionsModule"]
    module["armGroups"] = [
        {"label": label, "type": kind, "interventionNames": [f"Drug: {n}" for n in names]}
        for label, kind, names in arms
    ]
    for item in module["interventions"]:
        item["armGroupLabels"] = [label for label, _, names in arms if item["name"] in names]
    record["protocolSection"]["designModule"]["designInfo"]["allocation"] = allocation
    return record


def test_each_agent_is_a_therapy_with_its_own_target(study: StudyBuilder) -> None:
    record = study(
        conditions=["B-cell Acute Lymphoblastic Leukemia"],
        interventions=[("BIOLOGICAL", "Blinatumomab"), ("DRUG", "Inotuzumab Ozogamicin")],
    )
    therapies = _therapies(record)
    blin, ino = therapies["Blinatumomab"], therapies["Inotuzumab Ozogamicin"]
    assert (blin.agent, blin.modality, blin.targets) == ("blinatumomab", "T-cell engager", ("CD19",))
    assert (ino.agent, ino.modality, ino.targets) == (
        "inotuzumab ozogamicin",
        "antibody-drug conjugate",
        ("CD22",),
    )
    assert blin.pairs == (("CD19", "T-cell engager"),)
    assert ("CD19", "antibody-drug conjugate") not in blin.pairs + ino.pairs
    assert blin.evidence and blin.evidence[0].path.endswith("interventions[0].name")


def test_a_code_named_car_t_is_read_from_its_description(study: StudyBuilder) -> None:
    record = study(
        conditions=["T-cell Acute Lymphoblastic Leukemia"],
        interventions=[("BIOLOGICAL", "QX-0707 injection")],
    )
    item = record["protocolSection"]["armsInterventionsModule"]["interventions"][0]
    item["description"] = "Autologous T cells expressing a chimeric antigen receptor directed against CD7."
    (therapy,) = classify_study(record).therapies
    assert (therapy.name, therapy.agent, therapy.modality, therapy.targets) == (
        "QX-0707 injection",
        None,
        "CAR-T",
        ("CD7",),
    )


def test_a_title_says_what_the_only_unexplained_product_is(study: StudyBuilder) -> None:
    record = study(
        title="CD7 CAR-T Cells in Relapsed T-ALL",
        conditions=["T-ALL"],
        interventions=[("BIOLOGICAL", "QX-0707 injection"), ("DRUG", "Fludarabine")],
    )
    therapies = _therapies(record)
    product = therapies["QX-0707 injection"]
    assert (product.modality, product.targets, product.role) == ("CAR-T", ("CD7",), "investigational")
    assert therapies["Fludarabine"].role == "lymphodepletion"
    assert len(therapies) == 2  # the title's CAR-T is the listed product, not a third therapy


def test_an_antigen_the_population_must_express_targets_a_cell_product(study: StudyBuilder) -> None:
    record = study(
        title="Chimeric Antigen Receptor T Cells for Relapsed Leukemia",
        conditions=["CD19-positive Relapsed Leukemia"],
        interventions=[("BIOLOGICAL", "QX-19 cells")],
    )
    (therapy,) = classify_study(record).therapies
    assert (therapy.modality, therapy.targets) == ("CAR-T", ("CD19",))


def test_nothing_said_means_unresolved(study: StudyBuilder) -> None:
    record = study(conditions=["AML"], interventions=[("DRUG", "QX-4242")])
    classification = classify_study(record)
    (therapy,) = classification.therapies
    assert (therapy.agent, therapy.modality, therapy.targets) == (None, None, ())
    assert to_guideline_labels(classification)["modalities"] == []


def test_lymphodepletion_before_car_t(study: StudyBuilder) -> None:
    record = study(
        conditions=["B-ALL"],
        interventions=[
            ("DRUG", "Fludarabine"),
            ("DRUG", "Cyclophosphamide"),
            ("BIOLOGICAL", "Tisagenlecleucel"),
        ],
    )
    therapies = _therapies(record)
    assert therapies["Fludarabine"].role == "lymphodepletion"
    assert therapies["Cyclophosphamide"].role == "lymphodepletion"
    assert therapies["Tisagenlecleucel"].role == "investigational"
    assert therapies["Tisagenlecleucel"].targets == ("CD19",)


def test_chemotherapy_before_a_transplant_is_conditioning(study: StudyBuilder) -> None:
    record = study(
        conditions=["AML"],
        interventions=[
            ("DRUG", "Busulfan"),
            ("PROCEDURE", "Allogeneic Hematopoietic Stem Cell Transplantation"),
        ],
    )
    therapies = _therapies(record)
    assert therapies["Busulfan"].role == "conditioning"
    assert therapies["Allogeneic Hematopoietic Stem Cell Transplantation"].role == "investigational"


def test_chemotherapy_an_agent_is_added_to_is_the_backbone(study: StudyBuilder) -> None:
    record = study(
        conditions=["B-ALL"],
        interventions=[("DRUG", "Cytarabine"), ("BIOLOGICAL", "Blinatumomab"), ("DRUG", "Filgrastim")],
    )
    therapies = _therapies(record)
    assert therapies["Cytarabine"].role == "backbone"
    assert therapies["Blinatumomab"].role == "investigational"
    assert therapies["Filgrastim"].role == "supportive"


def test_supportive_drugs_are_investigational_in_a_supportive_care_study(study: StudyBuilder) -> None:
    record = study(conditions=["AML"], interventions=[("DRUG", "Posaconazole")], purpose="PREVENTION")
    (therapy,) = classify_study(record).therapies
    assert therapy.role == "investigational"


def test_the_standard_arm_of_a_randomised_trial_is_the_comparator(study: StudyBuilder) -> None:
    record = study(
        conditions=["B-ALL"],
        interventions=[("BIOLOGICAL", "Blinatumomab"), ("DRUG", "Inotuzumab Ozogamicin")],
    )
    record = _with_arms(
        record,
        [
            ("Blinatumomab", "EXPERIMENTAL", ["Blinatumomab"]),
            ("Standard", "ACTIVE_COMPARATOR", ["Inotuzumab Ozogamicin"]),
        ],
    )
    therapies = _therapies(record)
    assert therapies["Blinatumomab"].role == "investigational"
    assert therapies["Inotuzumab Ozogamicin"].role == "comparator"


def test_an_arm_shared_by_both_sides_is_not_a_comparator(study: StudyBuilder) -> None:
    record = study(conditions=["AML"], interventions=[("DRUG", "Venetoclax"), ("DRUG", "Azacitidine")])
    record = _with_arms(
        record,
        [
            ("Combination", "EXPERIMENTAL", ["Venetoclax", "Azacitidine"]),
            ("Azacitidine alone", "ACTIVE_COMPARATOR", ["Azacitidine"]),
        ],
    )
    therapies = _therapies(record)
    assert therapies["Azacitidine"].role == "investigational"
    assert therapies["Venetoclax"].role == "investigational"


def test_a_cd19_car_t_outside_cancer_is_still_a_cd19_car_t(study: StudyBuilder) -> None:
    record = study(
        title="CD19 CAR-T Cells for Refractory Systemic Lupus Erythematosus",
        conditions=["Systemic Lupus Erythematosus"],
        interventions=[("BIOLOGICAL", "CD19 CAR-T cells")],
    )
    (therapy,) = classify_study(record).therapies
    assert (therapy.modality, therapy.targets) == ("CAR-T", ("CD19",))


def test_therapies_survive_their_json_form(study: StudyBuilder) -> None:
    record = study(conditions=["B-ALL"], interventions=[("BIOLOGICAL", "Blinatumomab")])
    (therapy,) = classify_study(record).therapies
    assert Therapy.from_dict(therapy.to_dict()) == therapy
