"""The classifier: one pure function from a ClinicalTrials.gov v2 record to tags with evidence."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from hemewatch.classification.context import drop_uncorroborated, needs_description, read_context
from hemewatch.classification.design import infer_design
from hemewatch.classification.disease_rules import classify_diseases
from hemewatch.classification.lexicon import Lexicon, default_lexicon
from hemewatch.classification.mentions import find_mentions
from hemewatch.classification.model import (
    AGENT,
    DISEASE,
    MODALITY,
    POPULATION,
    SETTING,
    TARGET,
    Classification,
    Evidence,
    Tag,
    TagKind,
)
from hemewatch.classification.population_rules import classify_populations, pediatric_evidence
from hemewatch.classification.record import Segment, read_study
from hemewatch.classification.setting_defaults import implied_setting
from hemewatch.classification.setting_rules import classify_settings
from hemewatch.classification.therapy_rules import TherapyFindings, classify_therapies

_EXPLAINING_KINDS: Final = frozenset({"modality", "target", "construct"})


def classify_study(study: Mapping[str, Any], lexicon: Lexicon | None = None) -> Classification:
    """Classify one study record (a v2 `studies/{nctId}` object) with the given or bundled lexicon."""
    lexicon = lexicon or default_lexicon()
    facts, segments = read_study(study)
    # Exclusion criteria never make a tag, so they are not searched; the detailed description is
    # searched only when the other fields name the disease too vaguely (it is mostly background).
    mentions = find_mentions([s for s in segments if s.role not in ("exclusion", "description")], lexicon)
    described = needs_description(mentions, lexicon)
    if described:
        mentions += find_mentions([s for s in segments if s.role == "description"], lexicon)
    mentions = drop_uncorroborated(mentions, lexicon)
    context = read_context(mentions, lexicon)
    facts = infer_design(facts, segments, mentions, lexicon, oncologic=context.oncologic)
    therapies = classify_therapies(mentions, facts, lexicon, context)
    if not described and _unexplained(therapies):
        # A listed product nothing else explains may be explained only in the detailed description:
        # read it for what the product is (modality phrases and antigens), not for other drugs.
        explaining = [
            m
            for m in find_mentions([s for s in segments if s.role == "description"], lexicon)
            if m.kind in _EXPLAINING_KINDS
        ]
        if explaining:
            therapies = classify_therapies(mentions + explaining, facts, lexicon, context)
    diseases = classify_diseases(
        mentions,
        lexicon,
        therapies.targets,
        _fallback_evidence(segments),
        modalities=therapies.modalities,
        pediatric=pediatric_evidence(facts, mentions),
    )
    # A disease setting (line of therapy, remission) is a cancer notion.
    settings = classify_settings(mentions, lexicon) if context.oncologic else {}
    if context.oncologic and not settings:
        settings = implied_setting(facts, segments, diseases, therapies.modalities, lexicon)
    populations = classify_populations(facts, mentions)
    tags = (
        _tags(DISEASE, diseases)
        + _tags(AGENT, therapies.agents)
        + _tags(MODALITY, therapies.modalities)
        + _tags(TARGET, therapies.targets)
        + _tags(SETTING, settings)
        + _tags(POPULATION, populations)
    )
    return Classification(
        nct_id=facts.nct_id,
        tags=tags,
        acute_leukemia=any(lexicon.diseases[d].acute for d in diseases if d in lexicon.diseases),
        immunotherapy=any(lexicon.modalities[m].immunotherapy for m in therapies.modalities),
        lexicon_version=lexicon.version,
        therapies=tuple(therapies.therapies),
    )


def _unexplained(findings: TherapyFindings) -> bool:
    return any(t.agent is None and t.modality is None for t in findings.therapies)


def _tags(kind: TagKind, found: Mapping[str, list[Evidence]]) -> tuple[Tag, ...]:
    return tuple(Tag(kind, value, tuple(evidence)) for value, evidence in sorted(found.items()))


def _fallback_evidence(segments: list[Segment]) -> Evidence:
    """Evidence for "not a blood cancer": the first condition, else the title."""
    for role in ("condition", "title"):
        for segment in segments:
            if segment.role == role:
                return Evidence(segment.path, segment.text)
    return Evidence("protocolSection.identificationModule.nctId", "")
