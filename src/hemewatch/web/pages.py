"""Rendering HTML pages: the Jinja2 environment (autoescaped), static asset URLs and the CSRF cookie."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date, datetime
from importlib import resources
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from hemewatch import __version__
from hemewatch.vocabulary import event_label, kind_label, phase_label, status_label
from hemewatch.web.layouts import DiseasePages
from hemewatch.web.security import CSRF_COOKIE, CSRF_FIELD, CsrfToken


def _static_versions() -> dict[str, str]:
    # A content hash in each asset URL lets browsers keep assets until they change.
    folder = resources.files("hemewatch.web").joinpath("static")
    return {
        entry.name: hashlib.sha256(entry.read_bytes()).hexdigest()[:10]
        for entry in folder.iterdir()
        if entry.is_file()
    }


def _date(value: date | datetime | str | None) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _number(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


class Pages:
    """Renders templates with the app's globals; owns nothing but the template environment."""

    def __init__(self, *, disease_pages: DiseasePages, secure_cookies: bool) -> None:
        env = Environment(
            loader=PackageLoader("hemewatch.web", "templates"),
            autoescape=select_autoescape(["html", "xml"], default_for_string=True, default=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        versions = _static_versions()
        env.globals.update(
            version=__version__,
            disease_pages=list(disease_pages),
            csrf_field=CSRF_FIELD,
            static=lambda name: f"/static/{name}?v={versions.get(name, __version__)}",
        )
        env.filters.update(
            status_label=status_label,
            phase_label=phase_label,
            event_label=event_label,
            kind_label=kind_label,
            date=_date,
            number=_number,
        )
        self.templates = Jinja2Templates(env=env)
        self._secure_cookies = secure_cookies

    def render(
        self,
        request: Request,
        name: str,
        context: Mapping[str, Any],
        *,
        status: int = 200,
        csrf: CsrfToken | None = None,
    ) -> HTMLResponse:
        """The page; sets the CSRF cookie when the page carries a form with a new token."""
        values = {"request": request, "csrf_token": csrf.value if csrf else "", **context}
        response = self.templates.TemplateResponse(request, name, values, status_code=status)
        if csrf is not None and csrf.is_new:
            response.set_cookie(
                CSRF_COOKIE,
                csrf.value,
                httponly=True,
                samesite="strict",
                secure=self._secure_cookies,
                path="/",
            )
        if csrf is not None:
            # A page with a personal token must not be stored by shared caches.
            response.headers["cache-control"] = "no-store"
        assert isinstance(response, HTMLResponse)
        return response

    def html(self, request: Request, name: str, context: Mapping[str, Any]) -> str:
        """A page with no form token as HTML text: what depends on the data and the path alone, so a
        caller may keep it until the data change (a page holding a form token is rendered by `render`)."""
        return self.templates.get_template(name).render({"request": request, "csrf_token": "", **context})

    def error(self, request: Request, *, status: int, message: str, problems: list[str]) -> HTMLResponse:
        """The error page."""
        return self.render(
            request, "error.html", {"status": status, "message": message, "problems": problems}, status=status
        )
