"""What a study tests: its agents, their modalities and the antigens its immunotherapies target."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from hemewatch.classification.context import RecordContext
from hemewatch.classification.design import is_diagnostic
from hemewatch.classification.lexicon import Lexicon
from hemewatch.classification.mentions import Mention
from hemewatch.classification.model import Evidence
from hemewatch.classification.record import Intervention, StudyFacts
from hemewatch.classification.target_rules import car_nk_fields, find_directed_targets
from hemewatch.classification.therapy_sources import (
    CODE_NAME,
    SECONDARY_ROLES,
    STEM_WORD,
    SUPPORTIVE_PURPOSES,
    select_studied,
)

Found = dict[str, list[Evidence]]

_NOT_ANTICANCER: Final = frozenset({"supportive care", "non-interventional"})
_DESIGN: Final = "protocolSection.designModule"


@dataclass(slots=True)
class TherapyFindings:
    """Agents, modalities (internal ids) and targets of the studied interventions, with evidence.

    `named` holds the modalities that come from a named agent rather than a generic phrase;
    `explained` the evidence read from keywords, summary or descriptions to explain unknown drugs.
    """

    agents: Found = field(default_factory=dict)
    modalities: Found = field(default_factory=dict)
    targets: Found = field(default_factory=dict)
    named: set[str] = field(default_factory=set)
    explained: list[Evidence] = field(default_factory=list)

    def add(self, found: Found, key: str, evidence: Evidence) -> None:
        """Record one piece of evidence for a key."""
        bucket = found.setdefault(key, [])
        if evidence not in bucket:
            bucket.append(evidence)


def classify_therapies(
    mentions: Sequence[Mention], facts: StudyFacts, lexicon: Lexicon, context: RecordContext
) -> TherapyFindings:
    """Classify the studied therapies of one study."""
    studied = select_studied(mentions, facts, lexicon)
    found = TherapyFindings()
    upgrades = _field_upgrades(studied.mentions, lexicon)
    for mention in studied.mentions:
        field_upgrades = upgrades.get(id(mention.segment), {})
        if mention.kind in ("agent", "modality") and mention.segment.role in SECONDARY_ROLES:
            found.explained.append(mention.evidence)
        if mention.kind == "agent":
            agent = lexicon.agents[mention.entry]
            modality = field_upgrades.get(agent.modality, agent.modality)
            found.add(found.agents, agent.id, mention.evidence)
            found.add(found.modalities, modality, mention.evidence)
            found.named.add(modality)
            if lexicon.modalities[agent.modality].immunotherapy:
                for target in agent.targets:
                    found.add(found.targets, target, mention.evidence)
        elif mention.kind == "modality":
            found.add(found.modalities, field_upgrades.get(mention.entry, mention.entry), mention.evidence)
    for directed in find_directed_targets(studied.mentions, lexicon):
        modality = upgrades.get(id(directed.target.segment), {}).get(directed.modality, directed.modality)
        found.add(found.targets, directed.target.entry, directed.target.evidence)
        found.add(found.modalities, modality, directed.target.evidence)
        if directed.target.segment.role in SECONDARY_ROLES:
            found.explained.append(directed.target.evidence)
    for car in car_nk_fields(studied.mentions):
        found.add(found.modalities, "CAR-NK", car.evidence)
    if context.oncologic:
        _add_unknown_drugs(studied.unresolved, lexicon, found, explained=bool(found.explained))
    else:
        _drop_outside_cancer(found, lexicon, context)
    _resolve_modalities(found, lexicon)
    _apply_study_design(found, facts, lexicon, context, mentions)
    if not any(lexicon.modalities[m].immunotherapy for m in found.modalities):
        found.targets.clear()  # targets belong to immunotherapies only
    return found


def _field_upgrades(mentions: Sequence[Mention], lexicon: Lexicon) -> dict[int, dict[str, str]]:
    """Modality upgrades per field: a radionuclide named with an antibody makes a radioimmunoconjugate."""
    upgrades: dict[int, dict[str, str]] = {}
    for mention in mentions:
        if mention.kind == "modality" and lexicon.modalities[mention.entry].upgrades:
            upgrades.setdefault(id(mention.segment), {}).update(lexicon.modalities[mention.entry].upgrades)
    return upgrades


def _add_unknown_drugs(
    unresolved: Sequence[Intervention], lexicon: Lexicon, found: TherapyFindings, *, explained: bool
) -> None:
    """Class interventions no lexicon entry names: by INN stem, else as an investigational code name.

    `explained` tells that the keywords, summary or descriptions already said what the drugs are.
    """
    for item in unresolved:
        for word in STEM_WORD.findall(item.name):
            modality = lexicon.modality_of_name(word)
            if modality:
                found.add(found.agents, word.lower(), Evidence(item.path, word))
                found.add(found.modalities, modality, Evidence(item.path, item.name))
                found.named.add(modality)
                break
        else:
            # Without a stated type, selection already kept only drug-like names.
            if item.type in ("DRUG", "") and CODE_NAME.search(item.name) and not explained:
                # An investigational drug that nothing in the record explains, in a cancer study, is a
                # novel targeted agent.
                found.add(found.modalities, "other targeted therapy", Evidence(item.path, item.name))
                found.named.add("other targeted therapy")


def _drop_outside_cancer(found: TherapyFindings, lexicon: Lexicon, context: RecordContext) -> None:
    """Outside cancer, generic phrases name no modality of this vocabulary.

    "Cell therapy" there is regenerative medicine and "targeted therapy" means nothing in particular.
    Named agents keep their modality; supportive care and vaccines stay only around an infection.
    """
    for modality in list(found.modalities):
        family = lexicon.modalities[modality].family
        keep = context.infection if family in ("supportive", "vaccine") else modality in found.named
        if not keep:
            del found.modalities[modality]


def _resolve_modalities(found: TherapyFindings, lexicon: Lexicon) -> None:
    """Drop generic phrases a more specific modality explains, then weaker modalities that yield."""
    present = set(found.modalities)
    for modality in present - found.named:
        if any(modality in lexicon.modalities[other].supersedes for other in present - {modality}):
            del found.modalities[modality]
    present = set(found.modalities)
    for modality in present:
        others = {lexicon.modalities[m].family for m in present - {modality}}
        if others & set(lexicon.modalities[modality].yields_to):
            del found.modalities[modality]


def _apply_study_design(
    found: TherapyFindings,
    facts: StudyFacts,
    lexicon: Lexicon,
    context: RecordContext,
    mentions: Sequence[Mention],
) -> None:
    """Study-level modalities: infection vaccines, supportive-care purpose, non-interventional designs."""
    if "vaccine" in found.modalities and "vaccine" not in found.named and context.infection:
        # A vaccine against an infection is supportive care, not immunotherapy.
        found.add(found.modalities, "supportive care", found.modalities.pop("vaccine")[0])
    labelled = {m for m in found.modalities if lexicon.modalities[m].label}
    if (
        facts.primary_purpose in SUPPORTIVE_PURPOSES
        and (context.oncologic or context.infection)
        and not labelled - _NOT_ANTICANCER
    ):
        evidence = facts.design_evidence or Evidence(
            f"{_DESIGN}.designInfo.primaryPurpose", facts.primary_purpose or ""
        )
        found.add(found.modalities, "supportive care", evidence)
    if facts.study_type == "OBSERVATIONAL":
        evidence = facts.design_evidence or Evidence(f"{_DESIGN}.studyType", facts.study_type)
        found.add(found.modalities, "non-interventional", evidence)
    elif (
        context.oncologic
        and not labelled
        and facts.interventions
        and all(is_diagnostic(item, mentions, lexicon) for item in facts.interventions)
    ):
        first = facts.interventions[0]
        found.add(found.modalities, "non-interventional", Evidence(first.path, first.name))
