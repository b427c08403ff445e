"""The drug / mechanism line: from therapies (agent, class, targets, role), or from tags for old data."""

from __future__ import annotations

import pytest

from hemewatch.classification.lexicon import default_lexicon
from hemewatch.classification.model import ROLES, Evidence, Role, Therapy
from hemewatch.web.mechanism import (
    describe_therapy,
    described_modalities,
    mechanism_line,
    shown_diseases,
    therapy_line,
)

LEXICON = default_lexicon()


def _therapy(
    name: str,
    agent: str | None = None,
    modality: str | None = None,
    *,
    drug_class: str | None = None,
    targets: tuple[str, ...] = (),
    role: Role = "investigational",
) -> Therapy:
    return Therapy(name, agent, modality, drug_class, targets, role, (Evidence("path", name),))


OBE_CEL = _therapy("Obe-cel", "obecabtagene autoleucel", "CAR-T", targets=("CD19",))
BLINATUMOMAB = _therapy("Blincyto", "blinatumomab", "T-cell engager", targets=("CD19", "CD3"))
RUXOLITINIB = _therapy(
    "Jakafi", "ruxolitinib", "tyrosine kinase inhibitor", drug_class="JAK inhibitor", targets=()
)
PONATINIB = _therapy("Ponatinib", "ponatinib", "tyrosine kinase inhibitor", drug_class="BCR-ABL TKI")
IMATINIB = _therapy(
    "Imatinib", "imatinib", "tyrosine kinase inhibitor", drug_class="BCR-ABL inhibitor", role="comparator"
)


def _backbone(name: str, modality: str = "chemotherapy") -> Therapy:
    return _therapy(name, name.lower(), modality, role="backbone")


def _lymphodepletion(name: str) -> Therapy:
    return _therapy(name, name.lower(), "chemotherapy", drug_class="purine analogue", role="lymphodepletion")


@pytest.mark.parametrize(
    ("therapies", "line"),
    [
        ([OBE_CEL, _lymphodepletion("Fludarabine")], "Obecabtagene autoleucel (CD19 CAR-T)"),
        (
            [BLINATUMOMAB, _backbone("Vincristine"), _backbone("Cytarabine")],
            "Blinatumomab (CD19 × CD3 T-cell engager) + chemotherapy",
        ),
        ([RUXOLITINIB], "Ruxolitinib (JAK inhibitor)"),
        (
            [PONATINIB, IMATINIB, _backbone("Vincristine"), _backbone("Dexamethasone", "corticosteroid")],
            "Ponatinib (BCR-ABL TKI) vs Imatinib (BCR-ABL TKI) + chemotherapy + steroids",
        ),
        ([_therapy("ABC-123 cells", None, "CAR-T")], "ABC-123 cells (CAR-T)"),
        ([_therapy("ABC-123", None, "CAR-T", targets=("CD7",))], "ABC-123 (CD7 CAR-T)"),
        ([_therapy("ABC-123")], "ABC-123"),
        ([_therapy("Allogeneic stem cell transplant", None, "allogeneic HSCT")], "Allogeneic HSCT"),
        (
            [
                _therapy("Ziftomenib", "ziftomenib", "menin inhibitor", drug_class="menin inhibitor"),
                _backbone("Venetoclax", "BCL-2 inhibitor"),
                _backbone("Azacitidine", "hypomethylating agent"),
            ],
            "Ziftomenib (menin inhibitor) + venetoclax + azacitidine",
        ),
        (
            [
                _therapy("Venetoclax", "venetoclax", "BCL-2 inhibitor"),
                _therapy("Placebo", None, "placebo", role="comparator"),
                _backbone("Azacitidine", "hypomethylating agent"),
            ],
            "Venetoclax (BCL-2 inhibitor) vs placebo + azacitidine",
        ),
        (
            [_backbone("Cytarabine"), _backbone("Allo-HCT", "allogeneic HSCT")],
            "Chemotherapy + allogeneic HSCT",
        ),
        (
            [
                _therapy("Busulfan", "busulfan", "chemotherapy", role="conditioning"),
                _therapy("Allo-HCT", None, "allogeneic HSCT", role="conditioning"),
                _therapy("Posaconazole", "posaconazole", "supportive care", role="supportive"),
            ],
            "",
        ),
        (
            [
                _therapy("GO", "gemtuzumab ozogamicin", "antibody-drug conjugate", targets=("CD33",)),
                _backbone("Cytarabine"),
                _therapy("Mitoxantrone", "mitoxantrone", "chemotherapy", role="comparator"),
            ],
            "Gemtuzumab ozogamicin (CD33 antibody-drug conjugate) + chemotherapy vs chemotherapy",
        ),
        (
            [
                _therapy("Y-90 anti-CD66", None, "radioimmunoconjugate", targets=("CD66",)),
                _therapy("Y-90 anti-CD66", None, "radionuclide"),
            ],
            "Y-90 anti-CD66 (CD66 radioimmunoconjugate)",
        ),
        (
            [_therapy("Asparaginase", "asparaginase", "chemotherapy", drug_class="asparaginase")],
            "Asparaginase",
        ),
        (
            [
                _therapy("Cytarabine", "cytarabine", "chemotherapy", role="comparator"),
                _therapy("Allo-HCT", None, "allogeneic HSCT", role="comparator"),
            ],
            "Chemotherapy + allogeneic HSCT",
        ),
        (
            [
                _therapy("Haplo-HCT", None, "allogeneic HSCT"),
                _therapy("MUD HCT", None, "allogeneic HSCT", role="comparator"),
            ],
            "Allogeneic HSCT",
        ),
        ([], ""),
    ],
)
def test_the_line_names_the_studied_therapies(therapies: list[Therapy], line: str) -> None:
    assert therapy_line(therapies) == line


