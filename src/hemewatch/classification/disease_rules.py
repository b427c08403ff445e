"""Which diseases define a study's population.

Diseases come from the fields that describe who is enrolled, in tiers: first titles, conditions,
keywords, arm labels and the inclusion criteria (never the exclusion criteria); when those name no
disease of the guideline vocabulary, also the brief summary (which often discusses other diseases as
background), then the detailed description, and last the condition MeSH terms (the registry's
automatic mapping turns "B cell leukemia" into CLL). A record without eligibility criteria reads its
summary in the first tier too, but only for what an umbrella name of the defining fields covers
("acute leukaemias" → ALL and AML). Unspecified names ("leukemia", "myeloid malignancy") are resolved
as GUIDELINE.md says (disease_scope.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from hemewatch.classification.context import POPULATION_TIERS, population_mentions
from hemewatch.classification.disease_scope import (
    Found,
    add_all,
    add_with_implied,
    resolve_unspecified,
    summary_refinements,
)
from hemewatch.classification.lexicon import Lexicon
from hemewatch.classification.mentions import Mention
from hemewatch.classification.model import Evidence

_ALL_LINEAGES: Final = ("B-ALL", "T-ALL")
# A marker qualifies a disease written within this many characters of it, in the same sentence.
_MARKER_GAP: Final = 16


def classify_diseases(
    mentions: Sequence[Mention],
    lexicon: Lexicon,
    targets: Iterable[str],
    fallback: Evidence,
    *,
    modalities: Iterable[str] = (),
    pediatric: Evidence | None = None,
) -> Found:
    """Return the population's diseases (internal ids) with evidence; "other" without a blood cancer.

    `modalities` are the studied therapies' modalities and `pediatric` the evidence that the study
    enrols children, both used to resolve an unspecified "leukemia".
    """
    # Without eligibility criteria the summary is the only description of who is enrolled.
    sparse = not any(m.segment.role == "inclusion" for m in mentions)
    target_set, modality_set = frozenset(targets), frozenset(modalities)
    found: Found = {}
    for index, roles in enumerate(POPULATION_TIERS):
        selected = population_mentions(mentions, roles)
        if sparse and index == 0:
            named = _collect(selected, lexicon)
            summary = population_mentions(mentions, {"summary"})
            selected += summary_refinements(summary, named, lexicon)
        # "B cell leukemia" treated with a CD19 CAR is already B-ALL: resolve before reading further.
        tier = _collect(selected, lexicon)
        resolve_unspecified(
            tier, mentions, lexicon, targets=target_set, modalities=modality_set, pediatric=pediatric
        )
        if _labelled(tier, lexicon):
            found = tier
            break
        found = found or tier
    _tidy(found, lexicon, target_set, fallback)
    return found


def _collect(mentions: Sequence[Mention], lexicon: Lexicon) -> Found:
    found: Found = {}
    # A subtype named only in the eligibility criteria ("Ph+ ALL eligible after a TKI") is one route
    # into the study, not its population.
    mentions = [m for m in mentions if m.segment.role != "inclusion" or not _is_subtype(m, lexicon)]
    diseases = [m for m in mentions if m.kind == "disease"]
    markers = [m for m in mentions if m.kind == "marker"]
    for mention in diseases:
        add_with_implied(found, mention.entry, mention.evidence, lexicon)
    for marker in markers:
        entry = lexicon.markers[marker.entry]
        if entry.tag:
            add_with_implied(found, entry.tag, marker.evidence, lexicon)
        for disease in _neighbours(marker, diseases):
            subtype = entry.subtype_of(disease.entry)
            if subtype:
                add_with_implied(found, subtype, marker.evidence, lexicon)
    return found


def _labelled(found: Found, lexicon: Lexicon) -> bool:
    return any(lexicon.diseases[disease].label for disease in found)


def _is_subtype(mention: Mention, lexicon: Lexicon) -> bool:
    """A subtype implies its one parent disease (Ph+ ALL is an ALL); lineage words make no subtype,
    and an entry implying several diseases names their union ("B- or T-cell ALL")."""
    if mention.kind == "marker":
        subtypes = (subtype for _, subtype in lexicon.markers[mention.entry].subtypes)
        return any(len(lexicon.diseases[subtype].implies) == 1 for subtype in subtypes)
    return len(lexicon.diseases[mention.entry].implies) == 1


def _neighbours(marker: Mention, diseases: Sequence[Mention]) -> list[Mention]:
    """Diseases written right next to a marker: "Ph+ ALL", "ALL, Philadelphia chromosome-positive"."""
    near = []
    for disease in diseases:
        if disease.segment is not marker.segment:
            continue
        if marker.end <= disease.start:
            gap = marker.segment.text[marker.end : disease.start]
        elif disease.end <= marker.start:
            gap = marker.segment.text[disease.end : marker.start]
        else:
            continue
        if len(gap) <= _MARKER_GAP and not any(stop in gap for stop in ".;"):
            near.append(disease)
    return near


def _tidy(found: Found, lexicon: Lexicon, targets: frozenset[str], fallback: Evidence) -> None:
    """Apply the guideline's precedence between general and specific disease names."""
    b_cell = lexicon.lineage_targets.get("B", frozenset())
    if "ALL" in found and targets & b_cell and not any(d in found for d in _ALL_LINEAGES):
        # ALL treated with a B-cell-antigen therapy is B-ALL.
        add_all(found, "B-ALL", found["ALL"], lexicon)
    if "ALL" in found and any(d in found for d in _ALL_LINEAGES):
        del found["ALL"]
    specific_acute = [
        d
        for d in found
        if lexicon.diseases[d].acute and lexicon.diseases[d].label not in (None, "acute leukemia")
    ]
    if specific_acute and "acute leukemia" in found:
        del found["acute leukemia"]
    if not _labelled(found, lexicon):
        found["other"] = list(next(iter(found.values()), [fallback]))
