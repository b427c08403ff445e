"""The status page: how fresh the mirror is, the last runs, the outbox and the scheduler (/status)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from hemewatch.pipeline.status import describe_age, system_status
from hemewatch.web.deps import PagesDep, State

router = APIRouter(include_in_schema=False)


@router.get("/status", response_class=HTMLResponse, name="status")
def status_page(request: Request, state: State, pages: PagesDep) -> HTMLResponse:
    """The same facts as `hemewatch status` and GET /api/v1/status, without delivery targets."""
    summary = system_status(state.engine, state.settings, private=False)
    response = pages.render(request, "status.html", {"status": summary, "age": describe_age, "when": _when})
    response.headers["cache-control"] = "no-cache"
    return response


def _when(value: str | None) -> str:
    """An ISO time as people read it: "2026-11-20 09:00 UTC" (— when there is none)."""
    if not value:
        return "—"
    try:
        return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return value
