"""The one vocabulary of filter values: canonical values, labels, spellings people use, refusals."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hemewatch import vocabulary
from hemewatch.classification import default_lexicon
from hemewatch.classification.model import ROLES
from hemewatch.errors import HemewatchError, InvalidFilterValue
from hemewatch.registry.vocabulary import OVERALL_STATUSES, PHASES

LEXICON = default_lexicon()


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("2", "PHASE2"),
        ("phase 2", "PHASE2"),
        ("Phase 2", "PHASE2"),
        ("PHASE2", "PHASE2"),
        ("phase2", "PHASE2"),
        ("PHASE_2", "PHASE2"),
        ("phase-2", "PHASE2"),
        ("Phase II", "PHASE2"),
        ("3", "PHASE3"),
        ("phase iv", "PHASE4"),
        ("early phase 1", "EARLY_PHASE1"),
        ("Early Phase 1", "EARLY_PHASE1"),
        ("EARLY_PHASE1", "EARLY_PHASE1"),
        ("phase 0", "EARLY_PHASE1"),
        ("NA", "NA"),
        ("n/a", "NA"),
        ("Not applicable", "NA"),
        ("  phase   1 ", "PHASE1"),
    ],
)
def test_phases_are_read_as_people_write_them(raw: str, code: str) -> None:
    assert vocabulary.parse("phase", raw) == code


@pytest.mark.parametrize("raw", ["1/2", "phase 1/2", "Phase 1/Phase 2", "PHASE1|PHASE2", "2-3", "II/III"])
def test_two_phases_in_one_value_are_refused_with_the_reason(raw: str) -> None:
    with pytest.raises(InvalidFilterValue, match="names two phases") as caught:
        vocabulary.parse("phase", raw)
    assert "a phase 1/2 trial is listed under both" in caught.value.message


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("recruiting", "RECRUITING"),
        ("RECRUITING", "RECRUITING"),
        ("Not yet recruiting", "NOT_YET_RECRUITING"),
        ("NOT_YET_RECRUITING", "NOT_YET_RECRUITING"),
        ("not-yet-recruiting", "NOT_YET_RECRUITING"),
        ("not yet recruiting", "NOT_YET_RECRUITING"),
        ("Active, not recruiting", "ACTIVE_NOT_RECRUITING"),
        ("active-not-recruiting", "ACTIVE_NOT_RECRUITING"),
        ("enrolling by invitation", "ENROLLING_BY_INVITATION"),
        ("completed", "COMPLETED"),
    ],
)
def test_statuses_are_read_as_people_write_them(raw: str, code: str) -> None:
    assert vocabulary.parse("status", raw) == code


def test_registry_vocabularies_and_their_labels() -> None:
    assert vocabulary.values("phase") == PHASES
    assert vocabulary.values("status") == OVERALL_STATUSES
    assert vocabulary.label("phase", "EARLY_PHASE1") == "Early phase 1"
    assert vocabulary.label("status", "ACTIVE_NOT_RECRUITING") == "Active, not recruiting"
    assert vocabulary.phase_label(["PHASE1", "PHASE2"]) == "Phase 1/2"
    assert vocabulary.phase_label("PHASE2|PHASE3") == "Phase 2/3"
    assert vocabulary.status_label(None) == "—"
    assert vocabulary.kind_label("drug_class") == "Drug class" and vocabulary.kind_label("q") == "Text"


def test_every_dimension_is_defined_and_every_value_and_label_parses_back() -> None:
    assert vocabulary.DIMENSIONS == (
        "disease",
        "modality",
        "drug_class",
        "target",
        "setting",
        "population",
        "role",
        "agent",
        "phase",
        "status",
    )
    for dimension in vocabulary.DIMENSIONS:
        values = vocabulary.values(dimension)
        assert len(set(values)) == len(values), dimension
        for value in values:
            assert vocabulary.parse(dimension, value) == value, (dimension, value)
            assert vocabulary.parse(dimension, value.upper()) == value, (dimension, value)
            assert vocabulary.parse(dimension, vocabulary.label(dimension, value)) == value, (
                dimension,
                value,
            )


def test_tag_values_come_from_the_lexicon() -> None:
    assert set(vocabulary.values("disease")) == set(LEXICON.diseases)
    assert set(vocabulary.values("modality")) == set(LEXICON.modalities)
    assert set(vocabulary.values("target")) == set(LEXICON.targets)
    assert set(vocabulary.values("population")) == set(LEXICON.populations)
    assert set(vocabulary.values("agent")) == set(LEXICON.agents)
    assert vocabulary.values("role") == ROLES
    # Setting tags carry the lexicon's labels, which several entries share.
    assert set(vocabulary.values("setting")) == {e.label for e in LEXICON.settings.values() if e.label}
    assert vocabulary.values("population")[0] == "pediatric"


def test_drug_classes_cover_every_class_the_lexicon_names() -> None:
    named = {
        entry.drug_class
        for kind in ("agents", "stems", "modalities")
        for entry in getattr(LEXICON, kind).values()
        if getattr(entry, "drug_class", None)
    }
    assert named <= set(vocabulary.values("drug_class"))


@pytest.mark.parametrize(
    ("dimension", "raw", "value"),
    [
        ("disease", "aml", "AML"),
        ("disease", "b-all", "B-ALL"),
        ("disease", "ph+ all", "Ph+ ALL"),
        ("disease", "Ph+ALL", "Ph+ ALL"),
        ("disease", "acute leukaemia", "acute leukemia"),
        ("disease", "acute myeloid leukemia", "AML"),
        ("modality", "car t", "CAR-T"),
        ("modality", "CART", "CAR-T"),
        ("modality", "t cell engager", "T-cell engager"),
        ("target", "cd 19", "CD19"),
        ("target", "Siglec-2", "CD22"),
        ("setting", "Relapsed/Refractory", "relapsed/refractory"),
        ("setting", "relapsed refractory", "relapsed/refractory"),
        ("setting", "R/R", "relapsed/refractory"),
        ("population", "Paediatric", "pediatric"),
        ("population", "aya", "AYA"),
        ("population", "infants", "pediatric"),
        ("role", "Investigational", "investigational"),
    ],
)
def test_tag_values_in_any_case_and_spelling(dimension: str, raw: str, value: str) -> None:
    assert vocabulary.parse(dimension, raw) == value


@pytest.mark.parametrize(
    "raw",
    [
        "Blincyto",
        "blincyto",
        "BLINCYTO",
        "AMG 103",
        "AMG-103",
        "amg103",
        "MT103",
        "blinatumumab",
        "Blinatumomab",
    ],
)
def test_agents_by_brand_code_synonym_or_misspelling(raw: str) -> None:
    assert vocabulary.parse("agent", raw) == "blinatumomab"


def test_agents_by_synonym_only_from_the_lexicon() -> None:
    assert vocabulary.parse("agent", "inotuzumab") == "inotuzumab ozogamicin"
    assert vocabulary.parse("agent", "Besponsa") == "inotuzumab ozogamicin"
    # A drug no lexicon names is an unresolved therapy, found by text search, never an agent tag.
    with pytest.raises(InvalidFilterValue):
        vocabulary.parse("agent", "Zorbatinib")
    # A near miss of a known name is a typo, not a new drug.
    with pytest.raises(InvalidFilterValue, match="did you mean blinatumomab"):
        vocabulary.parse("agent", "blinatumomabb")


def test_parse_all_skips_blanks_and_duplicates() -> None:
    assert vocabulary.parse_all("agent", ["Blincyto", " ", "blinatumomab", "venetoclax"]) == (
        "blinatumomab",
        "venetoclax",
    )
    assert vocabulary.parse_all("phase", []) == ()


@pytest.mark.parametrize(
    ("dimension", "raw", "expected"),
    [
        ("phase", "PHASE9", ["unknown phase 'PHASE9'", "valid phases are EARLY_PHASE1, PHASE1, PHASE2"]),
        ("status", "open", ["unknown status 'open'", "valid statuses are NOT_YET_RECRUITING, RECRUITING"]),
        ("setting", "MRD-negative", ["unknown setting 'MRD-negative'", "(did you mean MRD-positive?)"]),
        ("population", "veterans", ["unknown population 'veterans'", "pediatric, AYA, adult, older adult"]),
        ("role", "placebo", ["unknown role 'placebo'", "investigational"]),
        (
            "disease",
            "AMLL",
            ["unknown disease 'AMLL' (did you mean AML", "diseases are known", "`hemewatch values disease`"],
        ),
        ("target", "CD999", ["unknown target 'CD999'", "targets are known, e.g. CD19"]),
        (
            "modality",
            "CAR-X",
            ["unknown modality 'CAR-X' (did you mean CAR-T", "`hemewatch values modality`"],
        ),
        ("modality", "other cell therapy", ["unknown modality 'other cell therapy'"]),
        ("agent", "Blincito", ["unknown agent 'Blincito' (did you mean blinatumomab?)", "brand names"]),
        ("agent", "a new drug", ["unknown agent 'a new drug'", "`hemewatch values agent` lists them all"]),
        ("drug_class", "teleportation", ["unknown drug class 'teleportation'"]),
    ],
)
def test_unknown_values_are_refused_naming_the_valid_ones(
    dimension: str, raw: str, expected: list[str]
) -> None:
    with pytest.raises(InvalidFilterValue) as caught:
        vocabulary.parse(dimension, raw)
    error = caught.value
    for text in expected:
        assert text in error.message, error.message
    assert isinstance(error, HemewatchError) and error.exit_code == 2
    assert (error.dimension, error.value) == (dimension, raw)
    if len(vocabulary.values(dimension)) > 20:
        assert f"{len(vocabulary.values(dimension))} " in error.message


def test_an_unknown_dimension_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="no vocabulary dimension 'colour'"):
        vocabulary.values("colour")


def test_start_up_does_not_load_the_lexicon() -> None:
    # `hemewatch --version` and every command's import stay fast: the lexicon loads on first use.
    script = (
        "import hemewatch.cli, hemewatch.vocabulary as v\n"
        "from hemewatch.classification.lexicon import default_lexicon\n"
        "assert v.parse('phase', 'phase 2') == 'PHASE2'\n"
        "assert default_lexicon.cache_info().currsize == 0, 'the lexicon was loaded'\n"
        "assert v.parse('disease', 'aml') == 'AML'\n"
        "assert default_lexicon.cache_info().currsize == 1\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
