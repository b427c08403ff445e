"""Trackers from the web: /trackers/new, /trackers/confirm/…, /trackers/manage/…, /trackers/unsubscribe/…."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse

from hemewatch.alerts.errors import DeliveryFailed, InvalidTracker, MailNotConfigured
from hemewatch.alerts.signup import (
    change_tracker,
    confirm,
    managed_tracker,
    remove_tracker,
    start_feed_tracker,
    start_tracker,
    unsubscribe,
)
from hemewatch.errors import MailLimitReached
from hemewatch.web.deps import Csrf, CsrfChecked, Filters, PagesDep, State, get_state, require_csrf
from hemewatch.web.pages import Pages
from hemewatch.web.security import CsrfToken
from hemewatch.web.state import WebState
from hemewatch.web.tracker_forms import TrackerForm, choices

router = APIRouter(prefix="/trackers", include_in_schema=False)
# Problems a person can fix in the form (or the administrator on the server), shown in the form.
FormProblem = (InvalidTracker, MailNotConfigured, DeliveryFailed, MailLimitReached)


def client_of(request: Request) -> str:
    """The requesting address as the app sees it (the proxy's, behind one that is not trusted)."""
    return request.client.host if request.client is not None else "unknown"


def _form_page(
    request: Request,
    pages: Pages,
    csrf: CsrfToken,
    form: TrackerForm,
    *,
    action: str,
    error: str | None = None,
    status: int = 200,
    **extra: Any,
) -> HTMLResponse:
    context = {
        "form": form,
        "choices": choices(),
        "action": action,
        "error": error,
        "mail_enabled": bool(get_state(request).settings.smtp_url),
        **extra,
    }
    return pages.render(request, "tracker_form.html", context, status=status, csrf=csrf)


@router.get("/new", response_class=HTMLResponse, name="new_tracker")
def new_tracker(
    request: Request,
    filters: Filters,
    pages: PagesDep,
    csrf: Csrf,
    nct_id: Annotated[list[str], Query(max_length=50)] = [],  # noqa: B006
) -> HTMLResponse:
    """The tracker form, prefilled from the filters of the page it was opened from."""
    return _form_page(request, pages, csrf, TrackerForm.from_filters(filters, nct_id), action="/trackers/new")


@router.post("/new", response_class=HTMLResponse, dependencies=[CsrfChecked])
def create_new_tracker(
    request: Request, form: Annotated[TrackerForm, Form()], state: State, pages: PagesDep, csrf: Csrf
) -> HTMLResponse:
    """Store the tracker unconfirmed and send the confirmation mail (without mail: a feed-only tracker)."""
    if not state.settings.smtp_url:
        return _feed_only_tracker(request, form, state, pages, csrf)
    try:
        spec = start_tracker(state.engine, form.to_spec(), settings=state.settings, client=client_of(request))
    except FormProblem as exc:
        return _form_page(
            request, pages, csrf, form, action="/trackers/new", error=str(exc), status=exc.http_status
        )
    # The same answer whether the address had a tracker of that name or not (see start_tracker).
    return pages.render(request, "tracker_sent.html", {"tracker": spec}, status=201)


def _feed_only_tracker(
    request: Request, form: TrackerForm, state: WebState, pages: Pages, csrf: CsrfToken
) -> HTMLResponse:
    try:
        tracker = start_feed_tracker(
            state.engine,
            form.to_spec(email_enabled=False),
            settings=state.settings,
            client=client_of(request),
        )
    except FormProblem as exc:
        return _form_page(
            request, pages, csrf, form, action="/trackers/new", error=str(exc), status=exc.http_status
        )
    public_url = state.settings.public_url
    return pages.render(
        request,
        "tracker_done.html",
        {
            "heading": "Tracker saved",
            "message": f"“{tracker.name}” is active. This server sends no e-mail, so its changes are "
            "published in the private feed below. Keep both addresses: they are shown only this once.",
            "feed_url": tracker.feed_url(public_url),
            "manage_url": f"{public_url}/trackers/manage/{tracker.manage_token}",
        },
        status=201,
    )


@router.get("/confirm/{token}", response_class=HTMLResponse, name="confirm_tracker")
def confirm_page(token: str, request: Request, pages: PagesDep, csrf: Csrf) -> HTMLResponse:
    """A button that confirms; mail scanners that open links must not confirm on a person's behalf."""
    return pages.render(request, "tracker_confirm.html", {"token": token}, csrf=csrf)


@router.post("/confirm/{token}", response_class=HTMLResponse, dependencies=[CsrfChecked])
def confirm_post(token: str, request: Request, state: State, pages: PagesDep) -> HTMLResponse:
    """Confirm the tracker: it starts receiving changes."""
    tracker = confirm(state.engine, token)
    return pages.render(
        request,
        "tracker_done.html",
        {
            "heading": "Tracker confirmed",
            "message": f"“{tracker.name}” is active: changes come to {tracker.email} "
            f"({tracker.spec.cadence}). Use the manage link in the mail to change or delete it.",
            "feed_url": tracker.feed_url(state.settings.public_url) if tracker.spec.feed_enabled else None,
        },
    )


@router.get("/manage/{token}", response_class=HTMLResponse, name="manage_tracker")
def manage_page(token: str, request: Request, state: State, pages: PagesDep, csrf: Csrf) -> HTMLResponse:
    """The tracker's settings, its feed and a delete button; only the manage link opens it."""
    tracker = managed_tracker(state.engine, token)
    return _form_page(
        request,
        pages,
        csrf,
        TrackerForm.from_spec(tracker.spec),
        action=f"/trackers/manage/{token}",
        tracker=tracker,
        feed_url=tracker.feed_url(state.settings.public_url),
    )


@router.post("/manage/{token}", response_class=HTMLResponse, dependencies=[CsrfChecked])
def manage_post(
    token: str,
    request: Request,
    form: Annotated[TrackerForm, Form()],
    state: State,
    pages: PagesDep,
    csrf: Csrf,
    intent: Annotated[str, Form(alias="action", max_length=10)] = "save",
) -> HTMLResponse:
    """Save or delete the tracker."""
    if intent == "delete":
        tracker = remove_tracker(state.engine, token)
        message = f"“{tracker.name}” is deleted; nothing more will be sent for it."
        return pages.render(
            request, "tracker_done.html", {"heading": "Tracker deleted", "message": message, "feed_url": None}
        )
    current = managed_tracker(state.engine, token)
    try:
        change = change_tracker(
            state.engine,
            token,
            form.to_spec(email_enabled=current.spec.email_enabled),
            settings=state.settings,
            client=client_of(request),
        )
    except FormProblem as exc:
        return _form_page(
            request,
            pages,
            csrf,
            form,
            action=f"/trackers/manage/{token}",
            error=str(exc),
            status=exc.http_status,
            tracker=current,
            feed_url=current.feed_url(state.settings.public_url),
        )
    notice = (
        f"Saved. A confirmation mail went to {change.mailed_to}: changes go there once it is confirmed."
        if change.mailed_to
        else "Saved."
    )
    return _form_page(
        request,
        pages,
        csrf,
        TrackerForm.from_spec(change.shown),
        action=f"/trackers/manage/{token}",
        notice=notice,
        tracker=change.tracker,
        feed_url=change.tracker.feed_url(state.settings.public_url),
    )


@router.get("/unsubscribe/{token}", response_class=HTMLResponse, name="unsubscribe_tracker")
def unsubscribe_page(token: str, request: Request, pages: PagesDep, csrf: Csrf) -> HTMLResponse:
    """A button that unsubscribes."""
    return pages.render(request, "tracker_unsubscribe.html", {"token": token}, csrf=csrf)


async def _csrf_unless_one_click(request: Request, state: State) -> None:
    # RFC 8058: mail clients POST "List-Unsubscribe=One-Click" with no cookie; the unguessable
    # token in the address is the authority there, as it is for the link itself.
    form = await request.form()
    if form.get("List-Unsubscribe") == "One-Click":
        return
    await require_csrf(request, state)


@router.post(
    "/unsubscribe/{token}", response_class=HTMLResponse, dependencies=[Depends(_csrf_unless_one_click)]
)
def unsubscribe_post(token: str, request: Request, state: State, pages: PagesDep) -> HTMLResponse:
    """Unsubscribe: nothing more is sent for this tracker."""
    tracker = unsubscribe(state.engine, token)
    message = f"“{tracker.name}” will send nothing more to {tracker.email}."
    return pages.render(
        request, "tracker_done.html", {"heading": "Unsubscribed", "message": message, "feed_url": None}
    )
