"""A held-out sanity check: sparse records of well-known acute leukemia trials, written here from
public knowledge of those trials (not copied from the gold data), with the labels GUIDELINE.md gives
them. Each record has only what a search result fetched with `fields=` would: titles, conditions,
intervention names and a brief summary.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest

from hemewatch.classification import classify_study, to_guideline_labels

from .conftest import build_sparse_study


class Trial(NamedTuple):
    name: str
    record: dict[str, Any]
    expected: dict[str, Any]


def _expect(
    diseases: list[str],
    modalities: list[str],
    targets: list[str],
    settings: list[str],
    *,
    acute: bool = True,
    immunotherapy: bool,
) -> dict[str, Any]:
    return {
        "acute_leukemia": acute,
        "immunotherapy": immunotherapy,
        "diseases": diseases,
        "modalities": modalities,
        "targets": targets,
        "settings": settings,
    }


TRIALS = (
    Trial(
        "ELIANA: tisagenlecleucel in pediatric r/r B-ALL",
        build_sparse_study(
            title="Study of Efficacy and Safety of CTL019 in Pediatric ALL Patients",
            official_title="A Phase II, Single Arm, Multicenter Trial to Determine the Efficacy and Safety of"
            " CTL019 in Pediatric Patients With Relapsed and Refractory B-cell Acute Lymphoblastic Leukemia",
            conditions=["B-cell Acute Lymphoblastic Leukemia"],
            interventions=["CTL019"],
        ),
        _expect(["B-ALL"], ["CAR-T"], ["CD19"], ["relapsed/refractory"], immunotherapy=True),
    ),
    Trial(
        "ZUMA-3: brexucabtagene autoleucel in adult r/r B-ALL",
        build_sparse_study(
            title="A Study Evaluating KTE-X19 in Adult Participants With Relapsed/Refractory B-precursor"
            " Acute Lymphoblastic Leukemia",
            conditions=["Relapsed/Refractory B-precursor Acute Lymphoblastic Leukemia"],
            interventions=["KTE-X19", "Fludarabine", "Cyclophosphamide"],
            summary="Phase 1 evaluates the safety of KTE-X19 and phase 2 its efficacy in adults with"
            " relapsed or refractory B-precursor acute lymphoblastic leukemia.",
        ),
        # Lymphodepleting fludarabine and cyclophosphamide are listed interventions: chemotherapy.
        _expect(["B-ALL"], ["CAR-T", "chemotherapy"], ["CD19"], ["relapsed/refractory"], immunotherapy=True),
    ),
    Trial(
        "E1910: blinatumomab for MRD-negative adults with newly diagnosed B-ALL",
        build_sparse_study(
            title="Combination Chemotherapy With or Without Blinatumomab in Treating Patients With Newly"
            " Diagnosed BCR-ABL-Negative B Lineage Acute Lymphoblastic Leukemia",
            conditions=["B Acute Lymphoblastic Leukemia"],
            interventions=["Blinatumomab", "Cytarabine", "Daunorubicin", "Methotrexate", "Pegaspargase"],
            summary="This randomized phase III trial studies combination chemotherapy with or without"
            " blinatumomab in adults with newly diagnosed BCR-ABL-negative B lineage acute lymphoblastic"
            " leukemia who are MRD-negative after induction.",
        ),
        _expect(
            ["B-ALL"], ["T-cell engager", "chemotherapy"], ["CD19"], ["newly diagnosed"], immunotherapy=True
        ),
    ),
    Trial(
        "AALL1731: blinatumomab with chemotherapy in children with standard-risk B-ALL",
        build_sparse_study(
            title="A Study to Investigate Blinatumomab in Combination With Chemotherapy in Patients With"
            " Newly Diagnosed B-Lymphoblastic Leukemia",
            conditions=["B Acute Lymphoblastic Leukemia"],
            interventions=["Blinatumomab", "Dexamethasone", "Doxorubicin", "Methotrexate", "Vincristine"],
            summary="This phase III trial studies whether adding blinatumomab to standard chemotherapy"
            " improves outcomes in children with newly diagnosed standard risk B-lymphoblastic leukemia.",
        ),
        _expect(
            ["B-ALL"], ["T-cell engager", "chemotherapy"], ["CD19"], ["newly diagnosed"], immunotherapy=True
        ),
    ),
    Trial(
        "INO-VATE: inotuzumab ozogamicin versus chemotherapy in r/r ALL",
        build_sparse_study(
            title="Inotuzumab Ozogamicin Versus Investigator's Choice of Chemotherapy in Patients With"
            " Relapsed or Refractory Acute Lymphoblastic Leukemia",
            conditions=["Acute Lymphoblastic Leukemia"],
            interventions=[
                "Inotuzumab Ozogamicin",
                "FLAG",
                "Cytarabine and Mitoxantrone",
                "High Dose Cytarabine",
            ],
        ),
        # ALL treated with a CD22-directed therapy is B-ALL.
        _expect(
            ["B-ALL"],
            ["antibody-drug conjugate", "chemotherapy"],
            ["CD22"],
            ["relapsed/refractory"],
            immunotherapy=True,
        ),
    ),
    Trial(
        "FELIX: obecabtagene autoleucel in adult r/r B-ALL",
        build_sparse_study(
            title="A Study of AUTO1 in Adult Patients With Relapsed / Refractory B Cell Acute Lymphoblastic"
            " Leukaemia",
            conditions=["Relapsed / Refractory B Cell Acute Lymphoblastic Leukaemia"],
            interventions=["AUTO1"],
            summary="A phase Ib/II study of AUTO1, a CAR T cell treatment targeting CD19, in adults with"
            " relapsed or refractory B cell acute lymphoblastic leukaemia.",
        ),
        _expect(["B-ALL"], ["CAR-T"], ["CD19"], ["relapsed/refractory"], immunotherapy=True),
    ),
    Trial(
        "CD7 CAR-T in r/r T-ALL",
        build_sparse_study(
            title="CD7 CAR-T Cells for Patients With Relapsed or Refractory T-cell Acute Lymphoblastic"
            " Leukemia",
            conditions=["T-cell Acute Lymphoblastic Leukemia"],
            interventions=["CD7 CAR-T cells"],
        ),
        _expect(["T-ALL"], ["CAR-T"], ["CD7"], ["relapsed/refractory"], immunotherapy=True),
    ),
    Trial(
        "CLL-1 CAR-T in r/r AML",
        build_sparse_study(
            title="Anti-CLL1 CAR-T Cell Therapy in Relapsed or Refractory Acute Myeloid Leukemia",
            conditions=["Acute Myeloid Leukemia"],
            interventions=["CLL1 CAR-T cells"],
        ),
        _expect(["AML"], ["CAR-T"], ["CLL-1"], ["relapsed/refractory"], immunotherapy=True),
    ),
    Trial(
        "ALFA-0701: gemtuzumab ozogamicin with induction chemotherapy in newly diagnosed AML",
        build_sparse_study(
            title="Gemtuzumab Ozogamicin Combined With Daunorubicin and Cytarabine in Newly Diagnosed De Novo"
            " Acute Myeloid Leukemia",
            conditions=["Acute Myeloid Leukemia"],
            interventions=["Gemtuzumab ozogamicin", "Daunorubicin", "Cytarabine"],
        ),
        _expect(
            ["AML"],
            ["antibody-drug conjugate", "chemotherapy"],
            ["CD33"],
            ["newly diagnosed"],
            immunotherapy=True,
        ),
    ),
    Trial(
        "VIALE-A: venetoclax with azacitidine in older or unfit untreated AML",
        build_sparse_study(
            title="A Study of Venetoclax in Combination With Azacitidine Versus Azacitidine in Treatment"
            " Naive Subjects With Acute Myeloid Leukemia Who Are Ineligible for Standard Induction Therapy",
            conditions=["Acute Myeloid Leukemia"],
            interventions=["Venetoclax", "Azacitidine", "Placebo"],
        ),
        _expect(
            ["AML"],
            ["BCL-2 inhibitor", "hypomethylating agent"],
            [],
            ["newly diagnosed"],
            immunotherapy=False,
        ),
    ),
    Trial(
        "AUGMENT-101: revumenib in r/r KMT2A-rearranged or NPM1-mutated acute leukemia",
        build_sparse_study(
            title="A Study of Revumenib in Relapsed or Refractory Acute Leukemias With a KMT2A Rearrangement"
            " or NPM1 Mutation",
            conditions=[
                "Acute Myeloid Leukemia",
                "Acute Lymphoblastic Leukemia",
                "Mixed Phenotype Acute Leukemia",
            ],
            interventions=["Revumenib"],
        ),
        _expect(
            ["ALL", "AML", "MPAL"], ["menin inhibitor"], [], ["relapsed/refractory"], immunotherapy=False
        ),
    ),
    Trial(
        "Daratumumab with chemotherapy in r/r T-ALL",
        build_sparse_study(
            title="Daratumumab With Chemotherapy in Relapsed or Refractory T-cell Acute Lymphoblastic"
            " Leukemia",
            conditions=["T-cell Acute Lymphoblastic Leukemia"],
            interventions=["Daratumumab", "Vincristine", "Prednisone", "PEG-asparaginase", "Doxorubicin"],
        ),
        _expect(
            ["T-ALL"],
            ["chemotherapy", "monoclonal antibody"],
            ["CD38"],
            ["relapsed/refractory"],
            immunotherapy=True,
        ),
    ),
    Trial(
        "A post-authorisation registry of tisagenlecleucel",
        build_sparse_study(
            title="Long-term Follow-up Registry of Patients Treated With Tisagenlecleucel",
            conditions=["B-cell Acute Lymphoblastic Leukemia"],
            summary="This registry collects long-term safety and efficacy data on patients treated with"
            " commercial tisagenlecleucel.",
        ),
        # An observational study about one named drug: non-interventional plus that drug's modality.
        _expect(["B-ALL"], ["CAR-T", "non-interventional"], ["CD19"], [], immunotherapy=True),
    ),
    Trial(
        "ACCL0934: levofloxacin prophylaxis in children with acute leukemia",
        build_sparse_study(
            title="Levofloxacin in Preventing Infection in Young Patients With Acute Leukemia Receiving"
            " Chemotherapy or Undergoing Stem Cell Transplantation",
            conditions=["Acute Leukemia", "Infection"],
            interventions=["Levofloxacin"],
        ),
        # Chemotherapy and transplant are the patients' treatment, not the study's.
        _expect(["acute leukemia"], ["supportive care"], [], [], immunotherapy=False),
    ),
)


@pytest.mark.parametrize("trial", TRIALS, ids=[trial.name for trial in TRIALS])
def test_well_known_trials_classify_as_the_guideline_says(trial: Trial) -> None:
    labels = to_guideline_labels(classify_study(trial.record))
    assert {key: labels[key] for key in trial.expected} == trial.expected
