"""Domain values returned by the classifier: tags, their evidence and the whole classification."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

TagKind = Literal["disease", "agent", "modality", "target", "setting", "population"]

DISEASE: Final = "disease"
AGENT: Final = "agent"
MODALITY: Final = "modality"
TARGET: Final = "target"
SETTING: Final = "setting"
POPULATION: Final = "population"

TAG_KINDS: Final[tuple[TagKind, ...]] = (DISEASE, AGENT, MODALITY, TARGET, SETTING, POPULATION)


@dataclass(frozen=True, slots=True)
class Evidence:
    """Where a tag comes from: the record field path and the text matched there."""

    path: str
    text: str


@dataclass(frozen=True, slots=True)
class Tag:
    """One classification label with the evidence that supports it."""

    kind: TagKind
    value: str
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True, slots=True)
class Classification:
    """Everything the classifier says about one study, with the lexicon version that produced it."""

    nct_id: str | None
    tags: tuple[Tag, ...]
    acute_leukemia: bool
    immunotherapy: bool
    lexicon_version: str

    def values(self, kind: TagKind) -> tuple[str, ...]:
        """Return the sorted values of the tags of one kind."""
        return tuple(sorted(tag.value for tag in self.tags if tag.kind == kind))

    def tags_of(self, kind: TagKind) -> tuple[Tag, ...]:
        """Return the tags of one kind, in value order."""
        return tuple(sorted((tag for tag in self.tags if tag.kind == kind), key=lambda tag: tag.value))

    def get(self, kind: TagKind, value: str) -> Tag | None:
        """Return the tag of that kind and value, or None when the study does not have it."""
        for tag in self.tags:
            if tag.kind == kind and tag.value == value:
                return tag
        return None

    def has(self, kind: TagKind, value: str) -> bool:
        """Tell whether the study carries the tag."""
        return self.get(kind, value) is not None
