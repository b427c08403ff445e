"""Which mentions name a therapy the study itself gives, as opposed to prior, background or later ones.

The listed interventions (names and other names), the arm labels and the titles are the study's own
statement of what it gives. Keywords, the brief summary and the intervention and arm descriptions
mostly add background (lymphodepletion, later transplant, permitted supportive drugs), so they are
read only when a listed drug or biological has a name nothing in the lexicons explains, and then only
for agents and targeted or immune modalities. Transplant and conditioning count only from the
interventions and arms (GUIDELINE.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from hemewatch.classification.lexicon import Lexicon
from hemewatch.classification.mentions import Mention
from hemewatch.classification.record import Intervention, StudyFacts

THERAPY_KINDS: Final = frozenset({"agent", "modality", "target", "construct"})
SUPPORTIVE_PURPOSES: Final = frozenset({"SUPPORTIVE_CARE", "PREVENTION"})
THERAPEUTIC_TYPES: Final = frozenset({"DRUG", "BIOLOGICAL", "COMBINATION_PRODUCT", "GENETIC"})
# Words long enough to carry an INN stem ("zorbatinib"), and investigational code names: letters then
# digits ("APG-2575", "AUR104", "ISB 2001").
STEM_WORD: Final = re.compile(r"\b[A-Za-z][a-z]{6,}\b")
CODE_NAME: Final = re.compile(r"\b[A-Z][A-Za-z]{0,5}[- ]?\d{2,}[A-Za-z0-9-]*\b")
_LISTED_ROLES: Final = frozenset({"intervention", "other_name"})
SECONDARY_ROLES: Final = frozenset(
    {"keyword", "summary", "description", "intervention_description", "arm_description"}
)
# An intervention typed OTHER is a product when its name says so ("QX-07 cells", "CAR-T injection").
_PRODUCT_WORDS: Final = re.compile(r"\b(?:cells?|injection|infusion|CAR|CARs|product)\b", re.IGNORECASE)
_DESCRIPTION_ROLES: Final = frozenset({"arm_description", "intervention_description"})
_TRANSPLANT_FAMILIES: Final = frozenset({"transplant", "autologous transplant"})
# Generic phrases for these families name what is given only in the study's own lists and titles.
_LISTED_ONLY_FAMILIES: Final = frozenset({"chemotherapy", "supportive"}) | _TRANSPLANT_FAMILIES


@dataclass(frozen=True, slots=True)
class StudiedTherapy:
    """The therapy mentions that describe what the study gives, and the interventions nothing explains."""

    mentions: tuple[Mention, ...]
    unresolved: tuple[Intervention, ...]


def select_studied(mentions: Sequence[Mention], facts: StudyFacts, lexicon: Lexicon) -> StudiedTherapy:
    """Pick the therapy mentions that name studied interventions."""
    therapy = [m for m in mentions if m.kind in THERAPY_KINDS and m.plain and m.segment.role != "exclusion"]
    named = {
        m.segment.group
        for m in therapy
        if m.segment.role in _LISTED_ROLES and m.kind in ("agent", "modality") and m.segment.group is not None
    }
    unresolved = tuple(
        item
        for item in facts.interventions
        if item.index not in named
        and (
            item.type in THERAPEUTIC_TYPES
            or (not item.type and is_drug_like(item, lexicon))
            or (item.type == "OTHER" and is_drug_like(item, lexicon) and _PRODUCT_WORDS.search(item.name))
        )
    )
    unresolved_indexes = {item.index for item in unresolved}
    observational = facts.study_type == "OBSERVATIONAL"
    selected = [
        m
        for m in therapy
        if _from_studied_field(m, observational, unresolved_indexes, lexicon) and _allowed(m, facts, lexicon)
    ]
    return StudiedTherapy(tuple(selected), unresolved)


def is_drug_like(item: Intervention, lexicon: Lexicon) -> bool:
    """Tell whether an intervention's name reads as a drug: a code name or a word with a known INN stem.

    Used where the record does not give the intervention's type.
    """
    if CODE_NAME.search(item.name):
        return True
    return any(lexicon.modality_of_name(word) for word in STEM_WORD.findall(item.name))


def _from_studied_field(
    mention: Mention, observational: bool, unresolved: set[int], lexicon: Lexicon
) -> bool:
    role = mention.segment.role
    if role in _LISTED_ROLES:
        return True
    if role in _DESCRIPTION_ROLES and mention.kind == "modality" and mention.entry == "conditioning":
        # An arm given conditioning goes on to a transplant within the study (GUIDELINE.md: arms).
        return True
    if role in ("title", "arm_label"):
        # Observational titles and cohorts name the exposure studied: a drug, or the care tested.
        return not observational or mention.kind == "agent" or _family(mention, lexicon) == "supportive"
    if role not in SECONDARY_ROLES or not unresolved or observational:
        return False
    if role == "intervention_description" and mention.segment.group not in unresolved:
        return False
    return mention.kind == "agent" or _family(mention, lexicon) not in _LISTED_ONLY_FAMILIES


def _family(mention: Mention, lexicon: Lexicon) -> str | None:
    modality = modality_of(mention, lexicon)
    entry = lexicon.modalities.get(modality) if modality else None
    return entry.family if entry else None


def _allowed(mention: Mention, facts: StudyFacts, lexicon: Lexicon) -> bool:
    """Apply the per-modality source rules: no diagnostic procedures, transplant from lists and arms,
    supportive care only when it is what the study tests."""
    modality = modality_of(mention, lexicon)
    entry = lexicon.modalities.get(modality) if modality else None
    if entry is None:
        return True
    role = mention.segment.role
    if entry.diagnostic:
        return False
    if entry.family in _TRANSPLANT_FAMILIES:
        # Without arm groups, a treatment study's title naming a transplant says that it gives one
        # (a supportive-care study's title names the transplant its patients undergo).
        titled = (
            role == "title" and not facts.arms_stated and facts.primary_purpose not in SUPPORTIVE_PURPOSES
        )
        return role in _LISTED_ROLES or role == "arm_label" or entry.id == "conditioning" or titled
    if entry.family == "supportive":
        # Supportive drugs within a treatment regimen (G-CSF, antimicrobial prophylaxis) support it;
        # they are the subject only of a supportive-care study or when the title names them.
        return role in ("title", "keyword") or facts.primary_purpose in SUPPORTIVE_PURPOSES
    if entry.family == "chemotherapy" and mention.kind == "modality" and role == "title":
        # A supportive-care title's "patients receiving chemotherapy" names their treatment, not the
        # study's.
        return facts.primary_purpose not in SUPPORTIVE_PURPOSES
    return True


def modality_of(mention: Mention, lexicon: Lexicon) -> str | None:
    """Return the modality a modality or agent mention stands for."""
    if mention.kind == "modality":
        return mention.entry
    if mention.kind == "agent":
        agent = lexicon.agents.get(mention.entry)
        return agent.modality if agent else None
    return None
