"""The study design of a record that does not state it.

A sparse record (a search result fetched with `fields=`) may lack the design module, so neither the
study type nor the primary purpose is known. They are read from what the record still says:

* ClinicalTrials.gov requires an interventional study to list its interventions, so a record that
  states an empty intervention list is observational;
* so is one whose title calls it observational, non-interventional, a registry, an observatory, a
  survey, an audit, a biobank, a data collection or a real-world, retrospective, epidemiological,
  prevalence or follow-up study, or whose brief summary calls it observational, non-interventional or
  a registry (a summary's "retrospective series" or "real-world data" are often background);
* so is a cancer study whose every listed intervention is a test, a sample or a questionnaire (outside
  cancer, "ultrasound-guided injection" or "biopsy" are often the treatment or procedure studied);
* an interventional study that lists no anticancer therapy and names supportive care (in its
  interventions, title or summary) is a supportive-care study.

Records that state their design are returned unchanged.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Final

from hemewatch.classification.lexicon import Lexicon
from hemewatch.classification.mentions import Mention
from hemewatch.classification.model import Evidence
from hemewatch.classification.record import Intervention, Segment, StudyFacts
from hemewatch.classification.therapy_sources import is_drug_like, modality_of

OBSERVATIONAL: Final = "OBSERVATIONAL"
SUPPORTIVE_CARE: Final = "SUPPORTIVE_CARE"
DIAGNOSTIC_TYPES: Final = frozenset({"DIAGNOSTIC_TEST", "GENETIC"})
_TITLE_WORDS: Final = re.compile(
    r"\b(?:observational|non-?interventional|registry|registries|observatory|real[- ]world|retrospective"
    r"|prevalence|epidemiolog(?:y|ic|ical)|survey|follow-up study|data collection|biobank(?:ing)?|audit"
    r"|drug use investigation)\b",
    re.IGNORECASE,
)
_SUMMARY_WORDS: Final = re.compile(
    r"\b(?:observational|non-?interventional|registry|registries)\b", re.IGNORECASE
)
_DESIGN_WORDS: Final = {"title": _TITLE_WORDS, "summary": _SUMMARY_WORDS}
_NEUTRAL_FAMILIES: Final = frozenset({"supportive", "diagnostic"})
_INTERVENTIONS: Final = "protocolSection.armsInterventionsModule.interventions"


def infer_design(
    facts: StudyFacts,
    segments: Sequence[Segment],
    mentions: Sequence[Mention],
    lexicon: Lexicon,
    *,
    oncologic: bool,
) -> StudyFacts:
    """Return the facts with the study type and purpose a record without a design module implies."""
    if facts.design_stated:
        return facts
    observed = _observational_evidence(facts, segments, mentions, lexicon, oncologic=oncologic)
    if observed is not None:
        return dataclasses.replace(facts, study_type=OBSERVATIONAL, design_evidence=observed)
    if facts.primary_purpose is None:
        supportive = _supportive_evidence(facts, mentions, lexicon)
        if supportive is not None:
            return dataclasses.replace(facts, primary_purpose=SUPPORTIVE_CARE, design_evidence=supportive)
    return facts


def is_diagnostic(item: Intervention, mentions: Sequence[Mention], lexicon: Lexicon) -> bool:
    """Tell whether an intervention is a test or a sample rather than a treatment."""
    if item.type in DIAGNOSTIC_TYPES:
        return True
    modalities = [modality_of(m, lexicon) for m in _listed(mentions, item.index)]
    return bool(modalities) and all(m is not None and lexicon.modalities[m].diagnostic for m in modalities)


def _observational_evidence(
    facts: StudyFacts,
    segments: Sequence[Segment],
    mentions: Sequence[Mention],
    lexicon: Lexicon,
    *,
    oncologic: bool,
) -> Evidence | None:
    if facts.interventions_stated and not facts.interventions:
        return Evidence(_INTERVENTIONS, "")
    for segment in segments:
        words = _DESIGN_WORDS.get(segment.role)
        if words is not None and (match := words.search(segment.text)):
            return Evidence(segment.path, match.group(0))
    diagnostic = facts.interventions and all(is_diagnostic(i, mentions, lexicon) for i in facts.interventions)
    if oncologic and diagnostic:
        first = facts.interventions[0]
        return Evidence(first.path, first.name)
    return None


def _supportive_evidence(facts: StudyFacts, mentions: Sequence[Mention], lexicon: Lexicon) -> Evidence | None:
    """Evidence that a study which lists no anticancer therapy is about supportive care."""
    if any(is_drug_like(item, lexicon) for item in facts.interventions if not _listed(mentions, item.index)):
        return None
    supportive: list[tuple[bool, Evidence]] = []
    for mention in mentions:
        modality = modality_of(mention, lexicon) if mention.kind in ("agent", "modality") else None
        if modality is None or not mention.plain:
            continue
        family = lexicon.modalities[modality].family
        listed = mention.segment.role in ("intervention", "other_name")
        if listed and family not in _NEUTRAL_FAMILIES:
            return None
        if family == "supportive" and (listed or mention.segment.role in ("title", "summary")):
            supportive.append((not listed, mention.evidence))
    # The listed intervention is the best evidence, then the title, then the summary.
    return min(supportive, key=lambda item: item[0])[1] if supportive else None


def _listed(mentions: Sequence[Mention], index: int) -> list[Mention]:
    return [
        m
        for m in mentions
        if m.segment.role == "intervention" and m.segment.group == index and m.kind in ("modality", "agent")
    ]
