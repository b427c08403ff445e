"""Search with facets, sorting and CSV / JSON export: /search."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Final, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from hemewatch.web.deps import Filters, PagesDep, State, View
from hemewatch.web.export import iter_csv, iter_json
from hemewatch.web.filters import TrialFilters
from hemewatch.web.state import WebState
from hemewatch.web.views.context import ViewContext
from hemewatch.web.views.facets import build_facets, facet_counts_for
from hemewatch.web.views.listing import ListedTrial, iter_all_trials, list_trials, matcher, suggest_for

router = APIRouter(include_in_schema=False)
PAGE_SIZE: Final = 25
SORTABLE: Final = (
    ("nct_id", "NCT id"),
    ("title", "Trial"),
    ("phase", "Phase"),
    ("status", "Status"),
    ("last_change", "Last change"),
)


def _export(state: WebState, filters: TrialFilters) -> Iterator[ListedTrial]:
    # Its own connection: the stream outlives the request's dependencies.
    with state.engine.connect() as conn:
        yield from iter_all_trials(ViewContext(conn, state.cache, state.lexicon), filters)


@router.get("/search", response_class=HTMLResponse, name="search")
def search(
    request: Request,
    filters: Filters,
    view: View,
    state: State,
    pages: PagesDep,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    format: Annotated[Literal["html", "csv", "json"], Query()] = "html",
) -> Response:
    """Faceted search; format=csv or format=json downloads every matching trial."""
    base_url = state.settings.public_url
    if format == "csv":
        return StreamingResponse(
            iter_csv(_export(state, filters), base_url=base_url),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": 'attachment; filename="hemewatch-trials.csv"'},
        )
    if format == "json":
        return StreamingResponse(
            iter_json(_export(state, filters), base_url=base_url),
            media_type="application/json",
            headers={"content-disposition": 'attachment; filename="hemewatch-trials.json"'},
        )
    # The facets first: their one pass over the matching trials also gives the listing its count;
    # the trials the filters find are read once, for the facets and the page alike.
    matched = matcher(view, filters)
    facet_counts_for(view, filters, matched=matched)
    listing = list_trials(view, filters, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, matched=matched)
    # A text that finds nothing would empty every facet: show those of the other filters instead,
    # labelled as such, so the panel still says what the mirror holds and where to go next.
    without_text = listing.total == 0 and filters.q is not None
    suggestions = [
        (suggestion, filters.model_copy(update={"q": suggestion.value}).query_string())
        for suggestion in suggest_for(view, filters, listing.total)
    ]
    return pages.render(
        request,
        "search.html",
        {
            "filters": filters,
            "listing": listing,
            "facets": build_facets(view, filters.without("q", "") if without_text else filters),
            "facets_without_text": without_text,
            "suggestions": suggestions,
            "page": page,
            "pages_total": max(1, -(-listing.total // PAGE_SIZE)),
            "sortable": SORTABLE,
        },
    )
