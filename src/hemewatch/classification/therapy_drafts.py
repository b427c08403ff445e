"""Therapies being assembled from the mentions of one record, before roles are given.

Every listed intervention is a therapy of its own: the agents its name and other names give (one
therapy per agent), or else what its name, other names and description say it is (a modality and
the antigens directed at). Titles, arm labels and prose name therapies too; those merge into the
listed intervention they describe, or stand alone when none does.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from hemewatch.classification.lexicon import Lexicon
from hemewatch.classification.mentions import Mention
from hemewatch.classification.model import Evidence
from hemewatch.classification.record import Intervention

LISTED_ROLES = frozenset({"intervention", "other_name", "intervention_description"})


@dataclass(slots=True)
class Draft:
    """A therapy being assembled: where it comes from, what it is and the evidence for each part."""

    name: str
    index: int | None  # the listed intervention it is, or None for a therapy named only in text
    agent: str | None = None
    modality: str | None = None
    named: bool = False  # the modality comes from a named agent or an INN stem, not a generic phrase
    stem_class: str | None = None
    modality_evidence: list[Evidence] = field(default_factory=list)
    agent_evidence: list[Evidence] = field(default_factory=list)
    targets: dict[str, list[Evidence]] = field(default_factory=dict)
    item: Intervention | None = None
    # False for a listed supportive drug in a treatment study: a therapy of the trial, never a label.
    labelled: bool = True

    def add_target(self, target: str, evidence: Evidence) -> None:
        """Record an antigen this therapy is directed at."""
        bucket = self.targets.setdefault(target, [])
        if evidence not in bucket:
            bucket.append(evidence)

    def add_modality_evidence(self, evidence: Evidence) -> None:
        """Record where the modality was read."""
        if evidence not in self.modality_evidence:
            self.modality_evidence.append(evidence)

    def absorb(self, other: Draft) -> None:
        """Take the targets and evidence of a draft that describes the same therapy."""
        for target, evidence in other.targets.items():
            for item in evidence:
                self.add_target(target, item)
        for item in other.modality_evidence:
            self.add_modality_evidence(item)
        self.agent_evidence.extend(e for e in other.agent_evidence if e not in self.agent_evidence)


def listed_group(mention: Mention) -> int | None:
    """The index of the listed intervention a mention belongs to, or None for titles, arms and prose."""
    group = mention.segment.group
    if mention.segment.role in LISTED_ROLES and group is not None and group >= 0:
        return group
    return None


class DraftBook:
    """The drafts of one record, found by agent, by listed intervention and by modality."""

    def __init__(self, lexicon: Lexicon, interventions: Iterable[Intervention]) -> None:
        self.lexicon = lexicon
        self.items = {item.index: item for item in interventions}
        self.drafts: list[Draft] = []

    def __iter__(self) -> Iterator[Draft]:
        return iter(self.drafts)

    def of_group(self, group: int | None) -> list[Draft]:
        """The drafts of one listed intervention (or the text-only drafts for None)."""
        return [d for d in self.drafts if d.index == group]

    def add_agent(self, group: int | None, agent: str, modality: str, mention: Mention) -> Draft:
        """Record a named agent: one therapy per agent, on the first listed intervention naming it."""
        for draft in self.drafts:
            if draft.agent == agent:
                if draft.index is None and group is not None:
                    self._attach(draft, group)
                draft.agent_evidence.append(mention.evidence)
                draft.add_modality_evidence(mention.evidence)
                return draft
        draft = Draft(name=mention.text, index=None, agent=agent, modality=modality, named=True)
        for target in self.lexicon.agents[agent].targets:
            draft.add_target(target, mention.evidence)
        if group is not None:
            self._attach(draft, group)
        draft.agent_evidence.append(mention.evidence)
        draft.add_modality_evidence(mention.evidence)
        self.drafts.append(draft)
        return draft

    def _attach(self, draft: Draft, group: int) -> None:
        draft.index = group
        item = self.items.get(group)
        if item is not None:
            draft.item = item
            draft.name = item.name

    def add_modality(self, group: int | None, modality: str, mention: Mention) -> Draft | None:
        """Record a modality phrase; None when an agent of the same intervention already explains it."""
        family = self.lexicon.modalities[modality].family
        for draft in self.of_group(group):
            if draft.modality == modality:
                draft.add_modality_evidence(mention.evidence)
                return draft
            if (
                group is not None
                and draft.agent is not None
                and draft.modality is not None
                and self.lexicon.modalities[draft.modality].family == family
            ):
                return draft  # "blinatumomab, a bispecific antibody": the agent says it
        draft = Draft(name=self._name(group, mention), index=None, modality=modality)
        if group is not None:
            self._attach(draft, group)
        draft.add_modality_evidence(mention.evidence)
        self.drafts.append(draft)
        return draft

    def _name(self, group: int | None, mention: Mention) -> str:
        item = self.items.get(group) if group is not None else None
        return item.name if item is not None else mention.text

    def add_directed(self, group: int | None, modality: str, target: Mention) -> None:
        """Record an antigen named next to an immunotherapy phrase in one field."""
        draft = self.add_modality(group, modality, target)
        if draft is not None:
            draft.add_target(target.entry, target.evidence)

    def add_unexplained(self, item: Intervention, modality: str | None, evidence: Evidence) -> Draft:
        """A listed drug no lexicon names: classed by its INN stem, or left without a modality."""
        draft = Draft(
            name=item.name, index=item.index, item=item, modality=modality, named=modality is not None
        )
        draft.add_modality_evidence(evidence)
        self.drafts.append(draft)
        return draft

    def remove(self, draft: Draft) -> None:
        """Forget a draft (merged into another, or not a therapy after all)."""
        self.drafts = [d for d in self.drafts if d is not draft]
