"""/api/v1/changes: change events across every trial, oldest first, with a cursor."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Query, Request

from hemewatch.storage.events import list_events
from hemewatch.web.deps import State, View
from hemewatch.web.links import public_url_of
from hemewatch.web.schemas import ChangeListOut, ChangeOut
from hemewatch.web.views.changes import ChangeFilters

router = APIRouter(prefix="/changes", tags=["changes"])


@router.get("", summary="Changes across trials")
def api_changes(
    request: Request,
    view: View,
    state: State,
    filters: Annotated[ChangeFilters, Query()],
    after_id: Annotated[
        int, Query(ge=0, le=2**62, description="Only events with a larger id (the cursor).")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> ChangeListOut:
    """Change events in id order (the same filters as /changes); follow `next` until it is null."""
    where = replace(filters.to_event_filter(), after_id=after_id)
    events = list_events(view.conn, where, limit=limit, newest_first=False)
    following = (
        public_url_of(state.settings.public_url, request.url.include_query_params(after_id=events[-1].id))
        if len(events) == limit
        else None
    )
    return ChangeListOut(changes=[ChangeOut.model_validate(e.to_dict()) for e in events], next=following)
