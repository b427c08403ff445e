"""Domain values returned by the classifier: tags, their evidence and the whole classification."""

from __future__ import annotations

from collections.abc import Iterable
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

Role = Literal["investigational", "backbone", "lymphodepletion", "conditioning", "supportive", "comparator"]
ROLES: Final[tuple[Role, ...]] = (
    "investigational",
    "comparator",
    "backbone",
    "lymphodepletion",
    "conditioning",
    "supportive",
)
# Roles whose therapies are what a trial is about: its labels, pairs and mechanism line come from them.
STUDIED_ROLES: Final[frozenset[str]] = frozenset({"investigational", "comparator", "backbone"})


@dataclass(frozen=True, slots=True)
class Evidence:
    """Where a tag comes from: the record field path and the text matched there."""

    path: str
    text: str


def evidence_list(evidence: Iterable[Evidence]) -> list[dict[str, str]]:
    """Evidence in its JSON form, as stored and answered: [{"path": …, "text": …}, …]."""
    return [{"path": item.path, "text": item.text} for item in evidence]


@dataclass(frozen=True, slots=True)
class Tag:
    """One classification label with the evidence that supports it."""

    kind: TagKind
    value: str
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True, slots=True)
class Therapy:
    """One studied intervention as agent -> modality -> targets, with its role in the trial.

    `agent` is the lexicon's canonical name, or None when no lexicon entry names the product (an
    unresolved agent); `modality` is None when nothing in the record says what the product is.
    """

    name: str
    agent: str | None
    modality: str | None
    drug_class: str | None
    targets: tuple[str, ...]
    role: Role
    evidence: tuple[Evidence, ...]
    # A product no lexicon names: no modality at all, or one read only from its INN stem. Generic
    # phrases ("chemotherapy", "placebo") have no agent but are not unresolved.
    unresolved: bool = False

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "agent": self.agent,
            "modality": self.modality,
            "drug_class": self.drug_class,
            "targets": list(self.targets),
            "role": self.role,
            "evidence": evidence_list(self.evidence),
            "unresolved": self.unresolved,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Therapy:
        """Rebuild a therapy from its JSON form."""
        evidence = data.get("evidence") or []
        targets = data.get("targets") or []
        role = str(data.get("role") or "investigational")
        return cls(
            name=str(data.get("name") or ""),
            agent=str(data["agent"]) if data.get("agent") else None,
            modality=str(data["modality"]) if data.get("modality") else None,
            drug_class=str(data["drug_class"]) if data.get("drug_class") else None,
            targets=tuple(str(t) for t in targets) if isinstance(targets, list) else (),
            role=role if role in ROLES else "investigational",
            evidence=tuple(
                Evidence(str(e["path"]), str(e["text"]))
                for e in (evidence if isinstance(evidence, list) else [])
                if isinstance(e, dict)
            ),
            unresolved=bool(data.get("unresolved")),
        )

    @property
    def pairs(self) -> tuple[tuple[str, str], ...]:
        """(target, modality) for each target of this therapy: what paired questions match."""
        if self.modality is None:
            return ()
        return tuple((target, self.modality) for target in self.targets)


@dataclass(frozen=True, slots=True)
class Classification:
    """Everything the classifier says about one study, with the lexicon version that produced it."""

    nct_id: str | None
    tags: tuple[Tag, ...]
    acute_leukemia: bool
    immunotherapy: bool
    lexicon_version: str
    therapies: tuple[Therapy, ...] = ()

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
