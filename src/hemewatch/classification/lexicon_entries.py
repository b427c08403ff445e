"""Typed lexicon entries, built from validated YAML entries with every cross-reference checked."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from hemewatch.classification.lexicon_schema import (
    CUE_EFFECTS,
    SETTING_SCOPES,
    EntryReader,
    check_references,
)

LINEAGES: Final = frozenset({"any", "B", "T", "myeloid", "lymphoid"})
# The lineage an antigen marks: a therapy directed at it tells which leukemia an unspecified name means.
TARGET_LINEAGES: Final = frozenset({"B", "T", "myeloid"})
TERM_KINDS: Final = frozenset({"disease", "marker", "agent", "target", "modality", "setting"})
# A MeSH descriptor id (D015470; newer descriptors have nine digits) and an NCI Thesaurus code (C62528).
MESH_ID: Final = re.compile(r"D\d{6}(?:\d{3})?")
NCIT_CODE: Final = re.compile(r"C\d{1,7}")


@dataclass(frozen=True, slots=True)
class DiseaseEntry:
    """A disease or disease group and how it maps onto the guideline vocabulary."""

    id: str
    label: str | None
    acute: bool
    unspecified: bool
    lineage: str | None
    chronic: bool
    oncologic: bool
    hematologic: bool
    implies: tuple[str, ...]
    # A name that says no more than "a disease" ("leukemia", "cancer", "other"): kept as a tag for the
    # rules, never shown as a disease on pages or facets.
    catch_all: bool = False
    # The MeSH descriptor (id and heading) this entry is, when there is one; records' condition MeSH
    # terms carrying the id are read as naming this entry.
    mesh: str | None = None
    mesh_heading: str | None = None


@dataclass(frozen=True, slots=True)
class MarkerEntry:
    """A genetic marker or lineage word that turns a neighbouring disease into a subtype."""

    id: str
    subtypes: tuple[tuple[str, str], ...]
    tag: str | None

    def subtype_of(self, disease: str) -> str | None:
        """Return the subtype this marker makes of a disease, if any."""
        return dict(self.subtypes).get(disease)


@dataclass(frozen=True, slots=True)
class TargetEntry:
    """An antigen an immunotherapy is directed at."""

    id: str
    label: str
    checkpoint: bool
    # The leukemia lineage the antigen marks (CD19 B, CD7 T, CD33 myeloid); None for antigens that
    # say nothing of the lineage (CD38, checkpoints).
    lineage: str | None = None


@dataclass(frozen=True, slots=True)
class ModalityEntry:
    """A therapeutic modality and the rules that relate it to other modalities."""

    id: str
    label: str | None
    immunotherapy: bool
    family: str | None
    supersedes: tuple[str, ...]
    yields_to: tuple[str, ...]
    diagnostic: bool
    takes_targets: bool
    upgrades: tuple[tuple[str, str], ...]
    # For a modality that is itself a drug class ("FLT3 inhibitor", "hypomethylating agent").
    drug_class: str | None = None


@dataclass(frozen=True, slots=True)
class DrugClassEntry:
    """A drug class as clinicians name it ("BCR-ABL TKI", "purine analogue"); not matched in text."""

    id: str
    label: str | None


@dataclass(frozen=True, slots=True)
class AgentEntry:
    """A named drug or product, its modality and its targets."""

    id: str
    modality: str
    targets: tuple[str, ...]
    drug_class: str | None = None
    # The agent's NCI Thesaurus code, when one is known.
    ncit: str | None = None


@dataclass(frozen=True, slots=True)
class SettingEntry:
    """A group of disease-setting phrases and the fields in which they may define the setting."""

    id: str
    label: str | None
    scope: str


@dataclass(frozen=True, slots=True)
class CueEntry:
    """A context cue that changes the meaning of nearby terms."""

    id: str
    effect: str
    direction: str
    max_words: int
    applies_to: frozenset[str]


@dataclass(frozen=True, slots=True)
class StemEntry:
    """A generic-name ending that classes an unknown drug ("-tinib" is a kinase inhibitor)."""

    id: str
    modality: str
    drug_class: str | None = None


@dataclass(frozen=True, slots=True)
class Entries:
    """Every entry of every kind, keyed by id."""

    diseases: Mapping[str, DiseaseEntry]
    markers: Mapping[str, MarkerEntry]
    targets: Mapping[str, TargetEntry]
    modalities: Mapping[str, ModalityEntry]
    agents: Mapping[str, AgentEntry]
    settings: Mapping[str, SettingEntry]
    populations: frozenset[str]
    cues: Mapping[str, CueEntry]
    stems: Mapping[str, StemEntry]
    drug_classes: Mapping[str, DrugClassEntry]


def build_entries(readers: Mapping[str, Sequence[EntryReader]]) -> Entries:
    """Build typed entries and check that every id one entry names exists."""
    diseases = {reader.id: _disease(reader) for reader in readers.get("diseases", [])}
    drug_classes = {reader.id: _drug_class(reader) for reader in readers.get("drug_classes", [])}
    targets = {reader.id: _target(reader) for reader in readers.get("targets", [])}
    modalities = {reader.id: _modality(reader) for reader in readers.get("modalities", [])}
    _check_disease_references(readers.get("diseases", []), diseases)
    _check_modality_references(readers.get("modalities", []), modalities)
    agents = readers.get("agents", [])
    check_references(agents, "modality", modalities, "modality", many=False)
    check_references(agents, "targets", targets, "target", many=True)
    check_references(readers.get("stems", []), "modality", modalities, "modality", many=False)
    for kind in ("agents", "stems", "modalities"):
        check_references(readers.get(kind, []), "drug_class", drug_classes, "drug class", many=False)
    return Entries(
        diseases=diseases,
        markers={reader.id: _marker(reader, diseases) for reader in readers.get("markers", [])},
        targets=targets,
        modalities=modalities,
        agents={reader.id: _agent(reader) for reader in agents},
        settings={reader.id: _setting(reader) for reader in readers.get("settings", [])},
        populations=frozenset(reader.id for reader in readers.get("populations", [])),
        cues={reader.id: _cue(reader) for reader in readers.get("cues", [])},
        stems={reader.id.lower(): _stem(reader) for reader in readers.get("stems", [])},
        drug_classes=drug_classes,
    )


def _check_disease_references(readers: Sequence[EntryReader], diseases: Mapping[str, DiseaseEntry]) -> None:
    check_references(readers, "implies", diseases, "disease", many=True)


def _check_modality_references(
    readers: Sequence[EntryReader], modalities: Mapping[str, ModalityEntry]
) -> None:
    check_references(readers, "supersedes", modalities, "modality", many=True)
    families = {entry.family for entry in modalities.values() if entry.family}
    for reader in readers:
        for family in reader.strings("yields_to"):
            if family not in families:
                raise reader.fail(f"'yields_to' names unknown family '{family}'")
        for source, result in reader.mapping("upgrades").items():
            for name in (source, result):
                if name not in modalities:
                    raise reader.fail(f"'upgrades' names unknown modality '{name}'")


def _disease(reader: EntryReader) -> DiseaseEntry:
    mesh, heading = mesh_fields(reader)
    return DiseaseEntry(
        id=reader.id,
        label=reader.text("label"),
        acute=reader.flag("acute"),
        unspecified=reader.flag("unspecified"),
        lineage=reader.text("lineage", allowed=LINEAGES),
        chronic=reader.flag("chronic"),
        oncologic=reader.flag("oncologic", default=True),
        hematologic=reader.flag("hematologic", default=True),
        implies=reader.strings("implies"),
        catch_all=reader.flag("catch_all", default=reader.flag("unspecified")),
        mesh=mesh,
        mesh_heading=heading,
    )


def mesh_fields(reader: EntryReader) -> tuple[str | None, str | None]:
    """A disease's MeSH id and heading: both or neither, the id of MeSH's form."""
    mesh, heading = reader.text("mesh"), reader.text("mesh_heading")
    if (mesh is None) != (heading is None):
        raise reader.fail("'mesh' and 'mesh_heading' go together")
    if mesh is not None and not MESH_ID.fullmatch(mesh):
        raise reader.fail(f"'mesh' is {mesh!r}; a MeSH descriptor id is D and six (or nine) digits")
    return mesh, heading


def _target(reader: EntryReader) -> TargetEntry:
    return TargetEntry(
        reader.id,
        reader.required_text("label"),
        reader.flag("checkpoint"),
        reader.text("lineage", allowed=TARGET_LINEAGES),
    )


def _modality(reader: EntryReader) -> ModalityEntry:
    return ModalityEntry(
        id=reader.id,
        label=reader.text("label"),
        immunotherapy=reader.flag("immunotherapy"),
        family=reader.text("family"),
        supersedes=reader.strings("supersedes"),
        yields_to=reader.strings("yields_to"),
        diagnostic=reader.flag("diagnostic"),
        takes_targets=reader.flag("takes_targets"),
        upgrades=tuple(sorted(reader.mapping("upgrades").items())),
        drug_class=reader.text("drug_class"),
    )


def _drug_class(reader: EntryReader) -> DrugClassEntry:
    for field in ("terms", "abbreviations", "ambiguous"):
        if reader.strings(field):
            raise reader.fail(f"drug classes are not matched in text; '{field}' must be empty")
    return DrugClassEntry(reader.id, reader.text("label"))


def _agent(reader: EntryReader) -> AgentEntry:
    ncit = reader.text("ncit")
    if ncit is not None and not NCIT_CODE.fullmatch(ncit):
        raise reader.fail(f"'ncit' is {ncit!r}; an NCI Thesaurus code is C and digits")
    return AgentEntry(
        reader.id,
        reader.required_text("modality"),
        reader.strings("targets"),
        reader.text("drug_class"),
        ncit,
    )


def _setting(reader: EntryReader) -> SettingEntry:
    return SettingEntry(
        reader.id, reader.text("label"), reader.text("scope", allowed=SETTING_SCOPES) or "any"
    )


def _marker(reader: EntryReader, diseases: Mapping[str, DiseaseEntry]) -> MarkerEntry:
    subtypes = reader.mapping("subtypes")
    for disease, subtype in subtypes.items():
        for name in (disease, subtype):
            if name not in diseases:
                raise reader.fail(f"'subtypes' names unknown disease '{name}'")
    tag = reader.text("tag")
    if tag is not None and tag not in diseases:
        raise reader.fail(f"'tag' names unknown disease '{tag}'")
    return MarkerEntry(reader.id, tuple(sorted(subtypes.items())), tag)


def _cue(reader: EntryReader) -> CueEntry:
    applies_to = reader.strings("applies_to")
    for kind in applies_to:
        if kind not in TERM_KINDS:
            raise reader.fail(f"'applies_to' names unknown term kind '{kind}'")
    return CueEntry(
        id=reader.id,
        effect=reader.required_text("effect", allowed=CUE_EFFECTS),
        direction=reader.required_text("direction", allowed=frozenset({"before", "after"})),
        max_words=reader.number("max_words"),
        applies_to=frozenset(applies_to),
    )


def _stem(reader: EntryReader) -> StemEntry:
    return StemEntry(reader.id.lower(), reader.required_text("modality"), reader.text("drug_class"))
