"""Per-tracker feeds: /feeds/{token}.atom (Atom 1.0) and /feeds/{token}.json (JSON Feed 1.1).

Feed readers poll: the feed's ETag and Last-Modified come from one small query, and a reader
that already has the current state gets 304 Not Modified without the feed being rendered.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from hemewatch.alerts.feeds import FeedKind, FeedValidator
from hemewatch.alerts.signup import tracker_feed
from hemewatch.web.deps import State
from hemewatch.web.http_cache import is_fresh, not_modified, validator_headers

router = APIRouter(prefix="/feeds", include_in_schema=False)

MEDIA_TYPES: dict[FeedKind, str] = {
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}


def _answer(request: Request, state: State, token: str, kind: FeedKind) -> Response:
    def unchanged(validator: FeedValidator) -> bool:
        return is_fresh(request.headers, etag=validator.etag, last_modified=validator.last_modified)

    answer = tracker_feed(state.engine, token, settings=state.settings, kind=kind, unchanged=unchanged)
    headers = {
        "cache-control": "no-cache",
        **validator_headers(etag=answer.validator.etag, last_modified=answer.validator.last_modified),
    }
    if answer.body is None:
        return not_modified(headers)
    return Response(answer.body, media_type=MEDIA_TYPES[kind], headers=headers)


@router.get("/{token}.atom", name="tracker_feed")
def feed(token: str, request: Request, state: State) -> Response:
    """The changes a tracker was told about, newest first, as Atom."""
    return _answer(request, state, token, "atom")


@router.get("/{token}.json", name="tracker_json_feed")
def json_feed(token: str, request: Request, state: State) -> Response:
    """The same changes as a JSON Feed."""
    return _answer(request, state, token, "json")
