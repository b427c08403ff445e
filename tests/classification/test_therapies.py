"""Agents by generic, brand, code name and misspelling; targets named in prose; modalities."""

from __future__ import annotations

import pytest

from hemewatch.classification import classify_study, to_guideline_labels

from .conftest import StudyBuilder


def _therapy(
    study: StudyBuilder, *interventions: tuple[str, str], title: str = "A study in leukemia"
) -> dict[str, list[str]]:
    record = study(
        title=title, conditions=["Acute Lymphoblastic Leukemia"], interventions=list(interventions)
    )
    labels = to_guideline_labels(classify_study(record))
    return {"modalities": labels["modalities"], "targets": labels["targets"]}


@pytest.mark.parametrize("name", ["Blinatumomab", "AMG 103", "AMG-103", "MT103", "Blincyto", "blinatumumab"])
def test_blinatumomab_by_any_name_is_a_cd19_t_cell_engager(study: StudyBuilder, name: str) -> None:
    record = study(conditions=["B-ALL"], interventions=[("DRUG", name)])
    classification = classify_study(record)
    assert classification.values("agent") == ("blinatumomab",)
    assert to_guideline_labels(classification)["targets"] == ["CD19"]
    assert to_guideline_labels(classification)["modalities"] == ["T-cell engager"]


@pytest.mark.parametrize("name", ["Inotuzumab ozogamicin", "CMC-544", "Besponsa", "inotuzamab"])
def test_inotuzumab_by_any_name_is_a_cd22_adc(study: StudyBuilder, name: str) -> None:
    assert _therapy(study, ("DRUG", name)) == {"modalities": ["antibody-drug conjugate"], "targets": ["CD22"]}


@pytest.mark.parametrize(
    ("name", "agent", "targets"),
    [
        ("Tisagenlecleucel", "tisagenlecleucel", ["CD19"]),
        ("KTE-X19", "brexucabtagene autoleucel", ["CD19"]),
        ("obe-cel", "obecabtagene autoleucel", ["CD19"]),
        ("Mylotarg", "gemtuzumab ozogamicin", ["CD33"]),
        ("MGD006", "flotetuzumab", ["CD123"]),
        ("XmAb14045", "vibecotamab", ["CD123"]),
        ("SL-401", "tagraxofusp", ["CD123"]),
        ("Hu5F9-G4", "magrolimab", ["CD47"]),
        ("MBG453", "sabatolimab", ["TIM-3"]),
        ("Darzalex", "daratumumab", ["CD38"]),
        ("SAR650984", "isatuximab", ["CD38"]),
    ],
)
def test_immunotherapy_names_resolve_to_agent_and_target(
    study: StudyBuilder, name: str, agent: str, targets: list[str]
) -> None:
    classification = classify_study(study(conditions=["AML"], interventions=[("BIOLOGICAL", name)]))
    assert agent in classification.values("agent")
    assert to_guideline_labels(classification)["targets"] == targets


@pytest.mark.parametrize(
    ("name", "modality"),
    [
        ("SNDX-5613", "menin inhibitor"),
        ("KO-539", "menin inhibitor"),
        ("ABT-199", "BCL-2 inhibitor"),
        ("Iclusig", "tyrosine kinase inhibitor"),
        ("ASP2215", "FLT3 inhibitor"),
        ("AG-221", "IDH inhibitor"),
        ("azactidine", "hypomethylating agent"),
        ("Arranon", "chemotherapy"),
        ("PEG-asparaginase", "chemotherapy"),
        ("ATRA", "other targeted therapy"),
    ],
)
def test_small_molecules_have_a_modality_and_no_target(study: StudyBuilder, name: str, modality: str) -> None:
    assert _therapy(study, ("DRUG", name)) == {"modalities": [modality], "targets": []}


@pytest.mark.parametrize(
    ("name", "modality", "targets"),
    [
        ("Autologous T cells expressing an anti-CD22 chimeric antigen receptor", "CAR-T", ["CD22"]),
        ("CD19/CD22 bispecific CAR T cells", "CAR-T", ["CD19", "CD22"]),
        ("CD19-CD22 CAR-T", "CAR-T", ["CD19", "CD22"]),
        ("Tandem CD19 and CD22 dual-targeting CAR", "CAR-T", ["CD19", "CD22"]),
        ("SCRI-CAR22v2", "CAR-T", ["CD22"]),
        ("CD123-targeted CAR-T cells", "CAR-T", ["CD123"]),
        ("CLEC12A CAR-T", "CAR-T", ["CLL-1"]),
        ("CD371-directed chimeric antigen receptor T cells", "CAR-T", ["CLL-1"]),
        ("IL3RA CAR T", "CAR-T", ["CD123"]),
        ("LILRB4 STAR-T cells", "CAR-T", ["LILRB4"]),
        ("NK cells expressing a CD33 CAR", "CAR-NK", ["CD33"]),
        ("CD33xCD3 bispecific T-cell engager", "T-cell engager", ["CD33"]),
        ("Anti-CD33 monoclonal antibody", "monoclonal antibody", ["CD33"]),
        ("90Y-labelled anti-CD66 monoclonal antibody", "radioimmunoconjugate", ["CD66"]),
        ("Oral CD47 inhibitor", "checkpoint inhibitor", ["CD47"]),
        ("Anti-PD-1 antibody", "checkpoint inhibitor", ["PD-1"]),
    ],
)
def test_targets_named_in_prose(study: StudyBuilder, name: str, modality: str, targets: list[str]) -> None:
    assert _therapy(study, ("BIOLOGICAL", name)) == {"modalities": [modality], "targets": targets}


