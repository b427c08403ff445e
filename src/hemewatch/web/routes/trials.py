"""Trial pages: /trials/{nct_id}."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hemewatch.web.deps import Csrf, PagesDep, State, View
from hemewatch.web.links import public_link
from hemewatch.web.views.trial import load_trial_page

router = APIRouter(prefix="/trials", include_in_schema=False)


@router.get("/{nct_id}", response_class=HTMLResponse, name="trial_page")
def trial_page(
    nct_id: str,
    request: Request,
    view: View,
    state: State,
    pages: PagesDep,
    csrf: Csrf,
    all_changes: Annotated[bool, Query(alias="all")] = False,
) -> Response:
    """The trial's essentials, eligibility, contacts, tags with evidence, sites and change timeline."""
    page = load_trial_page(view, nct_id, include_administrative=all_changes)
    if page.record.nct_id and page.record.nct_id != nct_id:
        # One address per trial: nct04530565 -> NCT04530565.
        target = public_link(state.settings.public_url, f"/trials/{page.record.nct_id}", request.url.query)
        return RedirectResponse(target, status_code=308)
    # Whether it is watched (with the form to watch it), and whether the registry removed or merged it.
    context = {"page": page, "all_changes": all_changes, "watch": page.watch}
    return pages.render(request, "trial.html", context, csrf=csrf)
