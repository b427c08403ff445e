"""The front page and the health check."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from hemewatch.storage.database import ping
from hemewatch.web.deps import PagesDep, State, View
from hemewatch.web.schemas import HealthOut
from hemewatch.web.views.home import home_view

router = APIRouter()


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def home(request: Request, view: View, state: State, pages: PagesDep) -> HTMLResponse:
    """Disease pages, search and the latest changes."""
    return pages.render(request, "home.html", {"home": home_view(view, state.disease_pages)})


@router.get("/healthz", tags=["health"], summary="Health check")
def healthz(view: View) -> HealthOut:
    """Answers when the app and its database answer."""
    ping(view.conn)
    return HealthOut()
