"""Validation of lexicon files: turns parsed YAML into typed entries or a LexiconError naming the problem."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from hemewatch.errors import LexiconError

NAME_FIELDS: Final = ("terms", "brands", "codes", "synonyms", "misspellings")
_COMMON_FIELDS: Final = frozenset({"id", "terms", "abbreviations", "ambiguous", "note"})
# The fields each kind of entry may have; anything else is a typo worth reporting.
FIELDS: Final = {
    "diseases": frozenset(
        {
            "label",
            "acute",
            "unspecified",
            "catch_all",
            "lineage",
            "chronic",
            "oncologic",
            "hematologic",
            "implies",
            "mesh",
            "mesh_heading",
        }
    ),
    "markers": frozenset({"subtypes", "tag"}),
    "targets": frozenset({"label", "checkpoint", "lineage"}),
    "modalities": frozenset(
        {
            "label",
            "immunotherapy",
            "family",
            "supersedes",
            "yields_to",
            "constructs",
            "diagnostic",
            "takes_targets",
            "upgrades",
            "drug_class",
        }
    ),
    "agents": frozenset(
        {"modality", "drug_class", "targets", "brands", "codes", "synonyms", "misspellings", "ncit"}
    ),
    "settings": frozenset({"label", "scope"}),
    "populations": frozenset(),
    "cues": frozenset({"effect", "direction", "max_words", "applies_to"}),
    "stems": frozenset({"modality", "drug_class"}),
    # Drug classes are a vocabulary for agents, stems and modalities to name; they are not matched in text.
    "drug_classes": frozenset({"label"}),
}
KINDS: Final = tuple(FIELDS)
CUE_EFFECTS: Final = frozenset({"negated", "history", "prior", "failed", "before"})
SETTING_SCOPES: Final = frozenset({"any", "narrow", "defining"})


class EntryReader:
    """Reads typed fields of one entry, raising LexiconError that names the file and the entry."""

    def __init__(self, file: str, raw: Mapping[str, Any], position: int) -> None:
        self.file = file
        self.raw = raw
        entry_id = raw.get("id")
        if not isinstance(entry_id, str) or not entry_id.strip():
            raise LexiconError(f"{file}: entry #{position + 1} has no 'id' (a non-empty string is required)")
        self.id = entry_id

    def fail(self, problem: str) -> LexiconError:
        """Build the error for a problem in this entry."""
        return LexiconError(f"{self.file}: entry '{self.id}': {problem}")

    def text(self, key: str, *, required: bool = False, allowed: frozenset[str] | None = None) -> str | None:
        """Read an optional (or required) string field, checked against allowed values."""
        value = self.raw.get(key)
        if value is None:
            if required:
                raise self.fail(f"'{key}' is required")
            return None
        if not isinstance(value, str):
            raise self.fail(f"'{key}' must be a string, not {type(value).__name__}")
        if allowed is not None and value not in allowed:
            raise self.fail(f"'{key}' is {value!r}; expected one of {', '.join(sorted(allowed))}")
        return value

    def required_text(self, key: str, *, allowed: frozenset[str] | None = None) -> str:
        """Read a required string field."""
        value = self.text(key, required=True, allowed=allowed)
        if value is None:
            raise self.fail(f"'{key}' is required")
        return value

    def flag(self, key: str, *, default: bool = False) -> bool:
        """Read an optional boolean field."""
        value = self.raw.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(f"'{key}' must be true or false, not {value!r}")
        return value

    def number(self, key: str) -> int:
        """Read a required non-negative integer field."""
        value = self.raw.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise self.fail(f"'{key}' must be a non-negative integer, not {value!r}")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        """Read an optional list of non-empty strings."""
        value = self.raw.get(key)
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.fail(f"'{key}' must be a list, not {type(value).__name__}")
        for item in value:
            if not isinstance(item, str | int | float) or isinstance(item, bool) or not str(item).strip():
                raise self.fail(f"'{key}' contains {item!r}; every item must be a non-empty string")
        return tuple(str(item) for item in value)

    def mapping(self, key: str) -> dict[str, str]:
        """Read an optional mapping of strings to strings."""
        value = self.raw.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise self.fail(f"'{key}' must map names to names")
        return dict(value)


def read_document(file: str, document: object) -> tuple[str, list[EntryReader]]:
    """Check a lexicon file's top level and return its kind and entry readers."""
    if not isinstance(document, dict):
        raise LexiconError(f"{file}: the top level must be a mapping with 'kind' and 'entries'")
    kind = document.get("kind")
    if kind not in KINDS:
        raise LexiconError(f"{file}: 'kind' is {kind!r}; expected one of {', '.join(KINDS)}")
    entries = document.get("entries")
    if not isinstance(entries, list):
        raise LexiconError(f"{file}: 'entries' must be a list")
    readers = []
    allowed = _COMMON_FIELDS | FIELDS[str(kind)]
    for position, raw in enumerate(entries):
        if not isinstance(raw, dict):
            raise LexiconError(f"{file}: entry #{position + 1} must be a mapping, not {type(raw).__name__}")
        reader = EntryReader(file, raw, position)
        unknown = sorted(str(key) for key in raw if key not in allowed)
        if unknown:
            raise reader.fail(f"unknown field(s) {', '.join(unknown)} for {kind}")
        readers.append(reader)
    return str(kind), readers


def check_references(
    readers: Sequence[EntryReader], field: str, known: Mapping[str, object], what: str, *, many: bool
) -> None:
    """Make sure every id named in a field exists among the known entries of another kind."""
    for reader in readers:
        names = reader.strings(field) if many else [name for name in [reader.text(field)] if name]
        for name in names:
            if name not in known:
                raise reader.fail(f"'{field}' names unknown {what} '{name}'")


def check_unique(readers: Sequence[EntryReader], kind: str) -> None:
    """Reject two entries of one kind with the same id."""
    seen: dict[str, str] = {}
    for reader in readers:
        if reader.id in seen:
            raise reader.fail(f"duplicate {kind} id (also defined in {seen[reader.id]})")
        seen[reader.id] = reader.file
