"""/api/v1/facets: counts per filter value for the trials matching the filters."""

from __future__ import annotations

from fastapi import APIRouter

from hemewatch.web.deps import Filters, View
from hemewatch.web.schemas import FacetsOut
from hemewatch.web.views.facets import facet_counts_for
from hemewatch.web.views.listing import count_matching

router = APIRouter(prefix="/facets", tags=["facets"])


@router.get("", summary="Facet counts")
def api_facets(filters: Filters, view: View) -> FacetsOut:
    """For each filter, how many matching trials have each value (ignoring that filter's own values)."""
    return FacetsOut(total=count_matching(view, filters), facets=facet_counts_for(view, filters))
