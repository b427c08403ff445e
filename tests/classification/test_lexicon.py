"""Lexicon files: validated on load, with errors that name the file and the entry, and a version."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hemewatch.classification import Lexicon, classify_study, load_lexicon, parse_lexicon
from hemewatch.classification.lexicon import REQUIRED_IDS
from hemewatch.errors import LexiconError

from .conftest import StudyBuilder


@pytest.fixture(scope="module")
def documents(lexicon_dir: Path) -> dict[str, str]:
    return {path.name: path.read_text("utf-8") for path in lexicon_dir.glob("*.yaml")}


def _with(documents: dict[str, str], name: str, text: str) -> dict[str, str]:
    changed = dict(documents)
    changed[name] = text
    return changed


def test_bundled_lexicon_is_large_enough(lexicon: Lexicon) -> None:
    assert len(lexicon.agents) >= 150
    for agent in (
        "blinatumomab",
        "inotuzumab ozogamicin",
        "gemtuzumab ozogamicin",
        "revumenib",
        "venetoclax",
    ):
        assert agent in lexicon.agents


@pytest.mark.parametrize(
    ("agent", "modality", "targets"),
    [
        ("blinatumomab", "T-cell engager", ("CD19",)),
        ("inotuzumab ozogamicin", "antibody-drug conjugate", ("CD22",)),
        ("tisagenlecleucel", "CAR-T", ("CD19",)),
        ("brexucabtagene autoleucel", "CAR-T", ("CD19",)),
        ("obecabtagene autoleucel", "CAR-T", ("CD19",)),
        ("gemtuzumab ozogamicin", "antibody-drug conjugate", ("CD33",)),
        ("flotetuzumab", "T-cell engager", ("CD123",)),
        ("vibecotamab", "T-cell engager", ("CD123",)),
        ("tagraxofusp", "antibody-drug conjugate", ("CD123",)),
        ("magrolimab", "checkpoint inhibitor", ("CD47",)),
        ("sabatolimab", "checkpoint inhibitor", ("TIM-3",)),
        ("daratumumab", "monoclonal antibody", ("CD38",)),
        ("isatuximab", "monoclonal antibody", ("CD38",)),
        ("revumenib", "menin inhibitor", ()),
        ("ziftomenib", "menin inhibitor", ()),
        ("ponatinib", "tyrosine kinase inhibitor", ()),
        ("venetoclax", "BCL-2 inhibitor", ()),
        ("nelarabine", "chemotherapy", ()),
        ("inaticabtagene autoleucel", "CAR-T", ("CD19",)),
        ("AUTO1/22", "CAR-T", ("CD19", "CD22")),
        ("SC-DARIC33", "CAR-T", ("CD33",)),
        ("CYAD-01", "CAR-T", ("NKG2D",)),
        ("SENTI-202", "CAR-NK", ("CD33", "FLT3")),
        ("MCLA-117", "T-cell engager", ("CLL-1",)),
    ],
)
def test_reference_agents(lexicon: Lexicon, agent: str, modality: str, targets: tuple[str, ...]) -> None:
    assert lexicon.agents[agent].modality == modality
    assert lexicon.agents[agent].targets == targets


def test_target_synonyms(lexicon: Lexicon) -> None:
    for name, target in [("CLEC12A", "CLL-1"), ("CD371", "CLL-1"), ("IL3RA", "CD123"), ("CD-19", "CD19")]:
        hits = {
            hit.entry for match in lexicon.matcher.find(name) for hit in match.hits if hit.kind == "target"
        }
        assert hits == {target}


def test_version_is_declared_version_plus_content_hash(documents: dict[str, str], lexicon: Lexicon) -> None:
    assert re.fullmatch(r"\d+\.\d+\+[0-9a-f]{12}", lexicon.version)
    assert parse_lexicon(documents).version == lexicon.version


def test_version_changes_when_content_changes(documents: dict[str, str], lexicon: Lexicon) -> None:
    changed = _with(
        documents,
        "targets.yaml",
        documents["targets.yaml"] + "\n  - {id: CD1d, label: other, terms: [CD1d]}\n",
    )
    assert parse_lexicon(changed).version != lexicon.version


def test_broken_yaml_names_the_file(documents: dict[str, str]) -> None:
    broken = _with(
        documents, "targets.yaml", documents["targets.yaml"] + "\n  - {id: CD99x, label: [unclosed\n"
    )
    with pytest.raises(LexiconError, match=r"targets\.yaml: not valid YAML"):
        parse_lexicon(broken)


def test_unknown_modality_names_the_file_and_the_entry(documents: dict[str, str]) -> None:
    text = documents["agents_targeted.yaml"].replace(
        "{id: imatinib, modality: tyrosine kinase inhibitor,", "{id: imatinib, modality: kinase blocker,"
    )
    with pytest.raises(
        LexiconError, match=r"agents_targeted\.yaml: entry 'imatinib': 'modality' names unknown"
    ):
        parse_lexicon(_with(documents, "agents_targeted.yaml", text))


def test_unknown_target_names_the_entry(documents: dict[str, str]) -> None:
    text = documents["agents_immunotherapy.yaml"].replace("targets: [CD70]", "targets: [CD7O]")
    with pytest.raises(LexiconError, match=r"entry 'cusatuzumab': 'targets' names unknown target 'CD7O'"):
        parse_lexicon(_with(documents, "agents_immunotherapy.yaml", text))


def test_entry_without_id_names_its_position(documents: dict[str, str]) -> None:
    text = documents["populations.yaml"] + "\n  - {terms: [toddlers]}\n"
    with pytest.raises(LexiconError, match=r"populations\.yaml: entry #5 has no 'id'"):
        parse_lexicon(_with(documents, "populations.yaml", text))


def test_unknown_field_is_reported(documents: dict[str, str]) -> None:
    text = documents["targets.yaml"].replace(
        "{id: CD7, label: CD7, lineage: T, terms: [CD7]}", "{id: CD7, label: CD7, lineage: T, term: [CD7]}"
    )
    with pytest.raises(LexiconError, match=r"entry 'CD7': unknown field\(s\) term for targets"):
        parse_lexicon(_with(documents, "targets.yaml", text))


def test_one_term_for_two_entries_of_a_kind_is_reported(documents: dict[str, str]) -> None:
    text = documents["targets.yaml"].replace("terms: [CD5]", "terms: [CD5, CD7]")
    with pytest.raises(
        LexiconError, match=r"targets\.yaml: entry 'CD5': term 'CD7' already names target 'CD7'"
    ):
        parse_lexicon(_with(documents, "targets.yaml", text))


def test_unbalanced_template_is_reported(documents: dict[str, str]) -> None:
    text = documents["targets.yaml"].replace("terms: [CD5]", 'terms: ["{CD5|CD 5"]')
    with pytest.raises(LexiconError, match=r"entry 'CD5': unbalanced braces"):
        parse_lexicon(_with(documents, "targets.yaml", text))


def test_missing_file_listed_in_the_manifest(documents: dict[str, str]) -> None:
    missing = {name: text for name, text in documents.items() if name != "stems.yaml"}
    with pytest.raises(LexiconError, match=r"manifest\.yaml: lists stems\.yaml, which does not exist"):
        parse_lexicon(missing)


def test_wrong_value_type_is_reported(documents: dict[str, str]) -> None:
    text = documents["cues.yaml"].replace("max_words: 4", "max_words: four", 1)
    with pytest.raises(
        LexiconError, match=r"cues\.yaml: entry 'negation': 'max_words' must be a non-negative integer"
    ):
        parse_lexicon(_with(documents, "cues.yaml", text))


def test_load_lexicon_reads_a_directory(lexicon_dir: Path, lexicon: Lexicon) -> None:
    assert load_lexicon(lexicon_dir).version == lexicon.version


def test_a_directory_without_lexicon_is_reported(lexicon_dir: Path) -> None:
    with pytest.raises(LexiconError, match=r"the lexicon has no manifest\.yaml"):
        load_lexicon(lexicon_dir / "no-such-folder")


def test_entries_must_be_a_list(documents: dict[str, str]) -> None:
    with pytest.raises(LexiconError, match=r"markers\.yaml: 'entries' must be a list"):
        parse_lexicon(_with(documents, "markers.yaml", "kind: markers\nentries: nope\n"))


# --- drug classes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("agent", "drug_class"),
    [
        ("imatinib", "BCR-ABL TKI"),
        ("asciminib", "BCR-ABL TKI"),
        ("olverembatinib", "BCR-ABL TKI"),
        ("trametinib", "MEK inhibitor"),
        ("ibrutinib", "BTK inhibitor"),
        ("sirolimus", "mTOR inhibitor"),
        ("duvelisib", "PI3K inhibitor"),
        ("gilteritinib", "FLT3 inhibitor"),
        ("revumenib", "menin inhibitor"),
        ("venetoclax", "BCL-2 inhibitor"),
        ("azacitidine", "hypomethylating agent"),
        ("fludarabine", "purine analogue"),
        ("cytarabine", "pyrimidine analogue"),
        ("mitoxantrone", "anthracycline"),
        ("thiotepa", "alkylating agent"),
        ("pegaspargase", "asparaginase"),
        ("methotrexate", "antifolate"),
        ("tacrolimus", "calcineurin inhibitor"),
        ("filgrastim", "G-CSF"),
        ("posaconazole", "antifungal"),
        ("dexamethasone", "corticosteroid"),
        ("blinatumomab", None),
    ],
)
def test_agents_name_their_drug_class(lexicon: Lexicon, agent: str, drug_class: str | None) -> None:
    assert lexicon.agents[agent].drug_class == drug_class
    if drug_class is not None:
        assert drug_class in lexicon.drug_classes


def test_ruxolitinib_is_a_jak_inhibitor_whose_modality_is_unchanged(lexicon: Lexicon) -> None:
    ruxolitinib = lexicon.agents["ruxolitinib"]
    assert ruxolitinib.drug_class == "JAK inhibitor"
    assert ruxolitinib.modality == "tyrosine kinase inhibitor"


def test_stems_and_modalities_that_are_a_class_name_it(lexicon: Lexicon) -> None:
    assert lexicon.stems["menib"].drug_class == "menin inhibitor"
    assert lexicon.stems["brutinib"].drug_class == "BTK inhibitor"
    assert lexicon.stems["tinib"].drug_class is None
    stem = lexicon.stem_of_name("zorbabrutinib")
    assert stem is not None
    assert (stem.modality, stem.drug_class) == ("tyrosine kinase inhibitor", "BTK inhibitor")
    assert lexicon.modalities["FLT3 inhibitor"].drug_class == "FLT3 inhibitor"
    assert lexicon.modalities["CAR-T"].drug_class is None
    assert lexicon.drug_classes["BCR-ABL TKI"].label == "BCR::ABL1 tyrosine kinase inhibitor"


@pytest.mark.parametrize(
    ("file", "old", "new", "entry"),
    [
        (
            "agents_targeted.yaml",
            "drug_class: JAK inhibitor, brands: [Jakafi",
            "drug_class: JAK blocker, brands: [Jakafi",
            "ruxolitinib",
        ),
        ("stems.yaml", "drug_class: menin inhibitor}", "drug_class: JAK blocker}", "menib"),
        ("modalities.yaml", "drug_class: IDH inhibitor", "drug_class: JAK blocker", "IDH inhibitor"),
    ],
)
def test_unknown_drug_class_names_the_file_and_the_entry(
    documents: dict[str, str], file: str, old: str, new: str, entry: str
) -> None:
    assert documents[file].count(old) == 1
    text = documents[file].replace(old, new)
    with pytest.raises(
        LexiconError,
        match=rf"{re.escape(file)}: entry '{entry}': 'drug_class' names unknown drug class 'JAK blocker'",
    ):
        parse_lexicon(_with(documents, file, text))


def test_drug_classes_take_no_terms(documents: dict[str, str]) -> None:
    # Drug classes are a vocabulary, not matched in text: a term there would silently do nothing.
    text = documents["drug_classes.yaml"].replace("{id: MEK inhibitor}", "{id: MEK inhibitor, terms: [MEKi]}")
    with pytest.raises(
        LexiconError, match=r"drug_classes\.yaml: entry 'MEK inhibitor': drug classes are not"
    ):
        parse_lexicon(_with(documents, "drug_classes.yaml", text))


# --- target lineages and the ids the rules need ---------------------------------------------------------


def test_target_lineages(lexicon: Lexicon) -> None:
    by_lineage: dict[str | None, set[str]] = {}
    for target in lexicon.targets.values():
        by_lineage.setdefault(target.lineage, set()).add(target.id)
    assert by_lineage["B"] == {"CD19", "CD22", "CD20"}
    assert by_lineage["myeloid"] == {"CD33", "CD123", "CLL-1"}
    assert by_lineage["T"] == {"CD7", "CD5"}


def test_unknown_target_lineage_is_reported(documents: dict[str, str]) -> None:
    text = documents["targets.yaml"].replace(
        "{id: CD5, label: CD5, lineage: T,", "{id: CD5, label: CD5, lineage: NK,"
    )
    with pytest.raises(LexiconError, match=r"entry 'CD5': 'lineage' is 'NK'; expected one of B, T, myeloid"):
        parse_lexicon(_with(documents, "targets.yaml", text))


def test_an_id_the_rules_need_must_exist(documents: dict[str, str]) -> None:
    assert "infection" in REQUIRED_IDS["diseases"]
    text = documents["diseases.yaml"].replace("  - id: infection\n", "  - id: infections\n", 1)
    assert text != documents["diseases.yaml"]
    renamed = _with(documents, "diseases.yaml", text)
    with pytest.raises(LexiconError, match=r"diseases\.yaml: the classifier rules need disease 'infection'"):
        parse_lexicon(renamed)


def test_each_lineage_the_rules_need_has_an_antigen(documents: dict[str, str]) -> None:
    text = documents["targets.yaml"].replace("lineage: T,", "lineage: B,")
    assert text != documents["targets.yaml"]
    with pytest.raises(LexiconError, match=r"targets\.yaml: the classifier rules need target of lineage 'T'"):
        parse_lexicon(_with(documents, "targets.yaml", text))


def test_a_label_the_rules_need_must_exist(documents: dict[str, str]) -> None:
    text = documents["settings.yaml"].replace("label: post-CAR-T", "label: after CAR-T")
    with pytest.raises(
        LexiconError, match=r"settings\.yaml: the classifier rules need setting label 'post-CAR-T'"
    ):
        parse_lexicon(_with(documents, "settings.yaml", text))


def test_required_ids_name_known_kinds(documents: dict[str, str]) -> None:
    with pytest.raises(LexiconError, match=r"required ids: unknown kind 'antigens'"):
        parse_lexicon(documents, required={"antigens": ["CD19"]})


# --- new products resolve in a record ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "agent", "targets"),
    [
        ("AUTO1", "obecabtagene autoleucel", ("CD19",)),
        ("AUTO1/22", "AUTO1/22", ("CD19", "CD22")),
        ("CNCT19", "inaticabtagene autoleucel", ("CD19",)),
        ("Revuforj", "revumenib", ()),
        ("Komzifti", "ziftomenib", ()),
    ],
)
def test_new_product_names_resolve(
    study: StudyBuilder, name: str, agent: str, targets: tuple[str, ...]
) -> None:
    record = study(conditions=["Acute Lymphoblastic Leukemia"], interventions=[("BIOLOGICAL", name)])
    classification = classify_study(record)
    assert classification.values("agent") == (agent,)
    assert classification.values("target") == targets
