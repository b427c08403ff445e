"""The landscape page and its charts: /landscape, /landscape/{chart}.svg."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from hemewatch.web.charts import CHARTS
from hemewatch.web.deps import PagesDep, State, View
from hemewatch.web.errors import PageNotFound
from hemewatch.web.layouts import DiseasePage
from hemewatch.web.state import WebState
from hemewatch.web.views.landscape import landscape

router = APIRouter(prefix="/landscape", include_in_schema=False)
DiseaseSlug = Annotated[str, Query(max_length=40, description="A disease page slug; empty for every trial.")]


def _page(state: WebState, slug: str) -> DiseasePage | None:
    if not slug:
        return None
    page = state.disease_pages.get(slug)
    if page is None:
        raise PageNotFound(f"There is no disease page {slug!r}.")
    return page


@router.get("", response_class=HTMLResponse, name="landscape")
def landscape_page(
    request: Request, view: View, state: State, pages: PagesDep, disease: DiseaseSlug = ""
) -> HTMLResponse:
    """Charts of targets, modalities, phases, statuses and start years, each with its data table."""
    page = _page(state, disease)
    data = landscape(view, page.filters.disease if page else ())
    return pages.render(
        request,
        "landscape.html",
        {"landscape": data, "selected": page, "charts": CHARTS, "disease": disease},
    )


@router.get("/{chart}.svg", name="landscape_chart")
def landscape_chart(chart: str, view: View, state: State, disease: DiseaseSlug = "") -> Response:
    """One chart as an SVG document."""
    if chart not in CHARTS:
        raise PageNotFound(f"There is no chart {chart!r}; the charts are: {', '.join(CHARTS)}.")
    page = _page(state, disease)
    diseases = page.filters.disease if page else ()
    _, draw = CHARTS[chart]
    svg = view.cached(("chart", chart, tuple(diseases)), lambda: draw(landscape(view, diseases)))
    return Response(svg, media_type="image/svg+xml", headers={"cache-control": "no-cache"})
