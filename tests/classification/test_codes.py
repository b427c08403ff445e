"""Standard codes on lexicon entries: MeSH descriptor ids on diseases, NCI Thesaurus codes on agents.

Every MeSH id in the disease lexicon is checked against the (id, term) pairs of the real records'
condition MeSH terms, and a record's MeSH term with that id is read as naming the disease, with the
id in the evidence.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from hemewatch.classification import Lexicon, classify_study, parse_lexicon
from hemewatch.errors import LexiconError

from .conftest import StudyBuilder


@pytest.fixture(scope="module")
def documents(lexicon_dir: Path) -> dict[str, str]:
    return {path.name: path.read_text("utf-8") for path in lexicon_dir.glob("*.yaml")}


@pytest.fixture(scope="module")
def record_meshes(real_records: Path) -> dict[str, set[str]]:
    """Every MeSH descriptor id of the real records' condition terms -> the terms given with it."""
    found: dict[str, set[str]] = {}
    for name in ("studies.jsonl", "other_studies.jsonl"):
        for line in (real_records / "ctgov" / name).read_text(encoding="utf-8").splitlines():
            browse = json.loads(line).get("derivedSection", {}).get("conditionBrowseModule", {})
            for mesh in browse.get("meshes", []):
                found.setdefault(mesh["id"], set()).add(mesh["term"])
    return found


def _mesh_study(study: StudyBuilder, *meshes: tuple[str, str]) -> dict[str, Any]:
    record = study(title="An observational registry", conditions=["Blood disorders"])
    record["derivedSection"] = {
        "conditionBrowseModule": {"meshes": [{"id": mesh, "term": term} for mesh, term in meshes]}
    }
    return record


def test_every_mesh_id_is_one_the_real_records_give_with_that_heading(
    lexicon: Lexicon, record_meshes: dict[str, set[str]]
) -> None:
    coded = {d.id: (d.mesh, d.mesh_heading) for d in lexicon.diseases.values() if d.mesh}
    assert coded["AML"] == ("D015470", "Leukemia, Myeloid, Acute")
    assert coded["ALL"] == ("D054198", "Precursor Cell Lymphoblastic Leukemia-Lymphoma")
    assert coded["T-ALL"] == ("D054218", "Precursor T-Cell Lymphoblastic Leukemia-Lymphoma")
    assert coded["APL"] == ("D015473", "Leukemia, Promyelocytic, Acute")
    assert coded["MPAL"] == ("D015456", "Leukemia, Biphenotypic, Acute")
    for disease, (mesh, heading) in coded.items():
        assert mesh is not None
        # Records write the seven-character ids as they are or zero-padded to ten characters.
        terms = record_meshes.get(mesh, set()) | record_meshes.get(f"D000{mesh[1:]}", set())
        assert heading in terms, f"{disease}: {mesh} {heading!r} is not in the real records ({terms})"


def test_the_verified_ncit_codes(lexicon: Lexicon) -> None:
    codes = {a.id: a.ncit for a in lexicon.agents.values() if a.ncit}
    assert codes == {
        "blinatumomab": "C62528",
        "gemtuzumab ozogamicin": "C1806",
        "tisagenlecleucel": "C102758",
    }
    assert lexicon.code_of("agent", "blinatumomab") == "C62528"
    assert lexicon.code_of("agent", "venetoclax") is None
    assert lexicon.code_of("disease", "AML") == "D015470"
    assert lexicon.code_of("disease", "Ph+ ALL") is None
    assert lexicon.code_of("target", "CD19") is None


@pytest.mark.parametrize("written", ["D015470", "D000015470"])
def test_a_mesh_term_names_its_id_in_the_evidence(
    study: StudyBuilder, lexicon: Lexicon, written: str
) -> None:
    record = _mesh_study(study, (written, "Leukemia, Myeloid, Acute"))
    tag = classify_study(record, lexicon).get("disease", "AML")
    assert tag is not None
    assert [(e.path, e.text) for e in tag.evidence] == [
        ("derivedSection.conditionBrowseModule.meshes[0]", f"{written} Leukemia, Myeloid, Acute")
    ]


def test_the_id_names_the_disease_whatever_the_heading_reads(study: StudyBuilder, lexicon: Lexicon) -> None:
    # MPAL's MeSH heading names no lineage in words the lexicon reads as MPAL; its id does.
    mpal = classify_study(_mesh_study(study, ("D000015456", "Leukemia, Biphenotypic, Acute")), lexicon)
    assert mpal.has("disease", "MPAL")
    # A heading renamed since: the id alone still names the disease.
    renamed = classify_study(_mesh_study(study, ("D054198", "Lymphoblastic Leukemia, Acute")), lexicon)
    tag = renamed.get("disease", "ALL")
    assert tag is not None and any(e.text.startswith("D054198") for e in tag.evidence)
    # Without an id the term is read as before.
    plain = classify_study(_mesh_study(study, ("", "Leukemia, Myeloid, Acute")), lexicon)
    tag = plain.get("disease", "AML")
    assert tag is not None
    assert [e.text for e in tag.evidence] == ["Leukemia, Myeloid, Acute"]


def test_an_unknown_mesh_id_does_not_make_a_tag(study: StudyBuilder, lexicon: Lexicon) -> None:
    record = _mesh_study(study, ("D099999", "Something Else Entirely"))
    assert classify_study(record, lexicon).values("disease") == classify_study(
        _mesh_study(study), lexicon
    ).values("disease")


@pytest.mark.parametrize(
    ("replace", "problem"),
    [
        ("    mesh: D015470\n", "'mesh' and 'mesh_heading' go together"),
        ('    mesh: D15470\n    mesh_heading: "x"\n', "a MeSH descriptor id is D and six (or nine) digits"),
    ],
)
def test_bad_mesh_fields_are_reported(documents: dict[str, str], replace: str, problem: str) -> None:
    text = documents["diseases.yaml"].replace(
        '    mesh: D015470\n    mesh_heading: "Leukemia, Myeloid, Acute"\n', replace, 1
    )
    assert text != documents["diseases.yaml"]
    with pytest.raises(LexiconError, match=re.escape(problem)) as caught:
        parse_lexicon({**documents, "diseases.yaml": text})
    assert "diseases.yaml" in str(caught.value) and "'AML'" in str(caught.value)


def test_a_bad_ncit_code_is_reported_and_a_good_one_changes_the_version(
    documents: dict[str, str], lexicon: Lexicon
) -> None:
    bad = documents["agents_immunotherapy.yaml"].replace("    ncit: C62528\n", "    ncit: NCIT62528\n", 1)
    with pytest.raises(LexiconError, match="an NCI Thesaurus code is C and digits"):
        parse_lexicon({**documents, "agents_immunotherapy.yaml": bad})
    other = documents["agents_immunotherapy.yaml"].replace("    ncit: C62528\n", "    ncit: C62529\n", 1)
    changed = parse_lexicon({**documents, "agents_immunotherapy.yaml": other})
    assert changed.code_of("agent", "blinatumomab") == "C62529"
    assert changed.version != lexicon.version