def test_lymphodepletion_conditioning_and_supportive_agents_are_never_named() -> None:
    therapies = [
        OBE_CEL,
        _lymphodepletion("Fludarabine"),
        _therapy("Cyclophosphamide", "cyclophosphamide", "chemotherapy", role="lymphodepletion"),
        _therapy("Tocilizumab", "tocilizumab", "toxicity management", role="supportive"),
        _therapy("Treosulfan", "treosulfan", "chemotherapy", role="conditioning"),
    ]
    line = therapy_line(therapies)
    assert line == "Obecabtagene autoleucel (CD19 CAR-T)"
    for hidden in ("ludarabine", "yclophosphamide", "ocilizumab", "reosulfan", "chemotherapy"):
        assert hidden not in line


def test_a_drug_with_a_class_is_described_by_its_class_never_as_tki() -> None:
    assert describe_therapy(RUXOLITINIB) == "JAK inhibitor"
    assert describe_therapy(PONATINIB) == "BCR-ABL TKI"
    assert describe_therapy(IMATINIB) == "BCR-ABL TKI"  # any BCR-ABL inhibitor is said as a hematologist does
    classless = _therapy("Drug", "drug", "tyrosine kinase inhibitor")
    assert describe_therapy(classless) == "TKI"
    # The tags line for old data says the same from the lexicon's drug class.
    assert mechanism_line({"agent": ["ruxolitinib"]}, LEXICON) == "Ruxolitinib (JAK inhibitor)"
    assert "TKI)" not in mechanism_line({"agent": ["ruxolitinib"]}, LEXICON)


def test_an_unresolved_agent_keeps_its_written_name_and_what_is_known() -> None:
    long_name = "Autologous T cells transduced with a lentiviral vector encoding an anti-CD7 receptor"
    line = therapy_line([_therapy(long_name, None, "CAR-T", targets=("CD7",))])
    assert line.startswith("Autologous T cells") and line.endswith("… (CD7 CAR-T)")
    assert therapy_line([_therapy("  XYZ-9   tablets ")]) == "XYZ-9 tablets"


