"""/api/v1/changes: change events across every trial, oldest first, with a cursor."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BeforeValidator

from hemewatch.history import EventType
from hemewatch.storage.events import EventFilter, list_events
from hemewatch.web.deps import State, View
from hemewatch.web.links import public_url_of
from hemewatch.web.schemas import ChangeListOut, ChangeOut

router = APIRouter(prefix="/changes", tags=["changes"])


def _iso_date(value: object) -> object:
    # Pydantic would read "0" as 1970-01-01 (a Unix time); only YYYY-MM-DD is a date here.
    if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("expected a date as YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]


@router.get("", summary="Changes across trials")
def api_changes(
    request: Request,
    view: View,
    state: State,
    since: Annotated[
        IsoDate | None, Query(description="Registry update date on or after (YYYY-MM-DD).")
    ] = None,
    type: Annotated[list[EventType], Query(description="Event types (repeatable).")] = [],  # noqa: B006
    min_severity: Annotated[Literal["critical", "notable", "minor"] | None, Query()] = None,
    include_administrative: Annotated[bool, Query(description="Also list administrative churn.")] = False,
    after_id: Annotated[
        int, Query(ge=0, le=2**62, description="Only events with a larger id (the cursor).")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> ChangeListOut:
    """Change events in id order; follow `next` until it is null to read them all."""
    where = EventFilter(
        since=since,
        types=tuple(t.value for t in type),
        include_administrative=include_administrative,
        min_severity=min_severity,
        after_id=after_id,
    )
    events = list_events(view.conn, where, limit=limit, newest_first=False)
    following = (
        public_url_of(state.settings.public_url, request.url.include_query_params(after_id=events[-1].id))
        if len(events) == limit
        else None
    )
    return ChangeListOut(changes=[ChangeOut.model_validate(e.to_dict()) for e in events], next=following)