def test_a_flt3_inhibitor_does_not_target_flt3(study: StudyBuilder) -> None:
    assert _therapy(study, ("DRUG", "Oral FLT3 inhibitor")) == {
        "modalities": ["FLT3 inhibitor"],
        "targets": [],
    }


def test_cd3_is_the_effector_arm_not_a_target(study: StudyBuilder) -> None:
    assert _therapy(study, ("DRUG", "CD19 x CD3 bispecific antibody"))["targets"] == ["CD19"]


def test_expression_of_an_antigen_is_not_a_target(study: StudyBuilder) -> None:
    record = study(
        title="Venetoclax in CD33-positive AML",
        conditions=["AML"],
        interventions=[("DRUG", "Venetoclax")],
        summary="Patients must have CD33 expression on blasts.",
    )
    assert to_guideline_labels(classify_study(record))["targets"] == []


def test_a_generic_name_outside_the_lexicon_is_classed_by_its_stem(study: StudyBuilder) -> None:
    classification = classify_study(study(conditions=["AML"], interventions=[("DRUG", "Zorbatinib")]))
    assert to_guideline_labels(classification)["modalities"] == ["tyrosine kinase inhibitor"]
    # Agent tags are lexicon names; the drug itself is a therapy whose agent is unresolved.
    assert classification.values("agent") == ()
    (therapy,) = classification.therapies
    assert (therapy.name, therapy.agent, therapy.modality) == (
        "Zorbatinib",
        None,
        "tyrosine kinase inhibitor",
    )


def test_transplant_counts_only_when_the_study_gives_it(study: StudyBuilder) -> None:
    bridge = study(
        title="Blinatumomab as a bridge to allogeneic HSCT",
        conditions=["B-ALL"],
        interventions=[("DRUG", "Blinatumomab")],
    )
    transplant = study(
        title="Haploidentical transplantation in AML",
        conditions=["AML"],
        interventions=[("PROCEDURE", "Haploidentical hematopoietic stem cell transplantation")],
    )
    assert to_guideline_labels(classify_study(bridge))["modalities"] == ["T-cell engager"]
    assert to_guideline_labels(classify_study(bridge))["settings"] == ["bridge to HSCT"]
    assert to_guideline_labels(classify_study(transplant))["modalities"] == ["allogeneic HSCT"]


def test_atg_for_gvhd_prophylaxis_is_not_immunotherapy(study: StudyBuilder) -> None:
    record = study(
        conditions=["AML"],
        interventions=[
            ("PROCEDURE", "Allogeneic HSCT"),
            ("DRUG", "Anti-thymocyte globulin"),
            ("DRUG", "Busulfan"),
        ],
    )
    labels = to_guideline_labels(classify_study(record))
    assert labels["immunotherapy"] is False
    assert labels["modalities"] == ["allogeneic HSCT", "chemotherapy"]


def test_a_vaccine_against_an_infection_is_supportive_care(study: StudyBuilder) -> None:
    record = study(
        title="COVID-19 vaccine in patients with acute myeloid leukemia",
        conditions=["COVID-19", "Acute Myeloid Leukemia"],
        interventions=[("BIOLOGICAL", "mRNA-1273 vaccine")],
        purpose="PREVENTION",
    )
    labels = to_guideline_labels(classify_study(record))
    assert labels["modalities"] == ["supportive care"]
    assert labels["immunotherapy"] is False


def test_observational_study_of_one_drug_keeps_its_modality(study: StudyBuilder) -> None:
    record = study(
        title="Real-world use of Besponsa in ALL",
        conditions=["Acute Lymphoblastic Leukemia"],
        study_type="OBSERVATIONAL",
        purpose=None,
    )
    labels = to_guideline_labels(classify_study(record))
    assert labels["modalities"] == ["antibody-drug conjugate", "non-interventional"]
    assert labels["targets"] == ["CD22"]


def test_an_unexplained_code_named_drug_is_unresolved(study: StudyBuilder) -> None:
    # Nothing says what XYZ-123 is: no modality rather than a default guess.
    record = study(conditions=["AML"], interventions=[("DRUG", "XYZ-123"), ("DRUG", "Azacitidine")])
    classification = classify_study(record)
    assert to_guideline_labels(classification)["modalities"] == ["hypomethylating agent"]
    unresolved = [t for t in classification.therapies if t.agent is None]
    assert [(t.name, t.modality, t.role) for t in unresolved] == [("XYZ-123", None, "investigational")]


def test_keywords_explain_a_code_named_drug(study: StudyBuilder) -> None:
    record = study(conditions=["AML"], keywords=["Oral CD47 inhibitor"], interventions=[("DRUG", "QRS-42")])
    labels = to_guideline_labels(classify_study(record))
    assert labels["modalities"] == ["checkpoint inhibitor"]
    assert labels["targets"] == ["CD47"]


def test_outside_cancer_a_code_named_drug_has_no_modality(study: StudyBuilder) -> None:
    record = study(conditions=["Erectile Dysfunction"], interventions=[("DRUG", "PF-00446687")])
    assert to_guideline_labels(classify_study(record))["modalities"] == []
