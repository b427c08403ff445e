"""Loading the lexicons: YAML data files validated into typed entries and one compiled term matcher."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Final

import yaml

from hemewatch.classification.lexicon_schema import (
    CUE_EFFECTS,
    NAME_FIELDS,
    SETTING_SCOPES,
    EntryReader,
    check_references,
    check_unique,
    read_document,
)
from hemewatch.classification.matching import Hit, TermMatcher
from hemewatch.classification.terms import canonical, expand_template, spelling_variants
from hemewatch.errors import LexiconError

MANIFEST: Final = "manifest.yaml"
_CD_NUMBER: Final = re.compile(r"^CD(\d+)$")


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
    implies: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MarkerEntry:
    """A genetic marker that turns a neighbouring disease into a subtype."""

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


@dataclass(frozen=True, slots=True)
class AgentEntry:
    """A named drug or product, its modality and its targets."""

    id: str
    modality: str
    targets: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SettingEntry:
    """A disease setting phrase group."""

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
    matcher: TermMatcher


def load_lexicon(directory: Path | None = None) -> Lexicon:
    """Load and validate the lexicons from a directory (the bundled ones by default)."""
    if directory is None:
        return default_lexicon()
    return parse_lexicon(_read_directory(directory))


@cache
def default_lexicon() -> Lexicon:
    """Return the bundled lexicons, loaded once per process."""
    root = resources.files("hemewatch.classification").joinpath("lexicons")
    documents = {}
    for item in root.iterdir():
        if item.name.endswith(".yaml"):
            documents[item.name] = item.read_text(encoding="utf-8")
    return parse_lexicon(documents)


def _read_directory(directory: Path) -> dict[str, str]:
    try:
        return {path.name: path.read_text(encoding="utf-8") for path in sorted(directory.glob("*.yaml"))}
    except OSError as exc:
        raise LexiconError(f"cannot read lexicon directory {directory}: {exc}") from exc


def parse_lexicon(documents: Mapping[str, str]) -> Lexicon:
    """Validate lexicon documents (file name -> YAML text, with manifest.yaml) into a Lexicon."""
    declared, files = _read_manifest(documents)
    readers: dict[str, list[EntryReader]] = {}
    for name in files:
        if name not in documents:
            raise LexiconError(f"{MANIFEST}: lists {name}, which does not exist")
        kind, entries = read_document(name, _parse_yaml(name, documents[name]))
        readers.setdefault(kind, []).extend(entries)
    for kind, entries in readers.items():
        check_unique(entries, kind)
    lexicon_parts = _build_entries(readers)
    matcher = TermMatcher.build(_iter_terms(readers, lexicon_parts["targets"]))  # type: ignore[arg-type]
    digest = hashlib.sha256()
    for name in files:
        digest.update(name.encode())
        digest.update(documents[name].encode())
    return Lexicon(version=f"{declared}+{digest.hexdigest()[:12]}", matcher=matcher, **lexicon_parts)  # type: ignore[arg-type]


def _parse_yaml(name: str, text: str) -> object:
    try:
        return yaml.safe_load(text)
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
    if not isinstance(files, list) or not all(isinstance(name, str) for name in files) or not files:
        raise LexiconError(f"{MANIFEST}: 'files' must be a list of file names")
    return version, list(files)


def _build_entries(readers: Mapping[str, list[EntryReader]]) -> dict[str, object]:
    diseases = {reader.id: _disease(reader) for reader in readers.get("diseases", [])}
    targets = {
        reader.id: TargetEntry(reader.id, reader.text("label", required=True) or "", reader.flag("checkpoint"))
        for reader in readers.get("targets", [])
    }
    modalities = {reader.id: _modality(reader) for reader in readers.get("modalities", [])}
    families = {entry.family for entry in modalities.values() if entry.family}
    for reader in readers.get("diseases", []):
        check_references([reader], "implies", diseases, "disease", many=True)
    for reader in readers.get("modalities", []):
        check_references([reader], "supersedes", modalities, "modality", many=True)
        for family in reader.strings("yields_to"):
            if family not in families:
                raise reader.fail(f"'yields_to' names unknown family '{family}'")
    check_references(readers.get("agents", []), "modality", modalities, "modality", many=False)
    check_references(readers.get("agents", []), "targets", targets, "target", many=True)
    markers = {reader.id: _marker(reader, diseases) for reader in readers.get("markers", [])}
    return {
        "diseases": diseases,
        "markers": markers,
        "targets": targets,
        "modalities": modalities,
        "agents": {
            reader.id: AgentEntry(reader.id, reader.text("modality", required=True) or "", reader.strings("targets"))
            for reader in readers.get("agents", [])
        },
        "settings": {
            reader.id: SettingEntry(
                reader.id, reader.text("label"), reader.text("scope", allowed=SETTING_SCOPES) or "any"
            )
            for reader in readers.get("settings", [])
        },
        "populations": frozenset(reader.id for reader in readers.get("populations", [])),
        "cues": {reader.id: _cue(reader) for reader in readers.get("cues", [])},
    }


def _disease(reader: EntryReader) -> DiseaseEntry:
    return DiseaseEntry(
        id=reader.id,
        label=reader.text("label"),
        acute=reader.flag("acute"),
        unspecified=reader.flag("unspecified"),
        lineage=reader.text("lineage", allowed=frozenset({"any", "B", "T", "myeloid", "lymphoid"})),
        chronic=reader.flag("chronic"),
        oncologic=reader.raw.get("oncologic", True) is not False,
        implies=reader.strings("implies"),
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
    known = {"disease", "marker", "agent", "target", "modality", "setting"}
    for kind in applies_to:
        if kind not in known:
            raise reader.fail(f"'applies_to' names unknown term kind '{kind}'")
    return CueEntry(
        id=reader.id,
        effect=reader.text("effect", required=True, allowed=CUE_EFFECTS) or "",
        direction=reader.text("direction", required=True, allowed=frozenset({"before", "after"})) or "",
        max_words=reader.number("max_words"),
        applies_to=frozenset(applies_to),
    )


_HIT_KIND: Final = {
    "diseases": "disease",
    "markers": "marker",
    "targets": "target",
    "modalities": "modality",
    "agents": "agent",
    "settings": "setting",
    "populations": "population",
    "cues": "cue",
}


def _iter_terms(
    readers: Mapping[str, list[EntryReader]], targets: Mapping[str, TargetEntry]
) -> Iterator[tuple[str, Hit, bool]]:
    owners: dict[tuple[str, str, bool], str] = {}
    for kind, entries in readers.items():
        hit_kind = _HIT_KIND[kind]
        for reader in entries:
            hit = Hit(hit_kind, reader.id)
            # An agent's id is its generic name, matched like its other names.
            for term, case_sensitive in _entry_names(reader, id_is_name=kind == "agents"):
                key = (hit_kind, canonical(term, fold=not case_sensitive), case_sensitive)
                if not key[1]:
                    raise reader.fail(f"term {term!r} has no letters or digits")
                owner = owners.setdefault(key, reader.id)
                if owner != reader.id:
                    raise reader.fail(f"term {term!r} already names {hit_kind} '{owner}'")
                yield term, hit, case_sensitive
            if kind == "modalities":
                for construct in reader.strings("constructs"):
                    yield construct, Hit("construct", reader.id), False
    # CAR products are often named after their antigen's CD number: CAR7, CART19, SCRI-CAR22v2.
    for target in targets.values():
        number = _CD_NUMBER.match(target.id)
        if number:
            for template in ("CAR{}", "CART{}", "CAR-T{}"):
                term = template.format(number.group(1))
                yield term, Hit("target", target.id), False
                yield term, Hit("modality", "CAR-T"), False


def _entry_names(reader: EntryReader, *, id_is_name: bool) -> Iterator[tuple[str, bool]]:
    names = [(field, term) for field in NAME_FIELDS for term in reader.strings(field)]
    if id_is_name:
        names.insert(0, ("id", reader.id))
    for _field, raw_term in names:
        try:
            expanded = expand_template(raw_term)
        except ValueError as exc:
            raise reader.fail(str(exc)) from exc
        for term in expanded:
            for variant in spelling_variants(term):
                yield variant, False
    for abbreviation in reader.strings("abbreviations"):
        yield abbreviation, True
