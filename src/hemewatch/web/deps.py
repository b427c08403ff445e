"""Request dependencies, as Annotated types the routes declare."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request

from hemewatch.web.filters import TrialFilters
from hemewatch.web.pages import Pages
from hemewatch.web.security import CSRF_COOKIE, CSRF_FIELD, CsrfToken
from hemewatch.web.state import WebState
from hemewatch.web.views.context import ViewContext


def get_state(request: Request) -> WebState:
    """The app's long-lived objects."""
    state: WebState = request.app.state.web
    return state


State = Annotated[WebState, Depends(get_state)]


def get_pages(state: State) -> Pages:
    """The HTML renderer."""
    return state.pages


PagesDep = Annotated[Pages, Depends(get_pages)]


def get_view(state: State) -> Iterator[ViewContext]:
    """A read-only view of the mirror for this request."""
    with state.engine.connect() as conn:
        yield ViewContext(conn, state.cache, state.lexicon)


# scope="function": the connection goes back to the pool before the response is sent.
View = Annotated[ViewContext, Depends(get_view, scope="function")]


Filters = Annotated[TrialFilters, Query()]


def get_csrf_token(request: Request, state: State) -> CsrfToken:
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
