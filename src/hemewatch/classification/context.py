"""What a whole record says about itself that changes how single terms read.

Is it about a cancer at all? Does it name an infection? Does it name a blood disease in words, so
that an abbreviation which is also an ordinary word ("ALL", "HCT") can be trusted?
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from hemewatch.classification.lexicon import Lexicon
from hemewatch.classification.mentions import Mention
from hemewatch.classification.record import DEFINING_ROLES

# Fields that describe who is enrolled, in the order the classifier trusts them: the study's own
# statements first; then the brief summary (often background about other diseases); then the detailed
# description; last the condition MeSH terms, whose automatic mapping turns "B cell leukemia" into CLL.
POPULATION_ROLES: Final = frozenset({"title", "condition", "keyword", "arm_label", "inclusion", "population"})
POPULATION_TIERS: Final = (
    POPULATION_ROLES,
    POPULATION_ROLES | {"summary"},
    POPULATION_ROLES | {"summary", "description"},
    POPULATION_ROLES | {"summary", "description", "mesh"},
)
_EXCLUDING_EFFECTS: Final = frozenset({"negated", "history"})
_NAMING_ROLES: Final = frozenset({"condition", "keyword"})


@dataclass(frozen=True, slots=True)
class RecordContext:
    """Whether the record is about a cancer, and whether it names an infection."""

    oncologic: bool
    infection: bool


def population_mentions(
    mentions: Sequence[Mention], roles: Iterable[str] = POPULATION_ROLES
) -> list[Mention]:
    """Disease and marker mentions that describe the population (not negated, not history)."""
    wanted = frozenset(roles)
    return [
        m
        for m in mentions
        if m.kind in ("disease", "marker")
        and m.segment.role in wanted
        and not (m.effects & _EXCLUDING_EFFECTS)
    ]


def read_context(mentions: Sequence[Mention], lexicon: Lexicon) -> RecordContext:
    """Read the record-level context from its mentions."""
    everywhere = population_mentions(mentions, POPULATION_TIERS[-1])
    oncologic = any(m.kind == "disease" and lexicon.diseases[m.entry].oncologic for m in everywhere)
    infection = any(
        m.kind == "disease" and m.entry == "infection" and m.segment.role in DEFINING_ROLES | {"intervention"}
        for m in mentions
    )
    return RecordContext(oncologic=oncologic, infection=infection)


def drop_uncorroborated(mentions: Sequence[Mention], lexicon: Lexicon) -> list[Mention]:
    """Drop ambiguous abbreviations ("ALL", "HCT") unless the record names a blood disease in words.

    A condition or keyword is itself the name of a disease, so an abbreviation there is trusted.
    """
    corroborated = any(
        m.kind == "disease"
        and lexicon.diseases[m.entry].hematologic
        and not lexicon.is_ambiguous(m.kind, m.text)
        for m in mentions
    )
    if corroborated:
        return list(mentions)
    return [
        m for m in mentions if m.segment.role in _NAMING_ROLES or not lexicon.is_ambiguous(m.kind, m.text)
    ]


def needs_description(mentions: Sequence[Mention], lexicon: Lexicon) -> bool:
    """Tell whether the population fields name a disease only vaguely ("leukemia"), so that the
    detailed description is worth reading for its type."""
    named = [m for m in population_mentions(mentions, POPULATION_TIERS[1]) if m.kind == "disease"]
    return bool(named) and all(lexicon.diseases[m.entry].label is None for m in named)
