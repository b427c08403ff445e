"""Loading the lexicons: YAML data files validated into typed entries and one compiled term matcher.

The lexicon version is the version declared in manifest.yaml plus a hash of every file's content,
so any edit to the data changes the version recorded with each classification.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Final

import yaml

from hemewatch.classification.lexicon_entries import (
    AgentEntry,
    CueEntry,
    DiseaseEntry,
    DrugClassEntry,
    Entries,
    MarkerEntry,
    ModalityEntry,
    SettingEntry,
    StemEntry,
    TargetEntry,
    build_entries,
)
from hemewatch.classification.lexicon_schema import EntryReader, check_unique, read_document
from hemewatch.classification.lexicon_terms import ambiguous_abbreviations, iter_terms
from hemewatch.classification.matching import TermMatcher
from hemewatch.classification.terms import canonical
from hemewatch.errors import LexiconError

MANIFEST: Final = "manifest.yaml"

# What the classifier's Python rules name by id, by kind: loading fails when one is missing, so that
# renaming or removing an entry cannot silently switch a rule off. Besides the lexicon kinds, "modality
# families", "disease labels" and "setting labels" are values of those fields that the rules compare.
REQUIRED_IDS: Final[Mapping[str, frozenset[str]]] = {
    # disease_rules.py (ALL lineages, "other"), disease_scope.py (by-target and myeloid resolution,
    # "acute leukemia" for children), context.py ("infection")
    "diseases": frozenset({"ALL", "B-ALL", "T-ALL", "AML", "acute leukemia", "infection", "other"}),
    "modalities": frozenset(
        {
            # disease_scope.py: MYELOID_MODALITIES
            "FLT3 inhibitor",
            "IDH inhibitor",
            "hypomethylating agent",
            # setting_defaults.py: _ENGINEERED_CELLS; target_rules.py and therapy_rules.py: CAR-NK
            "CAR-T",
            "CAR-NK",
            "TCR-T",
            "NK cells",
            # target_rules.py: antibodies against a checkpoint
            "checkpoint inhibitor",
            "monoclonal antibody",
            # therapy_rules.py: study-level modalities and unknown code names
            "vaccine",
            "supportive care",
            "non-interventional",
            "other targeted therapy",
            # setting_rules.py: _TRANSPLANT and conditioning; therapy_sources.py: conditioning
            "allogeneic HSCT",
            "HSCT (type not stated)",
            "autologous HSCT",
            "conditioning",
            # therapy_roles.py: roles of cytotoxic, supportive and placebo therapies
            "radiotherapy",
            "corticosteroid",
            "GVHD prophylaxis",
            "toxicity management",
            "placebo",
        }
    ),
    # setting_rules.py: _LINE_OF_THERAPY
    "settings": frozenset({"newly diagnosed (line of therapy)"}),
    # population_rules.py
    "populations": frozenset({"pediatric", "AYA", "adult", "older adult"}),
    # therapy_rules.py, therapy_sources.py, setting_defaults.py (_ESTABLISHED_FAMILIES), design.py,
    # therapy_merge.py, therapy_roles.py, target_rules.py (_TARGETED_FAMILIES)
    "modality families": frozenset(
        {"chemotherapy", "transplant", "autologous transplant", "supportive", "diagnostic", "vaccine"}
        | {"cell", "antibody"}
    ),
    # disease_scope.py: an unspecified "leukemia" treated against an antigen of each lineage
    "target lineages": frozenset({"B", "T", "myeloid"}),
    # therapy_roles.py: LYMPHODEPLETING_CLASSES
    "drug_classes": frozenset({"purine analogue", "alkylating agent"}),
    # setting_defaults.py: _RELAPSING_CANCERS; disease_rules.py, disease_scope.py: "acute leukemia"
    "disease labels": frozenset(
        {"B-ALL", "T-ALL", "ALL", "Ph+ ALL", "Ph-like ALL", "AML", "APL", "MPAL", "acute leukemia"}
        | {"lymphoma", "myeloma", "CLL", "CML"}
    ),
    # setting_rules.py: the labels it returns or compares
    "setting labels": frozenset(
        {
            "newly diagnosed",
            "relapsed/refractory",
            "consolidation/maintenance",
            "post-HSCT",
            "bridge to HSCT",
            "post-CAR-T",
        }
    ),
}

__all__ = [
    "REQUIRED_IDS",
    "AgentEntry",
    "CueEntry",
    "DiseaseEntry",
    "DrugClassEntry",
    "Lexicon",
    "MarkerEntry",
    "ModalityEntry",
    "SettingEntry",
    "StemEntry",
    "TargetEntry",
    "default_lexicon",
    "load_lexicon",
    "parse_lexicon",
]


@dataclass(frozen=True, slots=True)
class Lexicon:
    """All lexicons, validated, with the matcher compiled from every term they contain."""

    version: str
    diseases: Mapping[str, DiseaseEntry]
    markers: Mapping[str, MarkerEntry]
    targets: Mapping[str, TargetEntry]
    modalities: Mapping[str, ModalityEntry]
    agents: Mapping[str, AgentEntry]
    settings: Mapping[str, SettingEntry]
    populations: frozenset[str]
    cues: Mapping[str, CueEntry]
    stems: Mapping[str, StemEntry]
    # Drug classes by id ("BCR-ABL TKI"): the vocabulary of the `drug_class` of agents, stems and
    # modalities; not matched in text.
    drug_classes: Mapping[str, DrugClassEntry]
    matcher: TermMatcher
    stem_pattern: re.Pattern[str]
    ambiguous: frozenset[tuple[str, str]]
    # Lineage (B, T, myeloid) -> the antigens that mark it (targets.yaml `lineage`), for the rules.
    lineage_targets: Mapping[str, frozenset[str]]

    def stem_of_name(self, word: str) -> StemEntry | None:
        """Return the INN stem a drug name ends with ("zorbatinib": "-tinib"), or None."""
        match = self.stem_pattern.fullmatch(word)
        return self.stems[match.group(1).lower()] if match else None

    def modality_of_name(self, word: str) -> str | None:
        """Return the modality a drug name's INN stem implies, or None."""
        stem = self.stem_of_name(word)
        return stem.modality if stem else None

    def code_of(self, kind: str, value: str) -> str | None:
        """The standard code of a tag: a disease's MeSH descriptor id, an agent's NCI Thesaurus code."""
        if kind == "disease":
            disease = self.diseases.get(value)
            return disease.mesh if disease else None
        if kind == "agent":
            agent = self.agents.get(value)
            return agent.ncit if agent else None
        return None

    def is_ambiguous(self, kind: str, written: str) -> bool:
        """Tell whether a matched text is an abbreviation that is also an ordinary word."""
        return (kind, canonical(written, fold=False)) in self.ambiguous


