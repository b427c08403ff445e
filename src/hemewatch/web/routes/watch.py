"""Watch a trial by NCT id from the web: /watch (a form) and POST /watch.

An id the mirror holds becomes watched at once. An id it does not hold is fetched from
ClinicalTrials.gov, stored and watched, and the browser goes to its trial page; those fetches are
counted per client address and for the whole site, per hour, so a web client cannot make the
server hammer the registry or fill the mirror. A failure stores nothing.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hemewatch.errors import (
    InvalidNctId,
    InvalidRecord,
    JobAlreadyRunning,
    RegistryError,
    StudyNotFound,
)
from hemewatch.pipeline.watching import (
    WatchOutcome,
    fetch_study,
    follow_mirrored,
    store_watched,
    watch_target,
)
from hemewatch.registry.client import RegistryClient
from hemewatch.registry.records import normalise_nct_id
from hemewatch.registry.scope import load_scope
from hemewatch.settings import USER_AGENT, Settings
from hemewatch.storage.locks import job_lock
from hemewatch.storage.runs import utc_now
from hemewatch.storage.trial_view import load_trial_view
from hemewatch.storage.watchlist import FetchLimitReached, take_fetch_quota, watch_status
from hemewatch.web.deps import Csrf, CsrfChecked, PagesDep, State
from hemewatch.web.links import public_link
from hemewatch.web.pages import Pages
from hemewatch.web.routes.trackers import client_of
from hemewatch.web.security import CsrfToken
from hemewatch.web.state import WebState

router = APIRouter(prefix="/watch", include_in_schema=False)

# Trials new to the mirror one client address may have fetched in an hour, and the whole site.
FETCHES_PER_CLIENT_PER_HOUR: Final = 10
FETCHES_PER_HOUR: Final = 60
# A person is waiting: one retry at most, and no long timeout.
_WEB_RETRIES: Final = 1
_WEB_TIMEOUT: Final = 15.0


def _form_page(
    request: Request,
    pages: Pages,
    csrf: CsrfToken,
    *,
    nct_id: str = "",
    error: str | None = None,
    status: int = 200,
    known: dict[str, object] | None = None,
) -> HTMLResponse:
    context = {"nct_id": nct_id, "error": error, "known": known}
    return pages.render(request, "watch.html", context, status=status, csrf=csrf)


@router.get("", response_class=HTMLResponse, name="watch_form")
def watch_form(
    request: Request,
    state: State,
    pages: PagesDep,
    csrf: Csrf,
    nct_id: Annotated[str, Query(max_length=40)] = "",
) -> HTMLResponse:
    """The form; prefilled (with what the mirror knows of the trial) when opened with ?nct_id=…."""
    return _form_page(request, pages, csrf, nct_id=nct_id, known=_known(state, nct_id))


def _known(state: WebState, raw: str) -> dict[str, object] | None:
    try:
        nct_id = normalise_nct_id(raw)
    except InvalidNctId:
        return None
    with state.engine.connect() as conn:
        view = load_trial_view(conn, nct_id)
        if view is None:
            return None
        watch = watch_status(conn, nct_id)
    return {"nct_id": nct_id, "title": view.summary.get("title"), "watched": watch.watched}


@router.post("", response_class=HTMLResponse, dependencies=[CsrfChecked])
def watch_post(
    request: Request,
    state: State,
    pages: PagesDep,
    csrf: Csrf,
    nct_id: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Watch the trial (fetching and storing it when it is new to the mirror), then show its page."""
    try:
        requested = normalise_nct_id(nct_id)
    except InvalidNctId as exc:
        return _form_page(request, pages, csrf, nct_id=nct_id, error=exc.message, status=422)
    try:
        outcome = _watch(state, requested, client=client_of(request))
    except StudyNotFound:
        message = f"ClinicalTrials.gov has no study {requested}: check the number. Nothing was stored."
        return _form_page(request, pages, csrf, nct_id=requested, error=message, status=404)
    except FetchLimitReached as exc:
        return _form_page(request, pages, csrf, nct_id=requested, error=exc.message, status=429)
    except JobAlreadyRunning:
        message = "The mirror is being updated right now; try again in a few minutes. Nothing was stored."
        return _form_page(request, pages, csrf, nct_id=requested, error=message, status=503)
    except (RegistryError, InvalidRecord) as exc:
        message = f"{exc.message} Nothing was stored; try again later."
        return _form_page(request, pages, csrf, nct_id=requested, error=message, status=503)
    # Listings, counts and facets now include the trial.
    state.cache.clear()
    target = public_link(state.settings.public_url, f"/trials/{outcome.nct_id}")
    return RedirectResponse(target, status_code=303)


def _watch(state: WebState, requested: str, *, client: str) -> WatchOutcome:
    settings, engine = state.settings, state.engine
    scope = load_scope(settings.scope_file)
    target, mirrored = watch_target(engine, requested)
    if mirrored:
        with job_lock(engine, "sync"):
            return follow_mirrored(engine, scope, target, requested=requested, added_by="web")
    with engine.begin() as conn:
        take_fetch_quota(
            conn,
            client=client,
            per_client=FETCHES_PER_CLIENT_PER_HOUR,
            total=FETCHES_PER_HOUR,
            now=utc_now(),
        )
    with _registry(settings) as registry:
        record = fetch_study(registry, target)
    with job_lock(engine, "sync"):
        return store_watched(engine, scope, record, requested=requested, added_by="web")


def _registry(settings: Settings) -> RegistryClient:
    return RegistryClient(
        settings.registry_url,
        user_agent=USER_AGENT,
        requests_per_minute=settings.requests_per_minute,
        timeout=min(settings.request_timeout, _WEB_TIMEOUT),
        max_retries=min(settings.max_retries, _WEB_RETRIES),
    )
