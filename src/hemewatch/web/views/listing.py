"""Lists of trials with their drug / mechanism line: search results, disease page sections, the API."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from hemewatch.storage.catalog import Matched, TrialRow, match_trials, search_trials
from hemewatch.storage.events import LatestChange, latest_changes
from hemewatch.storage.tags import current_tags, current_therapies
from hemewatch.storage.text_search import Suggestion, suggest_names
from hemewatch.vocabulary import phase_label, status_label
from hemewatch.web.filters import TrialFilters
from hemewatch.web.mechanism import mechanism_line, shown_diseases
from hemewatch.web.views.context import ViewContext, facet_index


@dataclass(frozen=True)
class ListedTrial:
    """One trial in a list."""

    row: TrialRow
    mechanism: str
    latest: LatestChange | None
    # The row's diseases worth naming: catch-alls ("leukemia", "cancer") left out.
    diseases: tuple[str, ...] = ()

    @property
    def phase_text(self) -> str:
        """The phases as words."""
        return phase_label(self.row.phases)

    @property
    def status_text(self) -> str:
        """The status as words."""
        return status_label(self.row.overall_status)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: the catalog row plus the mechanism line and the newest change."""
        latest = self.latest
        return {
            **self.row.to_dict(),
            "diseases": list(self.diseases),
            "mechanism": self.mechanism,
            "latest_change": None
            if latest is None
            else {
                "type": latest.type,
                "severity": latest.severity,
                "summary": latest.summary,
                "registry_date": latest.registry_date.isoformat() if latest.registry_date else None,
            },
        }


@dataclass(frozen=True)
class Listing:
    """One page of matching trials and how many match in all."""

    trials: list[ListedTrial]
    total: int
    limit: int
    offset: int

    @property
    def next_offset(self) -> int | None:
        """The offset of the next page, or None on the last one."""
        following = self.offset + self.limit
        return following if following < self.total else None


def _listed(ctx: ViewContext, rows: list[TrialRow], *, with_latest: bool) -> list[ListedTrial]:
    ids = [row.nct_id for row in rows]
    tags = current_tags(ctx.conn, ids)
    therapies = current_therapies(ctx.conn, ids, with_evidence=False)
    latest = latest_changes(ctx.conn, ids) if with_latest else {}
    return [
        ListedTrial(
            row,
            mechanism_line(tags.get(row.nct_id, {}), ctx.lexicon, therapies.get(row.nct_id, ())),
            latest.get(row.nct_id),
            tuple(shown_diseases(row.labels.get("diseases") or [], ctx.lexicon)),
        )
        for row in rows
    ]


def count_matching(
    ctx: ViewContext, filters: TrialFilters, *, matched: Callable[[], Matched] | None = None
) -> int:
    """How many trials match (cached until the data change; counting the facets counts them too).

    `matched` gives the trials the filters find, when the request has them (else they are found now).
    """
    found = matched if matched is not None else matcher(ctx, filters)
    return ctx.cached(("count", filters.key(with_sort=False)), lambda: found().total)


def list_trials(
    ctx: ViewContext,
    filters: TrialFilters,
    *,
    limit: int,
    offset: int = 0,
    with_latest: bool = False,
    matched: Callable[[], Matched] | None = None,
) -> Listing:
    """One page of the trials matching the filters, in the filters' order.

    `matched` gives the trials the filters find (`match_trials`), when the request has them already;
    else they are found in the facet index when the page or the count is not cached.
    """
    found = matched if matched is not None else matcher(ctx, filters)

    def compute() -> list[ListedTrial]:
        query = filters.to_query(limit=limit, offset=offset)
        return _listed(ctx, search_trials(ctx.conn, query, matched=found()), with_latest=with_latest)

    key = ("list", filters.key(), limit, offset, with_latest)
    return Listing(ctx.cached(key, compute), count_matching(ctx, filters, matched=found), limit, offset)


def matcher(ctx: ViewContext, filters: TrialFilters) -> Callable[[], Matched]:
    """The trials the filters find, read when first asked for and then kept for this request.

    A search page's facets, count and listing all start from them: the text index is read once.
    """
    return cache(lambda: match_trials(ctx.conn, filters.to_query(limit=None), index=facet_index(ctx)))


def suggest_for(ctx: ViewContext, filters: TrialFilters, total: int) -> list[Suggestion]:
    """When a text search finds nothing: agents, targets and diseases with a close name."""
    if total or not filters.q:
        return []
    return suggest_names(filters.q, ctx.lexicon)


def iter_all_trials(ctx: ViewContext, filters: TrialFilters, *, batch: int = 500) -> Any:
    """Every matching trial, in batches (for CSV and JSON exports); never cached."""
    query = filters.to_query(limit=batch)
    offset = 0
    while True:
        rows = search_trials(ctx.conn, replace(query, offset=offset))
        if not rows:
            return
        yield from _listed(ctx, rows, with_latest=False)
        if len(rows) < batch:
            return
        offset += batch
