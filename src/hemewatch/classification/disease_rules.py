"""Which diseases define a study's population.

Diseases come from the fields that describe who is enrolled, in tiers: first titles, conditions,
keywords, arm labels and the inclusion criteria (never the exclusion criteria); when those name no
disease of the guideline vocabulary, also the brief summary (which often discusses other diseases as
background), then the detailed description, and last the condition MeSH terms (the registry's
automatic mapping turns "B cell leukemia" into CLL). Unspecified names ("leukemia", "myeloid
malignancy") are resolved by what the therapy targets, as GUIDELINE.md says.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from hemewatch.classification.context import POPULATION_TIERS, population_mentions
from hemewatch.classification.lexicon import Lexicon
from hemewatch.classification.mentions import Mention
from hemewatch.classification.model import Evidence
from hemewatch.classification.record import DEFINING_ROLES

Found = dict[str, list[Evidence]]

B_CELL_TARGETS: Final = frozenset({"CD19", "CD22", "CD20"})
MYELOID_TARGETS: Final = frozenset({"CD33", "CD123", "CLL-1"})
T_CELL_TARGETS: Final = frozenset({"CD7", "CD5"})
_ALL_LINEAGES: Final = ("B-ALL", "T-ALL")
# A marker qualifies a disease written within this many characters of it, in the same sentence.
_MARKER_GAP: Final = 16


def classify_diseases(
    mentions: Sequence[Mention], lexicon: Lexicon, targets: Iterable[str], fallback: Evidence
) -> Found:
    """Return the population's diseases (internal ids) with evidence; "other" without a blood cancer."""
    tiers: tuple[frozenset[str], ...] = POPULATION_TIERS
    if not any(m.segment.role == "inclusion" for m in mentions):
        # Without eligibility criteria the summary is the only description of who is enrolled.
        tiers = tuple(tier | {"summary"} for tier in POPULATION_TIERS)
    target_set = frozenset(targets)
    found: Found = {}
    for roles in tiers:
        # "B cell leukemia" treated with a CD19 CAR is already B-ALL: resolve before reading further.
        tier = _collect(population_mentions(mentions, roles), lexicon)
        _resolve_unspecified(tier, mentions, lexicon, target_set)
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
        _add_with_implied(found, mention.entry, mention.evidence, lexicon)
    for marker in markers:
        entry = lexicon.markers[marker.entry]
        if entry.tag:
            _add_with_implied(found, entry.tag, marker.evidence, lexicon)
        for disease in _neighbours(marker, diseases):
            subtype = entry.subtype_of(disease.entry)
            if subtype:
                _add_with_implied(found, subtype, marker.evidence, lexicon)
    return found


def _labelled(found: Found, lexicon: Lexicon) -> bool:
    return any(lexicon.diseases[disease].label for disease in found)


def _is_subtype(mention: Mention, lexicon: Lexicon) -> bool:
    """A subtype implies its parent disease (Ph+ ALL is an ALL); lineage words make no subtype."""
    if mention.kind == "marker":
        subtypes = (subtype for _, subtype in lexicon.markers[mention.entry].subtypes)
        return any(lexicon.diseases[subtype].implies for subtype in subtypes)
    return bool(lexicon.diseases[mention.entry].implies)


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


def _add_with_implied(found: Found, disease: str, evidence: Evidence, lexicon: Lexicon) -> None:
    pending = [disease]
    while pending:
        current = pending.pop()
        bucket = found.setdefault(current, [])
        if evidence not in bucket:
            bucket.append(evidence)
        pending.extend(lexicon.diseases[current].implies)


def _resolve_unspecified(
    found: Found, mentions: Sequence[Mention], lexicon: Lexicon, targets: frozenset[str]
) -> None:
    """Resolve "leukemia"-type names by the lineage of the antigen the study targets."""
    unspecified = [d for d in found if lexicon.diseases[d].unspecified and lexicon.diseases[d].lineage]
    if not unspecified:
        return
    # When a defining field names a specific leukemia, an unspecified "leukemia" is that one. (The
    # registry's own MeSH mapping is not evidence of the type: it maps "B cell leukemia" to CLL.)
    defining = population_mentions(mentions, DEFINING_ROLES - {"mesh"})
    if any(_is_specific_leukemia(m.entry, lexicon) for m in defining if m.kind == "disease"):
        return
    for disease in unspecified:
        lineage = lexicon.diseases[disease].lineage
        evidence = found[disease]
        if targets & B_CELL_TARGETS and lineage in ("any", "B", "lymphoid"):
            _add_all(found, "B-ALL", evidence, lexicon)
        if targets & MYELOID_TARGETS and lineage in ("any", "myeloid"):
            _add_all(found, "AML", evidence, lexicon)
        if targets & T_CELL_TARGETS and lineage in ("any", "T", "lymphoid"):
            _add_all(found, "T-ALL", evidence, lexicon)


def _add_all(found: Found, disease: str, evidence: Iterable[Evidence], lexicon: Lexicon) -> None:
    for item in evidence:
        _add_with_implied(found, disease, item, lexicon)


def _is_specific_leukemia(disease: str, lexicon: Lexicon) -> bool:
    entry = lexicon.diseases[disease]
    return not entry.unspecified and (entry.acute or entry.chronic) and disease != "acute leukemia"


def _tidy(found: Found, lexicon: Lexicon, targets: frozenset[str], fallback: Evidence) -> None:
    """Apply the guideline's precedence between general and specific disease names."""
    if "ALL" in found and targets & B_CELL_TARGETS and not any(d in found for d in _ALL_LINEAGES):
        # ALL treated with a B-cell-antigen therapy is B-ALL.
        _add_all(found, "B-ALL", found["ALL"], lexicon)
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
