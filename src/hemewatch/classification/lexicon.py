"""Loading the lexicons: YAML data files validated into typed entries and one compiled term matcher.

The lexicon version is the version declared in manifest.yaml plus a hash of every file's content,
so any edit to the data changes the version recorded with each classification.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
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

__all__ = [
    "AgentEntry",
    "CueEntry",
    "DiseaseEntry",
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
    matcher: TermMatcher
    stem_pattern: re.Pattern[str]
    ambiguous: frozenset[tuple[str, str]]

    def modality_of_name(self, word: str) -> str | None:
        """Return the modality a drug name's INN stem implies, or None."""
        match = self.stem_pattern.fullmatch(word)
        return self.stems[match.group(1).lower()].modality if match else None

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


def parse_lexicon(documents: Mapping[str, str]) -> Lexicon:
    """Validate lexicon documents (file name -> YAML text, including manifest.yaml) into a Lexicon."""
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
        matcher=TermMatcher.build(iter_terms(readers, entries.targets)),
        stem_pattern=_stem_pattern(entries.stems),
        ambiguous=ambiguous_abbreviations(readers),
    )


def _stem_pattern(stems: Mapping[str, StemEntry]) -> re.Pattern[str]:
    # Longest stems first; a stem classes only a word with four letters before it ("rituximab", not "mab").
    alternatives = "|".join(re.escape(stem) for stem in sorted(stems, key=len, reverse=True))
    return re.compile(rf"[a-z]{{4,}}({alternatives or '(?!)'})", re.IGNORECASE)


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
