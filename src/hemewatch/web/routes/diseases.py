"""Disease pages: /diseases/{slug}, optionally narrowed to recruitment statuses (?status=RECRUITING)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from hemewatch.web.deps import PagesDep, State, View
from hemewatch.web.errors import PageNotFound
from hemewatch.web.filters import Statuses
from hemewatch.web.links import public_link
from hemewatch.web.views.disease import STATUS_CHOICES, disease_view

router = APIRouter(prefix="/diseases", include_in_schema=False)


@router.get("", response_class=RedirectResponse)
def disease_list(state: State) -> RedirectResponse:
    """The list of disease pages is on the front page."""
    return RedirectResponse(public_link(state.settings.public_url, "/"), status_code=308)


@router.get("/{slug}", response_class=HTMLResponse, name="disease_page")
def disease_page(
    slug: str,
    request: Request,
    view: View,
    state: State,
    pages: PagesDep,
    # A default, not default_factory=list: pydantic reads a factory's signature on every request
    # (for `list`, by parsing its text signature: a sixth of a cached page's time).
    status: Annotated[Statuses, Query()] = [],  # noqa: B006
) -> HTMLResponse:
    """One disease page: about, sections of trials (all narrowed to `status`), related pages."""
    page = state.disease_pages.get(slug.lower())
    if page is None:
        known = ", ".join(p.slug for p in state.disease_pages)
        raise PageNotFound(f"There is no disease page {slug!r}; the pages are: {known}.")
    # Rendered once per path, statuses and data (the page holds no form token; ~4 ms for 90 KB).
    html = view.cached(
        ("disease-page-html", request.url.path, tuple(status)),
        lambda: pages.html(
            request,
            "disease.html",
            {"view": disease_view(view, state.disease_pages, page, status), "status_choices": STATUS_CHOICES},
        ),
    )
    return HTMLResponse(html)
