"""Facet counts for search: for each filter, how many matching trials have each value.

Counts are disjunctive: a filter's own values are counted as if that filter were not set, so
the alternatives to what is selected stay visible with their counts. Target and modality are
paired: with targets chosen, each modality counts the trials with a therapy pairing a chosen
target with it (and the other way round), which is what ticking it finds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from hemewatch.storage.catalog import Matched, facets_and_total
from hemewatch.vocabulary import kind_label, phase_label, status_label
from hemewatch.web.filters import TrialFilters
from hemewatch.web.views.context import ViewContext, facet_index

TAG_FACETS: Final = ("disease", "modality", "target", "setting", "population", "agent")
RECORD_FACETS: Final = ("phase", "status", "country")
FACETS: Final = (*TAG_FACETS, *RECORD_FACETS)


@dataclass(frozen=True)
class FacetValue:
    """One value of a facet."""

    value: str
    label: str
    count: int
    selected: bool


@dataclass(frozen=True)
class Facet:
    """One filter dimension with its values, most frequent first."""

    name: str
    label: str
    values: list[FacetValue]


def _label(name: str, value: str) -> str:
    if name == "phase":
        return phase_label([value])
    if name == "status":
        return status_label(value)
    return value


def _is_specific_acute(ctx: ViewContext, value: str) -> bool:
    entry = ctx.lexicon.diseases.get(value)
    return entry is not None and entry.acute and not entry.unspecified


def _is_catch_all(ctx: ViewContext, value: str) -> bool:
    entry = ctx.lexicon.diseases.get(value)
    return entry is not None and entry.catch_all


def facet_counts_for(
    ctx: ViewContext, filters: TrialFilters, *, matched: Callable[[], Matched] | None = None
) -> dict[str, dict[str, int]]:
    """Counts per value for every facet (cached until the data change).

    The pass that counts them counts the matching trials too: that total is kept as the listing's
    count (`listing.count_matching`), so a search page asks for its facets first and never counts twice.
    `matched` gives the trials the filters find (`listing.matcher`), when the request shares them.
    """
    return ctx.cached(("facets", filters.key(with_sort=False)), lambda: _compute(ctx, filters, matched))


def _compute(
    ctx: ViewContext, filters: TrialFilters, matched: Callable[[], Matched] | None
) -> dict[str, dict[str, int]]:
    # Every facet (each without its own filter) is counted in every trial's facet values, kept
    # until the data change.
    counts, total = facets_and_total(
        ctx.conn,
        filters.to_query(limit=None),
        FACETS,
        index=facet_index(ctx),
        matched=None if matched is None else matched(),
    )
    ctx.cached(("count", filters.key(with_sort=False)), lambda: total)
    # "leukemia", "cancer", "other" say no more than "a disease": never a facet value.
    counts["disease"] = {v: n for v, n in counts["disease"].items() if not _is_catch_all(ctx, v)}
    return counts


def build_facets(ctx: ViewContext, filters: TrialFilters) -> list[Facet]:
    """The facets to show next to search results; selected values are kept even at zero."""
    counts = facet_counts_for(ctx, filters)
    facets = []
    for name in FACETS:
        selected = set(getattr(filters, name))
        found = counts.get(name, {})
        values = [FacetValue(v, _label(name, v), n, v in selected) for v, n in found.items()]
        if name == "disease":
            # The acute leukemias a clinician filters on first, then the other diseases.
            values.sort(key=lambda fv: (not _is_specific_acute(ctx, fv.value), -fv.count))
        values += [FacetValue(v, _label(name, v), 0, True) for v in sorted(selected - set(found))]
        facets.append(Facet(name, kind_label(name), values))
    return facets
