"""Lexicon files: validated on load, with errors that name the file and the entry, and a version."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hemewatch.classification import Lexicon, load_lexicon, parse_lexicon
from hemewatch.errors import LexiconError


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
        "{id: CD7, label: CD7, terms: [CD7]}", "{id: CD7, label: CD7, term: [CD7]}"
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
