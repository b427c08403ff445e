"""The role of each therapy in its trial, read from the record.

Fludarabine or cyclophosphamide given before a cell therapy is lymphodepletion; chemotherapy or
irradiation before a transplant is conditioning; chemotherapy that an investigational agent is added
to is the backbone; G-CSF, anti-infectives and antiemetics support the treatment (unless supporting
it is what the study tests); an intervention given only in the comparator arms of a randomised
trial is the comparator; the rest is investigational.
"""

from __future__ import annotations

import re
from typing import Final

from hemewatch.classification.lexicon import Lexicon
from hemewatch.classification.model import Evidence, Role, Therapy
from hemewatch.classification.record import StudyFacts
from hemewatch.classification.therapy_drafts import Draft, DraftBook
from hemewatch.classification.therapy_sources import CODE_NAME, SUPPORTIVE_PURPOSES

_COMPARATOR_ARMS: Final = frozenset({"ACTIVE_COMPARATOR", "PLACEBO_COMPARATOR", "SHAM_COMPARATOR"})
_CYTOTOXIC: Final = frozenset({"chemotherapy", "radiotherapy", "corticosteroid"})
_SUPPORT: Final = frozenset({"GVHD prophylaxis", "toxicity management"})
_LYMPHODEPLETION_WORDS: Final = re.compile(
    r"lympho-?\s?deplet|lympho-?\s?reduc|pre-?\s?condition|before (?:the )?(?:CAR|cell) infusion",
    re.IGNORECASE,
)
_CONDITIONING_WORDS: Final = re.compile(
    r"condition|myeloablat|preparative|reduced[- ]intensity|\bRIC\b|\bMAC\b|before (?:the )?transplant"
    r"|total body irradiation|\bTBI\b",
    re.IGNORECASE,
)
# Drug classes given to make room for infused cells or a graft (fludarabine, cyclophosphamide,
# bendamustine, busulfan, treosulfan, melphalan, thiotepa).
LYMPHODEPLETING_CLASSES: Final = frozenset({"purine analogue", "alkylating agent"})


def assign_roles(book: DraftBook, facts: StudyFacts, lexicon: Lexicon) -> list[Therapy]:
    """Give each draft its role and freeze it into a therapy, in the order of the record."""
    drafts = sorted(book, key=lambda d: (d.index is None, d.index if d.index is not None else 0))
    families = [_family(d, lexicon) for d in drafts]
    cell = any(f == "cell" for f in families)
    transplant = any(f in ("transplant", "autologous transplant") for f in families)
    novel = any(_is_novel(d, f) for d, f in zip(drafts, families, strict=True))
    therapies = []
    for draft in drafts:
        role = _role(draft, facts, lexicon, cell=cell, transplant=transplant, novel=novel)
        therapies.append(_freeze(draft, role, lexicon))
    return therapies


def _family(draft: Draft, lexicon: Lexicon) -> str | None:
    return lexicon.modalities[draft.modality].family if draft.modality else None


def _is_novel(draft: Draft, family: str | None) -> bool:
    """An anticancer therapy that is not cytotoxic background: what a backbone is given with."""
    if draft.modality is None:
        return draft.item is not None  # an unresolved investigational product
    return draft.modality not in _CYTOTOXIC and family not in (
        "chemotherapy",
        "supportive",
        "diagnostic",
        "transplant",
        "autologous transplant",
        None,
    )


def _role(
    draft: Draft, facts: StudyFacts, lexicon: Lexicon, *, cell: bool, transplant: bool, novel: bool
) -> Role:
    modality = draft.modality
    family = _family(draft, lexicon)
    text = draft.item.text if draft.item is not None else draft.name
    if modality == "placebo":
        return "comparator"
    if family == "supportive" or modality in _SUPPORT:
        return "investigational" if facts.primary_purpose in SUPPORTIVE_PURPOSES else "supportive"
    if modality == "conditioning":
        return "conditioning"
    if modality in _CYTOTOXIC or family == "chemotherapy":
        drug_class = _drug_class(draft, lexicon)
        depleting = drug_class in LYMPHODEPLETING_CLASSES or modality == "radiotherapy"
        if cell and (_LYMPHODEPLETION_WORDS.search(text) or (depleting and not transplant)):
            return "lymphodepletion"
        if transplant and (_CONDITIONING_WORDS.search(text) or depleting):
            return "conditioning"
    if _comparator(draft, facts):
        return "comparator"
    if (modality in _CYTOTOXIC or family == "chemotherapy") and novel:
        return "backbone"
    return "investigational"


def _comparator(draft: Draft, facts: StudyFacts) -> bool:
    item = draft.item
    return (
        facts.allocation == "RANDOMIZED"
        and item is not None
        and bool(item.arm_types)
        and set(item.arm_types) <= _COMPARATOR_ARMS
    )


def _drug_class(draft: Draft, lexicon: Lexicon) -> str | None:
    if draft.agent is not None and (agent := lexicon.agents.get(draft.agent)) and agent.drug_class:
        return agent.drug_class
    if draft.modality is not None:
        modality_class = getattr(lexicon.modalities[draft.modality], "drug_class", None)
        if isinstance(modality_class, str):
            return modality_class
    return draft.stem_class


def _freeze(draft: Draft, role: Role, lexicon: Lexicon) -> Therapy:
    immune = draft.modality is not None and lexicon.modalities[draft.modality].immunotherapy
    targets = tuple(sorted(draft.targets)) if immune else ()
    evidence: list[Evidence] = []
    for group in (draft.agent_evidence, draft.modality_evidence, *(draft.targets.values() if immune else ())):
        evidence.extend(item for item in group if item not in evidence)
    if not evidence and draft.item is not None:
        evidence.append(Evidence(draft.item.path, draft.item.name))
    return Therapy(
        name=draft.name,
        agent=draft.agent,
        modality=draft.modality,
        drug_class=_drug_class(draft, lexicon),
        targets=targets,
        role=role,
        evidence=tuple(evidence),
        unresolved=is_unresolved(draft, lexicon),
    )


def is_unresolved(draft: Draft, lexicon: Lexicon) -> bool:
    """A listed product no lexicon names, as opposed to a generic phrase ("chemotherapy", "CD19 CAR-T
    cells"): it has no modality, or one read only from its INN stem, or from elsewhere than its name,
    or its name carries a code name ("SCRI-CAR22v2", "AUR103")."""
    item = draft.item
    if draft.agent is not None or item is None:
        return False
    if draft.modality is None or draft.named:
        return True
    from_name = any(evidence.path == item.path for evidence in draft.modality_evidence)
    if not from_name:
        return True
    # A code name that is no lexicon term ("CART22", "IL-15", "CD19-CAR" are terms or built on one).
    known = lexicon.matcher.find(item.name)
    for code in CODE_NAME.finditer(item.name):
        inside = any(hit.start <= code.start() < hit.end for hit in known)
        if not inside and not any(code.group(0).upper().startswith(t.upper()) for t in lexicon.targets):
            return True
    return False
