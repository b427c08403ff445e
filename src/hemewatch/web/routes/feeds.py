"""Per-tracker Atom feeds: /feeds/{token}.atom."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from hemewatch.web.deps import State
from hemewatch.web.tracker_flow import tracker_feed

router = APIRouter(prefix="/feeds", include_in_schema=False)


@router.get("/{token}.atom", name="tracker_feed")
def feed(token: str, state: State) -> Response:
    """The changes a tracker was told about, newest first."""
    body = tracker_feed(state.engine, token, settings=state.settings)
    return Response(
        body, media_type="application/atom+xml; charset=utf-8", headers={"cache-control": "no-cache"}
    )
