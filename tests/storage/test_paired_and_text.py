"""Paired target + modality questions and text search by drug and condition, on SQLite and PostgreSQL.

The trials are real records under fresh ids, with neutral titles and classifications built here
(therapies included), so each search can only find them the way the test says.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import Connection
from typer.testing import CliRunner

from hemewatch.classification import default_lexicon
from hemewatch.classification.model import Classification, Evidence, Role, Tag, TagKind, Therapy
from hemewatch.cli import app
from hemewatch.registry.records import parse_study
from hemewatch.storage.catalog import TrialQuery, count_trials, facet_counts, search_trials
from hemewatch.storage.tags import ClassifiedVersion, store_classifications
from hemewatch.storage.text_search import resolve_text, suggest_names
from hemewatch.storage.versions import store_records
from tests.realdata import real_data

NOW = datetime(2026, 11, 21, 6, 0, tzinfo=UTC)
ADC = "antibody-drug conjugate"

BLINA_INO = "NCT90000001"  # blinatumomab (CD19 T-cell engager) + inotuzumab ozogamicin (CD22 ADC)
CAR19_INO = "NCT90000002"  # obe-cel (CD19 CAR-T) + Besponsa (CD22 ADC), fludarabine lymphodepletion
CAR22 = "NCT90000003"  # an unnamed CD22 CAR-T, written "XYZ-22 CAR T cells"
MENIN = "NCT90000004"  # SNDX-5613 (revumenib) in KMT2A-rearranged AML
MPAL = "NCT90000005"  # chemotherapy; the conditions say "lineage switch"


def therapy(
    name: str,
    agent: str | None,
    modality: str | None,
    targets: Sequence[str] = (),
    role: Role = "investigational",
) -> Therapy:
    """One therapy with its name as the record writes it."""
    evidence = (Evidence("protocolSection.armsInterventionsModule.interventions[0].name", name),)
    return Therapy(name, agent, modality, None, tuple(targets), role, evidence)


@dataclass(frozen=True)
class Seed:
    """One trial of the world: what its record says and how it is classified."""

    nct_id: str
    conditions: tuple[str, ...]
    diseases: tuple[str, ...]
    therapies: tuple[Therapy, ...]
    title: str = "A study of treatment in acute leukemia"


WORLD: tuple[Seed, ...] = (
    Seed(
        BLINA_INO,
        ("B-cell Acute Lymphoblastic Leukemia",),
        ("B-ALL",),
        (
            therapy("Blinatumomab", "blinatumomab", "T-cell engager", ["CD19"]),
            therapy("Inotuzumab ozogamicin", "inotuzumab ozogamicin", ADC, ["CD22"]),
        ),
    ),
    Seed(
        CAR19_INO,
        ("Acute Lymphoblastic Leukemia",),
        ("B-ALL",),
        (
            therapy("obe-cel", "obecabtagene autoleucel", "CAR-T", ["CD19"]),
            therapy("Besponsa", "inotuzumab ozogamicin", ADC, ["CD22"]),
            therapy("Fludarabine", "fludarabine", "chemotherapy", role="lymphodepletion"),
        ),
    ),
    Seed(CAR22, ("B-ALL",), ("B-ALL",), (therapy("XYZ-22 CAR T cells", None, "CAR-T", ["CD22"]),)),
    Seed(
        MENIN,
        ("Acute Myeloid Leukemia",),
        ("AML", "KMT2A-rearranged"),
        (therapy("SNDX-5613", "revumenib", "menin inhibitor"),),
    ),
    Seed(
        MPAL,
        ("Mixed Phenotype Acute Leukemia", "lineage switch"),
        ("MPAL",),
        (therapy("Cytarabine", "cytarabine", "chemotherapy", role="backbone"),),
    ),
)


def _real_study(index: int) -> dict[str, Any]:
    with (real_data() / "ctgov" / "studies.jsonl").open(encoding="utf-8") as handle:
        for number, line in enumerate(handle):
            if number == index:
                return dict(json.loads(line))
    raise AssertionError(f"studies.jsonl has fewer than {index + 1} records")


def _record(seed: Seed, index: int, *, posted: str = "2026-11-01", title: str | None = None) -> Any:
    study = copy.deepcopy(_real_study(index))
    protocol = study["protocolSection"]
    ident = protocol["identificationModule"]
    ident["nctId"] = seed.nct_id
    ident["briefTitle"] = title or seed.title
    ident.pop("officialTitle", None)
    ident.pop("acronym", None)
    protocol["conditionsModule"] = {"conditions": list(seed.conditions), "keywords": []}
    protocol["statusModule"]["lastUpdatePostDateStruct"] = {"date": posted, "type": "ACTUAL"}
    return parse_study(study)


def classification_of(seed: Seed) -> Classification:
    """Tags derived from the therapies (studied ones name targets and modalities) plus the diseases."""
    studied = [t for t in seed.therapies if t.role in ("investigational", "comparator", "backbone")]
    found: list[tuple[TagKind, str]] = [("disease", d) for d in seed.diseases]
    found += [("agent", t.agent) for t in seed.therapies if t.agent]
    found += [("modality", t.modality) for t in studied if t.modality]
    found += [("target", target) for t in studied for target in t.targets]
    tags = tuple(Tag(kind, value, (Evidence("test", value),)) for kind, value in dict.fromkeys(found))
    return Classification(seed.nct_id, tags, True, True, "test", therapies=seed.therapies)


def labels_of(classification: Classification) -> dict[str, list[str]]:
    """The headline labels the listing shows."""
    plural = {"disease": "diseases", "agent": "agents", "modality": "modalities", "target": "targets"}
    return {field: list(classification.values(kind)) for kind, field in plural.items()}  # type: ignore[arg-type]


def seed_world(conn: Connection, seeds: Sequence[Seed] = WORLD) -> list[str]:
    """Store the trials with their classifications (pair tags and therapy rows follow)."""
    result = store_records(
        conn,
        [_record(seed, index) for index, seed in enumerate(seeds)],
        source="import",
        now=NOW - timedelta(days=10),
    )
    by_id = {seed.nct_id: seed for seed in seeds}
    items = []
    for stored in result.stored:
        classification = classification_of(by_id[stored.nct_id])
        items.append(
            ClassifiedVersion(stored.version_id, stored.nct_id, classification, labels_of(classification))
        )
    store_classifications(conn, items, now=NOW - timedelta(days=10))
    return [seed.nct_id for seed in seeds]


@pytest.fixture
def world(engine: Engine) -> Iterator[Engine]:
    with engine.begin() as conn:
        seed_world(conn)
    yield engine


def found(conn: Connection, **filters: Any) -> set[str]:
    return {row.nct_id for row in search_trials(conn, TrialQuery(limit=None, **filters))}


def test_a_target_and_a_modality_together_ask_for_one_therapy(world: Engine) -> None:
    with world.connect() as conn:
        assert found(conn, target=("CD22",), modality=(ADC,)) == {BLINA_INO, CAR19_INO}
        assert found(conn, target=("CD19",), modality=(ADC,)) == set()
        assert found(conn, target=("CD22",), modality=("CAR-T",)) == {CAR22}
        assert found(conn, target=("cd22",), modality=("Antibody-Drug Conjugate",)) == {BLINA_INO, CAR19_INO}
        # Alternatives within each filter: any target x modality pair of one therapy.
        assert found(conn, target=("CD19", "CD22"), modality=("CAR-T",)) == {CAR19_INO, CAR22}
        assert count_trials(conn, TrialQuery(target=("CD19",), modality=(ADC, "T-cell engager"))) == 1
        # One of them alone keeps its meaning: any therapy of the trial.
        assert found(conn, target=("CD22",)) == {BLINA_INO, CAR19_INO, CAR22}
        assert found(conn, modality=(ADC,)) == {BLINA_INO, CAR19_INO}
        # Lymphodepletion is no studied therapy: it makes no pair.
        assert found(conn, modality=("chemotherapy",), target=("CD19",)) == set()


def test_paired_facets_count_what_choosing_a_value_finds(world: Engine) -> None:
    with world.connect() as conn:
        by_modality = facet_counts(conn, TrialQuery(target=("CD19",)), "modality")
        by_target = facet_counts(conn, TrialQuery(modality=(ADC,)), "target")
        unpaired = facet_counts(conn, TrialQuery(), "modality")
        for modality, count in by_modality.items():
            assert count == count_trials(conn, TrialQuery(target=("CD19",), modality=(modality,)))
        for target, count in by_target.items():
            assert count == count_trials(conn, TrialQuery(target=(target,), modality=(ADC,)))
    assert by_modality == {"CAR-T": 1, "T-cell engager": 1}  # no CD19 antibody-drug conjugate
    assert by_target == {"CD22": 2}
    assert unpaired == {ADC: 2, "CAR-T": 2, "T-cell engager": 1, "menin inhibitor": 1, "chemotherapy": 1}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("revumenib", {MENIN}),
        ("SNDX-5613", {MENIN}),
        ("SNDX 5613", {MENIN}),
        ("sndx5613", {MENIN}),
        ("Revuforj", {MENIN}),
        ("revuminib", {MENIN}),  # a common misspelling the lexicon knows
        ("Blincyto", {BLINA_INO}),
        ("Besponsa", {BLINA_INO, CAR19_INO}),
        ("obe-cel", {CAR19_INO}),
        ("Aucatzyl", {CAR19_INO}),
        ("xyz-22", {CAR22}),  # the therapy's name as written (no lexicon entry)
        ("KMT2A", {MENIN}),  # a marker: the disease tag KMT2A-rearranged
        ("lineage switch", {MPAL}),  # the record's conditions and keywords
        ("mixed phenotype", {MPAL}),
        ("CD22 CAR-T", {CAR22}),  # named together: one therapy with both
        ("blinatumomab and inotuzumab", {BLINA_INO}),  # every named drug
        ("nct9000000", {BLINA_INO, CAR19_INO, CAR22, MENIN, MPAL}),
        ("%", set()),
        ("_", set()),
        ("no trial has this text", set()),
    ],
)
def test_text_finds_drugs_by_any_name_and_conditions(world: Engine, text: str, expected: set[str]) -> None:
    with world.connect() as conn:
        assert found(conn, text=text) == expected


def test_text_reads_only_the_current_version(world: Engine) -> None:
    renamed = Seed(CAR22, ("B-ALL",), ("B-ALL",), (therapy("Tisagenlecleucel", None, "CAR-T", ["CD19"]),))
    with world.begin() as conn:
        result = store_records(
            conn, [_record(renamed, 2, posted="2026-11-15")], source="import", now=NOW - timedelta(days=1)
        )
        (stored,) = result.stored
        assert stored.is_current
        classification = classification_of(renamed)
        store_classifications(
            conn,
            [ClassifiedVersion(stored.version_id, CAR22, classification, labels_of(classification))],
            now=NOW,
        )
    with world.connect() as conn:
        assert found(conn, text="xyz-22") == set()
        assert found(conn, text="tisagenlecleucel") == {CAR22}
        assert found(conn, target=("CD22",), modality=("CAR-T",)) == set()


def test_the_cli_asks_the_same_paired_and_text_questions(
    world: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEMEWATCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HEMEWATCH_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("HEMEWATCH_DATABASE_URL", db_url)

    def listed(*args: str) -> set[str]:
        result = CliRunner().invoke(app, ["trials", *args, "--json"])
        assert result.exit_code == 0, result.output
        return {row["nct_id"] for row in json.loads(result.output)}

    assert listed("--target", "CD22", "--modality", ADC) == {BLINA_INO, CAR19_INO}
    assert listed("--target", "CD19", "--modality", ADC) == set()
    assert listed("--text", "Revuforj") == {MENIN}


def test_acceptance_names_are_in_the_bundled_lexicon() -> None:
    lexicon = default_lexicon()
    agents = {
        "revumenib": "revumenib",
        "SNDX-5613": "revumenib",
        "sndx5613": "revumenib",
        "Revuforj": "revumenib",
        "Blincyto": "blinatumomab",
        "Besponsa": "inotuzumab ozogamicin",
        "obe-cel": "obecabtagene autoleucel",
    }
    for text, agent in agents.items():
        assert resolve_text(text, lexicon) == ((("agent", (agent,)),),), text
    assert resolve_text("KMT2A", lexicon) == ((("disease", ("KMT2A-rearranged",)),),)
    assert resolve_text("CART19", lexicon) == ((("pair", ("CD19|CAR-T",)),),)
    # A word the lexicon does not know leaves the text to plain matching; catch-alls are skipped.
    assert resolve_text("blinatumomab in children", lexicon) == ()
    assert resolve_text("leukemia", lexicon) == ()
    assert resolve_text("revumenib leukemia", lexicon) == ((("agent", ("revumenib",)),),)


def test_suggestions_are_the_nearest_lexicon_names() -> None:
    lexicon = default_lexicon()
    assert [(s.kind, s.value) for s in suggest_names("blinatumomb", lexicon)] == [("agent", "blinatumomab")]
    assert suggest_names("blinatumomb in children", lexicon)[0].value == "blinatumomab"
    assert suggest_names("zzzz", lexicon) == []
    assert all(s.value != "blinatumomab" for s in suggest_names("blinatumomab", lexicon))