def load_lexicon(directory: Path | None = None) -> Lexicon:
    """Load and validate the lexicons from a directory (the bundled ones by default)."""
    if directory is None:
        return default_lexicon()
    try:
        documents = {path.name: path.read_text(encoding="utf-8") for path in sorted(directory.glob("*.yaml"))}
    except OSError as exc:
        raise LexiconError(f"cannot read lexicon directory {directory}: {exc}") from exc
    return parse_lexicon(documents)


@cache
def default_lexicon() -> Lexicon:
    """Return the bundled lexicons, loaded once per process."""
    root = resources.files("hemewatch.classification").joinpath("lexicons")
    documents = {
        item.name: item.read_text(encoding="utf-8") for item in root.iterdir() if item.name.endswith(".yaml")
    }
    return parse_lexicon(documents)


def parse_lexicon(
    documents: Mapping[str, str], *, required: Mapping[str, Collection[str]] = REQUIRED_IDS
) -> Lexicon:
    """Validate lexicon documents (file name -> YAML text, including manifest.yaml) into a Lexicon.

    `required` lists, by kind, the ids that must exist (the classifier rules' REQUIRED_IDS by default).
    """
    declared, files = _read_manifest(documents)
    readers: dict[str, list[EntryReader]] = {}
    for name in files:
        if name not in documents:
            raise LexiconError(f"{MANIFEST}: lists {name}, which does not exist")
        kind, file_readers = read_document(name, _parse_yaml(name, documents[name]))
        readers.setdefault(kind, []).extend(file_readers)
    for kind, kind_readers in readers.items():
        check_unique(kind_readers, kind)
    entries = build_entries(readers)
    check_required(entries, readers, required)
    digest = hashlib.sha256()
    for name in files:
        digest.update(name.encode())
        digest.update(documents[name].encode())
    return Lexicon(
        version=f"{declared}+{digest.hexdigest()[:12]}",
        diseases=entries.diseases,
        markers=entries.markers,
        targets=entries.targets,
        modalities=entries.modalities,
        agents=entries.agents,
        settings=entries.settings,
        populations=entries.populations,
        cues=entries.cues,
        stems=entries.stems,
        drug_classes=entries.drug_classes,
        matcher=TermMatcher.build(iter_terms(readers, entries.targets)),
        stem_pattern=_stem_pattern(entries.stems),
        ambiguous=ambiguous_abbreviations(readers),
        lineage_targets=_by_lineage(entries.targets),
    )


