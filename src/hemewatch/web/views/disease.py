"""A disease page: its sections, each a table of trials, and the pages related to it."""

from __future__ import annotations

from dataclasses import dataclass

from hemewatch.web.filters import TrialFilters
from hemewatch.web.layouts import DiseasePage, DiseasePages, Section
from hemewatch.web.views.context import ViewContext
from hemewatch.web.views.listing import ListedTrial, count_matching, list_trials


@dataclass(frozen=True)
class SectionView:
    """One section with its trials; `total` counts every match, `trials` the ones shown."""

    section: Section
    filters: TrialFilters
    trials: list[ListedTrial]
    total: int


@dataclass(frozen=True)
class DiseaseView:
    """Everything a disease page shows."""

    page: DiseasePage
    filters: TrialFilters
    total: int
    sections: list[SectionView]
    related: list[DiseasePage]


def _section(ctx: ViewContext, page: DiseasePage, section: Section) -> SectionView:
    filters = page.section_filters(section)
    listing = list_trials(ctx, filters, limit=section.limit, with_latest=section.recent)
    if section.recent:
        changed = [t for t in listing.trials if t.row.last_change is not None]
        return SectionView(section, filters, changed, len(changed))
    return SectionView(section, filters, listing.trials, listing.total)


def disease_view(ctx: ViewContext, pages: DiseasePages, page: DiseasePage) -> DiseaseView:
    """The page's sections and related pages (cached until the data change)."""

    def compute() -> DiseaseView:
        filters = page.filters.to_filters()
        return DiseaseView(
            page=page,
            filters=filters,
            total=count_matching(ctx, filters),
            sections=[_section(ctx, page, section) for section in page.sections],
            related=[p for slug in page.related if (p := pages.get(slug)) is not None],
        )

    return ctx.cached(("disease", page.slug), compute)


def disease_index(ctx: ViewContext, pages: DiseasePages) -> list[tuple[DiseasePage, int]]:
    """Every disease page with how many trials it covers."""
    return [(page, count_matching(ctx, page.filters.to_filters())) for page in pages]
