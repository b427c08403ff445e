"""The change stream across every trial, with filters: /changes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from hemewatch.web.deps import PagesDep, View
from hemewatch.web.views.changes import MAX_PAGE_SIZE, PAGE_SIZE, PageChangeFilters, list_changes

router = APIRouter(include_in_schema=False)


@router.get("/changes", response_class=HTMLResponse, name="changes")
def changes_page(
    request: Request,
    filters: Annotated[PageChangeFilters, Query()],
    view: View,
    pages: PagesDep,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = PAGE_SIZE,
) -> Response:
    """Change events, newest first, each with its before and after values."""
    listing = list_changes(view, filters, page=page, size=limit)
    return pages.render(
        request, "changes.html", {"listing": listing, "filters": filters, "page_size": PAGE_SIZE}
    )