def _by_lineage(targets: Mapping[str, TargetEntry]) -> Mapping[str, frozenset[str]]:
    lineages = {entry.lineage for entry in targets.values() if entry.lineage}
    return {
        lineage: frozenset(t.id for t in targets.values() if t.lineage == lineage) for lineage in lineages
    }


def check_required(
    entries: Entries, readers: Mapping[str, Sequence[EntryReader]], required: Mapping[str, Collection[str]]
) -> None:
    """Make sure every id the classifier rules name exists (see REQUIRED_IDS)."""
    present: dict[str, tuple[str, str, Collection[str]]] = {
        "diseases": ("diseases", "disease", entries.diseases),
        "markers": ("markers", "marker", entries.markers),
        "targets": ("targets", "target", entries.targets),
        "modalities": ("modalities", "modality", entries.modalities),
        "agents": ("agents", "agent", entries.agents),
        "settings": ("settings", "setting", entries.settings),
        "populations": ("populations", "population", entries.populations),
        "cues": ("cues", "cue", entries.cues),
        "drug_classes": ("drug_classes", "drug class", entries.drug_classes),
        "modality families": (
            "modalities",
            "modality family",
            {entry.family for entry in entries.modalities.values() if entry.family},
        ),
        "disease labels": (
            "diseases",
            "disease label",
            {entry.label for entry in entries.diseases.values() if entry.label},
        ),
        "setting labels": (
            "settings",
            "setting label",
            {entry.label for entry in entries.settings.values() if entry.label},
        ),
        "target lineages": (
            "targets",
            "target of lineage",
            {entry.lineage for entry in entries.targets.values() if entry.lineage},
        ),
    }
    for kind, ids in required.items():
        if kind not in present:
            raise LexiconError(f"required ids: unknown kind {kind!r}; expected one of {', '.join(present)}")
        source, what, known = present[kind]
        missing = sorted(name for name in ids if name not in known)
        if missing:
            files = sorted({reader.file for reader in readers.get(source, [])}) or [f"(no {source} file)"]
            raise LexiconError(
                f"{', '.join(files)}: the classifier rules need {what} '{missing[0]}', which is not"
                " defined (REQUIRED_IDS in hemewatch.classification.lexicon)"
            )


def _stem_pattern(stems: Mapping[str, StemEntry]) -> re.Pattern[str]:
    # The longest stem wins ("-tamab" over "-mab", "-brutinib" over "-tinib"): the lazy prefix tries each
    # split from the left, so the first that fits leaves the longest ending. A stem classes only a word
    # with four letters before it ("rituximab", not "mab").
    alternatives = "|".join(re.escape(stem) for stem in sorted(stems, key=len, reverse=True))
    return re.compile(rf"[a-z]{{4,}}?({alternatives or '(?!)'})", re.IGNORECASE)


# The C loader is several times faster where PyYAML was built with libyaml; both are "safe" loaders.
_YAML_LOADER: Final = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _parse_yaml(name: str, text: str) -> object:
    try:
        return yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise LexiconError(f"{name}: not valid YAML: {exc}") from exc


def _read_manifest(documents: Mapping[str, str]) -> tuple[str, list[str]]:
    if MANIFEST not in documents:
        raise LexiconError(f"the lexicon has no {MANIFEST}")
    manifest = _parse_yaml(MANIFEST, documents[MANIFEST])
    if not isinstance(manifest, dict):
        raise LexiconError(f"{MANIFEST}: the top level must be a mapping with 'version' and 'files'")
    version, files = manifest.get("version"), manifest.get("files")
    if not isinstance(version, str) or not version.strip():
        raise LexiconError(f"{MANIFEST}: 'version' must be a non-empty string")
    if not isinstance(files, list) or not files or not all(isinstance(name, str) for name in files):
        raise LexiconError(f"{MANIFEST}: 'files' must be a non-empty list of file names")
    return version, list(files)