def test_many_investigational_therapies_are_summarised() -> None:
    names = ["alpha", "beta", "gamma", "delta", "epsilon"]
    line = therapy_line([_therapy(n.upper(), n, "other targeted therapy") for n in names])
    assert line.endswith("+ 2 more") and line.count("(targeted therapy)") == 3


def test_every_role_is_known_to_the_line() -> None:
    # A new role must be placed in the line (listed, compared or summarised) or knowingly left out.
    placed = {"investigational", "comparator", "backbone"}
    left_out = {"lymphodepletion", "conditioning", "supportive"}
    assert set(ROLES) == placed | left_out


def test_therapies_win_and_tags_are_the_fallback_for_old_versions() -> None:
    tags = {"agent": ["blinatumomab"], "modality": ["T-cell engager"], "target": ["CD19"]}
    assert mechanism_line(tags, LEXICON, [OBE_CEL]) == "Obecabtagene autoleucel (CD19 CAR-T)"
    assert mechanism_line(tags, LEXICON, []) == "Blinatumomab (CD19 × CD3 T-cell engager)"
    # Therapies that name nothing studied leave the line to the tags.
    supportive = [_therapy("Posaconazole", "posaconazole", "supportive care", role="supportive")]
    assert mechanism_line({"modality": ["non-interventional"]}, LEXICON, supportive) == (
        "Observational (no study treatment)"
    )


def test_every_described_modality_is_a_modality_of_the_lexicons() -> None:
    # A modality renamed or removed in the lexicons must fail here, not silently lose its words.
    assert described_modalities() - set(LEXICON.modalities) == set()


def test_catch_all_diseases_are_not_shown() -> None:
    catch_alls = [d for d, entry in LEXICON.diseases.items() if entry.catch_all]
    assert "leukemia" in catch_alls and "cancer" in catch_alls
    assert shown_diseases(["B-ALL", *catch_alls, "not in the lexicon"], LEXICON) == [
        "B-ALL",
        "not in the lexicon",
    ]


@pytest.mark.parametrize(
    ("tags", "line"),
    [
        (
            {
                "agent": ["blinatumomab", "cytarabine"],
                "modality": ["T-cell engager", "chemotherapy"],
                "target": ["CD19"],
            },
            "Blinatumomab (CD19 × CD3 T-cell engager) + chemotherapy",
        ),
        ({"modality": ["CAR-T"], "target": ["CD19", "CD22"]}, "CD19/CD22 CAR-T"),
        (
            {"agent": ["inotuzumab ozogamicin"], "modality": ["antibody-drug conjugate"]},
            "Inotuzumab ozogamicin (CD22 antibody-drug conjugate)",
        ),
        (
            {"agent": ["ponatinib"], "modality": ["tyrosine kinase inhibitor", "corticosteroid"]},
            "Ponatinib (BCR-ABL TKI) + steroids",
        ),
        (
            {"modality": ["HSCT (type not stated)", "allogeneic HSCT", "chemotherapy"]},
            "Chemotherapy + allogeneic HSCT",
        ),
        ({"agent": ["CPX-351"], "modality": ["chemotherapy"]}, "Chemotherapy"),
        ({"modality": ["non-interventional"]}, "Observational (no study treatment)"),
        ({"modality": ["supportive care"]}, ""),
        ({}, ""),
    ],
)
def test_mechanism_lines_are_written_from_the_tags(tags: dict[str, list[str]], line: str) -> None:
    assert mechanism_line(tags, LEXICON) == line


def test_many_tagged_agents_are_summarised() -> None:
    tags = {"agent": ["blinatumomab", "inotuzumab ozogamicin", "ponatinib", "venetoclax", "revumenib"]}
    assert mechanism_line(tags, LEXICON).endswith("+ 2 more")
