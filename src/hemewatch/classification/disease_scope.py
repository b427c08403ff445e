"""What an umbrella disease name covers, and what an unspecified one stands for.

Umbrella names ("leukemia", "acute leukaemias", "hematologic malignancies", ALL without a lineage) cover
narrower ones: "acute leukemia" covers AML and ALL, ALL covers B-ALL and T-ALL, "leukemia" every
leukemia and "myeloid leukemia" the myeloid ones. An umbrella is *open* when the record's defining fields
name nothing narrower under it; a sparse record's brief summary may then say which diseases it covers.

Unspecified names are resolved as GUIDELINE.md says: by the antigen the therapy targets (CD19/CD22/CD20
B-ALL, CD33/CD123/CLL-1 AML, CD7/CD5 T-ALL); by a myeloid-only therapy (FLT3 or IDH inhibitor,
hypomethylating agent) when the record names no disease of the vocabulary at all (AML); "leukemia" in a
study of children is acute leukemia (nearly all childhood leukemia is); and an unspecified entry's own
`implies` ("Ph-positive leukemias" are CML and Ph+ ALL). None of this applies where a title or
condition names a specific leukemia: the unspecified name is then that one.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Final

from hemewatch.classification.context import population_mentions
from hemewatch.classification.lexicon import Lexicon
from hemewatch.classification.mentions import Mention
from hemewatch.classification.model import Evidence
from hemewatch.classification.record import DEFINING_ROLES

Found = dict[str, list[Evidence]]


# Small molecules given only for myeloid neoplasms: with "leukemia" alone they mean AML.
MYELOID_MODALITIES: Final = frozenset({"FLT3 inhibitor", "IDH inhibitor", "hypomethylating agent"})


def add_with_implied(found: Found, disease: str, evidence: Evidence, lexicon: Lexicon) -> None:
    """Add a disease and what it implies; an unspecified name's implications wait for resolution."""
    pending = [disease]
    while pending:
        current = pending.pop()
        bucket = found.setdefault(current, [])
        if evidence not in bucket:
            bucket.append(evidence)
        entry = lexicon.diseases[current]
        if not entry.unspecified:
            pending.extend(entry.implies)


def add_all(found: Found, disease: str, evidence: Iterable[Evidence], lexicon: Lexicon) -> None:
    """Add a disease with every piece of evidence given."""
    for item in evidence:
        add_with_implied(found, disease, item, lexicon)


def refines(child: str, parent: str, lexicon: Lexicon) -> bool:
    """Tell whether disease `child` is a narrower name within umbrella `parent`."""
    if child == parent:
        return False
    narrow, broad = lexicon.diseases[child], lexicon.diseases[parent]
    implied = _implied(child, lexicon)
    if parent in implied or any(refines(name, parent, lexicon) for name in implied):
        return True  # Ph+ ALL is an ALL, FLT3-mutated AML an AML, "B- or T-ALL" a B-ALL
    if broad.unspecified and broad.implies:  # "Ph-positive leukemias": what it stands for
        meant = _implied(parent, lexicon)
        return child in meant or any(refines(child, name, lexicon) for name in meant)
    if broad.unspecified:
        if broad.lineage is None:  # "hematologic malignancies", "cancer"
            return narrow.oncologic and (narrow.hematologic or not broad.hematologic)
        if not (narrow.acute or narrow.chronic) or (broad.chronic and not narrow.chronic):
            return False
        return (
            broad.lineage == "any"
            or narrow.lineage == broad.lineage
            or (broad.lineage == "lymphoid" and narrow.lineage in ("B", "T"))
        )
    if broad.label == "acute leukemia":
        return narrow.acute
    if broad.acute and broad.lineage == "lymphoid":  # ALL, lineage not stated
        return narrow.acute and narrow.lineage in ("B", "T")
    return False


def open_umbrellas(named: Collection[str], lexicon: Lexicon) -> list[str]:
    """Umbrella names among `named` under which nothing narrower is named."""
    return [
        parent
        for parent in named
        if any(refines(child, parent, lexicon) for child in lexicon.diseases)
        and not any(refines(child, parent, lexicon) for child in named)
    ]


def summary_refinements(
    summary: Sequence[Mention], named: Collection[str], lexicon: Lexicon
) -> list[Mention]:
    """The summary mentions that say what the defining fields' open umbrella names cover.

    A disease the summary names beside a specific one is background ("unlike CML", "approved for
    hairy cell leukemia"); markers only qualify the diseases admitted next to them.
    """
    umbrellas = open_umbrellas(named, lexicon)
    return [
        m
        for m in summary
        if m.kind == "marker"
        or m.entry in named
        or any(refines(m.entry, parent, lexicon) for parent in umbrellas)
    ]


def resolve_unspecified(
    found: Found,
    mentions: Sequence[Mention],
    lexicon: Lexicon,
    *,
    targets: frozenset[str],
    modalities: frozenset[str],
    pediatric: Evidence | None,
) -> None:
    """Resolve "leukemia"-type names by the therapy, the age of the population or their own meaning."""
    unspecified = [d for d in found if lexicon.diseases[d].unspecified and lexicon.diseases[d].lineage]
    if not unspecified:
        return
    # When a defining field names a specific leukemia, an unspecified "leukemia" is that one. (The
    # registry's own MeSH mapping is not evidence of the type: it maps "B cell leukemia" to CLL.)
    defining = population_mentions(mentions, DEFINING_ROLES - {"mesh"})
    if any(_is_specific_leukemia(m.entry, lexicon) for m in defining if m.kind == "disease"):
        return
    nothing_named = not any(lexicon.diseases[d].label for d in found)
    for disease in unspecified:
        entry = lexicon.diseases[disease]
        evidence = list(found[disease])
        for implied in entry.implies:
            add_all(found, implied, evidence, lexicon)
        resolved = bool(entry.implies)
        for marked, lineages, result in _BY_TARGET:
            if targets & lexicon.lineage_targets.get(marked, frozenset()) and entry.lineage in lineages:
                add_all(found, result, evidence, lexicon)
                resolved = True
        if nothing_named and modalities & MYELOID_MODALITIES and entry.lineage in ("any", "myeloid"):
            add_all(found, "AML", evidence, lexicon)
            resolved = True
        if not resolved and pediatric is not None and entry.lineage == "any" and not entry.chronic:
            add_all(found, "acute leukemia", [*evidence, pediatric], lexicon)


# (lineage the therapy's antigen marks, lineages of the unspecified name it resolves, disease)
_BY_TARGET: Final = (
    ("B", ("any", "B", "lymphoid"), "B-ALL"),
    ("myeloid", ("any", "myeloid"), "AML"),
    ("T", ("any", "T", "lymphoid"), "T-ALL"),
)


def _is_specific_leukemia(disease: str, lexicon: Lexicon) -> bool:
    entry = lexicon.diseases[disease]
    return not entry.unspecified and (entry.acute or entry.chronic) and disease != "acute leukemia"


def _implied(disease: str, lexicon: Lexicon) -> set[str]:
    seen: set[str] = set()
    pending = list(lexicon.diseases[disease].implies)
    while pending:
        current = pending.pop()
        if current not in seen:
            seen.add(current)
            pending.extend(lexicon.diseases[current].implies)
    return seen
