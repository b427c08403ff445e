"""/api/v1/trials: search, one trial, one trial's changes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from hemewatch.web.deps import Filters, View
from hemewatch.web.schemas import (
    ChangeOut,
    TrialChangesOut,
    TrialDetailOut,
    TrialListOut,
    TrialOut,
    TrialSummaryOut,
)
from hemewatch.web.views.listing import list_trials
from hemewatch.web.views.trial import load_trial_page, trial_changes

router = APIRouter(prefix="/trials", tags=["trials"])
NctId = Annotated[str, Path(max_length=20, description="ClinicalTrials.gov identifier, e.g. NCT04530565.")]


@router.get("", summary="Search trials")
def api_trials(
    request: Request,
    filters: Filters,
    view: View,
    limit: Annotated[int, Query(ge=1, le=500, description="Trials per page.")] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Trials to skip.")] = 0,
) -> TrialListOut:
    """Trials in scope matching the filters (same filters as /search), paginated."""
    listing = list_trials(view, filters, limit=limit, offset=offset, with_latest=True)
    base = str(request.base_url).rstrip("/")
    following = listing.next_offset
    return TrialListOut(
        total=listing.total,
        limit=limit,
        offset=offset,
        next=str(request.url.include_query_params(offset=following)) if following is not None else None,
        trials=[
            TrialSummaryOut.model_validate({**t.to_dict(), "url": f"{base}/trials/{t.row.nct_id}"})
            for t in listing.trials
        ],
    )


@router.get("/{nct_id}", summary="One trial")
def api_trial(nct_id: NctId, view: View) -> TrialOut:
    """The trial's essentials, tags with their evidence, and sites."""
    page = load_trial_page(view, nct_id)
    return TrialOut(trial=TrialDetailOut.model_validate(page.to_dict()))


@router.get("/{nct_id}/changes", summary="One trial's changes")
def api_trial_changes(
    nct_id: NctId,
    view: View,
    include_administrative: Annotated[
        bool, Query(description="Also list administrative churn (never alerted).")
    ] = False,
) -> TrialChangesOut:
    """The trial's change events, newest first, with before and after values."""
    canonical, stored = trial_changes(view, nct_id, include_administrative=include_administrative)
    return TrialChangesOut(nct_id=canonical, changes=[ChangeOut.model_validate(e.to_dict()) for e in stored])
