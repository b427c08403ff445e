"""A disease page: its about text, its sections, each a table of trials, and the pages related to it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlencode

from hemewatch.registry.vocabulary import OverallStatus
from hemewatch.web.filters import TrialFilters
from hemewatch.web.layouts import DiseasePage, DiseasePages, Section
from hemewatch.web.views.context import ViewContext
from hemewatch.web.views.listing import ListedTrial, count_matching, list_trials


@dataclass(frozen=True)
class SectionView:
    """One section with its trials; `total` counts every match, `trials` the ones shown.

    `filters` is None when the chosen status excludes the whole section (its own statuses differ).
    """

    section: Section
    filters: TrialFilters | None
    trials: list[ListedTrial]
    total: int


@dataclass(frozen=True)
class DiseaseView:
    """Everything a disease page shows; `status` is the recruitment status the page is narrowed to."""

    page: DiseasePage
    filters: TrialFilters
    status: tuple[OverallStatus, ...]
    total: int
    sections: list[SectionView]
    related: list[DiseasePage]


def _section(
    ctx: ViewContext, page: DiseasePage, section: Section, status: Sequence[OverallStatus]
) -> SectionView:
    filters = page.section_filters(section, status)
    if filters is None:
        return SectionView(section, None, [], 0)
    listing = list_trials(ctx, filters, limit=section.limit, with_latest=section.recent)
    if section.recent:
        changed = [t for t in listing.trials if t.row.last_change is not None]
        return SectionView(section, filters, changed, len(changed))
    return SectionView(section, filters, listing.trials, listing.total)


def disease_view(
    ctx: ViewContext, pages: DiseasePages, page: DiseasePage, status: Sequence[OverallStatus] = ()
) -> DiseaseView:
    """The page's sections, narrowed to `status` when given (cached until the data change)."""
    chosen = tuple(dict.fromkeys(status))

    def compute() -> DiseaseView:
        filters = page.filters.to_filters()
        if chosen:
            filters = filters.model_copy(update={"status": list(chosen)})
        return DiseaseView(
            page=page,
            filters=filters,
            status=chosen,
            total=count_matching(ctx, filters),
            sections=[_section(ctx, page, section, chosen) for section in page.sections],
            related=[p for slug in page.related if (p := pages.get(slug)) is not None],
        )

    return ctx.cached(("disease", page.slug, chosen), compute)


def disease_index(ctx: ViewContext, pages: DiseasePages) -> list[tuple[DiseasePage, int]]:
    """Every disease page with how many trials it covers."""
    return [(page, count_matching(ctx, page.filters.to_filters())) for page in pages]


@dataclass(frozen=True)
class StatusChoice:
    """One link of a disease page's status selector: a label and the statuses it stands for."""

    label: str
    statuses: tuple[OverallStatus, ...]

    def query_string(self) -> str:
        """The choice as a query string ('' for any status)."""
        return urlencode([("status", s) for s in self.statuses])


OPEN: Final[tuple[OverallStatus, ...]] = (
    "RECRUITING",
    "NOT_YET_RECRUITING",
    "ENROLLING_BY_INVITATION",
    "ACTIVE_NOT_RECRUITING",
)
STATUS_CHOICES: Final = (
    StatusChoice("Any status", ()),
    StatusChoice("Open or active", OPEN),
    StatusChoice("Recruiting", ("RECRUITING",)),
    StatusChoice("Not yet recruiting", ("NOT_YET_RECRUITING",)),
    StatusChoice("Active, not recruiting", ("ACTIVE_NOT_RECRUITING",)),
    StatusChoice("Completed", ("COMPLETED",)),
    StatusChoice("Stopped early", ("TERMINATED", "SUSPENDED", "WITHDRAWN")),
)
