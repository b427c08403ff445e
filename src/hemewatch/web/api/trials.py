"""/api/v1/trials: search, one trial, one trial's changes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from hemewatch.storage.record_history import history_events
from hemewatch.storage.text_search import SuggestionKind
from hemewatch.web.deps import Filters, State, View
from hemewatch.web.filters import PRINTABLE
from hemewatch.web.links import public_link, public_url_of
from hemewatch.web.schemas import (
    ChangeOut,
    TrialChangesOut,
    TrialDetailOut,
    TrialListOut,
    TrialOut,
    TrialSummaryOut,
)
from hemewatch.web.views.listing import list_trials, suggest_for
from hemewatch.web.views.trial import load_trial_page, trial_changes

router = APIRouter(prefix="/trials", tags=["trials"])
NctId = Annotated[
    str,
    Path(max_length=20, pattern=PRINTABLE, description="ClinicalTrials.gov identifier, e.g. NCT04530565."),
]


class SuggestionOut(BaseModel):
    """A lexicon name close to a text search that found nothing."""

    kind: SuggestionKind
    value: str = Field(description="The name, e.g. blinatumomab.")
    url: str = Field(description="This search with `q` set to the name.")


class TrialSearchOut(TrialListOut):
    """One page of matching trials; names close to `q` when nothing matches it."""

    suggestions: list[SuggestionOut] = Field(
        default=[], description="When total is 0 and `q` is set: the nearest agents, targets or diseases."
    )


@router.get("", summary="Search trials")
def api_trials(
    request: Request,
    filters: Filters,
    view: View,
    state: State,
    limit: Annotated[int, Query(ge=1, le=500, description="Trials per page.")] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Trials to skip.")] = 0,
) -> TrialSearchOut:
    """Trials in scope matching the filters (same filters as /search), paginated."""
    listing = list_trials(view, filters, limit=limit, offset=offset, with_latest=True)
    public = state.settings.public_url
    following = listing.next_offset
    return TrialSearchOut(
        total=listing.total,
        limit=limit,
        offset=offset,
        next=public_url_of(public, request.url.include_query_params(offset=following))
        if following is not None
        else None,
        trials=[
            TrialSummaryOut.model_validate(
                {**t.to_dict(), "url": public_link(public, f"/trials/{t.row.nct_id}")}
            )
            for t in listing.trials
        ],
        suggestions=[
            SuggestionOut(
                kind=s.kind,
                value=s.value,
                url=public_url_of(
                    public, request.url.remove_query_params("offset").include_query_params(q=s.value)
                ),
            )
            for s in suggest_for(view, filters, listing.total)
        ],
    )


@router.get("/{nct_id}", summary="One trial")
def api_trial(nct_id: NctId, view: View) -> TrialOut:
    """The trial's essentials, mechanism line, therapies and tags with their evidence, and sites."""
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
    """The trial's change events, newest first by registry date, with before and after values."""
    canonical, stored = trial_changes(view, nct_id, include_administrative=include_administrative)
    found = history_events(view.conn, stored)
    return TrialChangesOut(
        nct_id=canonical,
        changes=[ChangeOut.model_validate({**e.to_dict(), "from_history": e.id in found}) for e in stored],
    )
