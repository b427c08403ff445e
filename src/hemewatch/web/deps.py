"""Request dependencies, as Annotated types the routes declare."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Annotated

import anyio
from fastapi import Depends, HTTPException, Query, Request
from starlette.concurrency import run_in_threadpool

from hemewatch.web.filters import TrialFilters
from hemewatch.web.pages import Pages
from hemewatch.web.security import CSRF_COOKIE, CSRF_FIELD, CsrfToken
from hemewatch.web.state import WebState
from hemewatch.web.views.context import ViewContext


def get_state(request: Request) -> WebState:
    """The app's long-lived objects."""
    state: WebState = request.app.state.web
    return state


async def _state(request: Request) -> WebState:
    # Dependencies are async where they only read: a plain `def` would be run on the thread pool.
    return get_state(request)


State = Annotated[WebState, Depends(_state)]


async def get_pages(state: State) -> Pages:
    """The HTML renderer."""
    return state.pages


PagesDep = Annotated[Pages, Depends(get_pages)]


async def get_view(state: State) -> AsyncIterator[ViewContext]:
    """A read-only view of the mirror for this request, once one of the process's page slots is free.

    The request waits for its turn in the event loop (see PageSlots), then its connection is opened
    and closed on the thread pool, like the page itself.
    """
    async with state.page_slots.current():
        conn = await run_in_threadpool(state.engine.connect)
        try:
            yield ViewContext(conn, state.cache, state.lexicon)
        finally:
            # Closed even when the client has gone and the request is being cancelled.
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(conn.close)


def get_bulk_view(state: State) -> Iterator[ViewContext]:
    """A read-only view for long work (an export): outside the page slots, so it never holds pages up."""
    with state.engine.connect() as conn:
        yield ViewContext(conn, state.cache, state.lexicon)


# scope="function": the connection goes back to the pool (and the slot is free) before the response is sent.
View = Annotated[ViewContext, Depends(get_view, scope="function")]
BulkView = Annotated[ViewContext, Depends(get_bulk_view, scope="function")]


Filters = Annotated[TrialFilters, Query()]


async def get_csrf_token(request: Request, state: State) -> CsrfToken:
    """The CSRF token for the forms of this page."""
    return state.csrf.token_for(request.cookies.get(CSRF_COOKIE))


Csrf = Annotated[CsrfToken, Depends(get_csrf_token)]


async def require_csrf(request: Request, state: State) -> None:
    """Reject a form post whose token is missing, forged or does not match the cookie."""
    form = await request.form()
    submitted = form.get(CSRF_FIELD)
    if not state.csrf.verify(
        request.cookies.get(CSRF_COOKIE), submitted if isinstance(submitted, str) else None
    ):
        raise HTTPException(
            403, "This form has expired or was not sent from this site: reload the page and submit it again."
        )


CsrfChecked = Depends(require_csrf)
