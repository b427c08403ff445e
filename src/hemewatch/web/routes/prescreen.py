"""The patient pre-screen page: /prescreen.

The form is posted, not put in the address: a profile never lands in a server's access log, the
browser's history or a Referer header. Nothing is stored, no cookie is set, nothing is sent anywhere.
"""

from __future__ import annotations

import re
from typing import Annotated, Final

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from hemewatch.eligibility.model import SETTINGS
from hemewatch.errors import InvalidFilterValue
from hemewatch.pipeline.prescreen import DISCLAIMER, ProfileInput, build_profile, run_prescreen
from hemewatch.web.deps import PagesDep, View
from hemewatch.web.pages import Pages

router = APIRouter(include_in_schema=False)
RESULTS: Final = 25
_LIST_SPLIT: Final = re.compile(r"[,;\n]")
_TEXT: Final = 300


class PrescreenForm(BaseModel):
    """The form's fields as typed (every one optional; lists are comma-separated)."""

    age: str = Field(default="", max_length=10)
    disease: str = Field(default="", max_length=_TEXT)
    subtype: str = Field(default="", max_length=_TEXT)
    setting: list[str] = Field(default=[], max_length=len(SETTINGS))
    prior: str = Field(default="", max_length=1000)
    prior_lines: str = Field(default="", max_length=10)
    antigens: str = Field(default="", max_length=_TEXT)
    genetics: str = Field(default="", max_length=_TEXT)
    ecog: str = Field(default="", max_length=2)
    cns: str = Field(default="", max_length=8)
    country: str = Field(default="", max_length=_TEXT)
    near: str = Field(default="", max_length=_TEXT)
    within: str = Field(default="", max_length=10)


def _split(text: str) -> list[str]:
    return [part.strip() for part in _LIST_SPLIT.split(text) if part.strip()]


def _number(text: str, name: str, *, low: float, high: float, whole: bool = False) -> float | None:
    if not text.strip():
        return None
    try:
        value = float(text) if not whole else int(text)
    except ValueError:
        raise InvalidFilterValue(
            f"{name} must be a {'whole ' if whole else ''}number", dimension=name
        ) from None
    if not low <= value <= high:
        raise InvalidFilterValue(f"{name} must be between {low:g} and {high:g}", dimension=name)
    return value


def profile_input(form: PrescreenForm) -> ProfileInput:
    """The form as a pipeline profile input; raise InvalidFilterValue naming a bad field."""
    age = _number(form.age, "age", low=0, high=120)
    lines = _number(form.prior_lines, "prior lines", low=0, high=20, whole=True)
    ecog = _number(form.ecog, "ECOG", low=0, high=5, whole=True)
    within = _number(form.within, "distance", low=1, high=20_000)
    return ProfileInput(
        age=age,
        diseases=[d for d in (form.disease.strip(), *_split(form.subtype)) if d],
        settings=form.setting,
        prior_therapies=_split(form.prior),
        prior_lines=None if lines is None else int(lines),
        antigens=_split(form.antigens),
        genetics=_split(form.genetics),
        ecog=None if ecog is None else int(ecog),
        cns={"yes": True, "no": False}.get(form.cns),
        country=form.country.strip() or None,
        near=form.near.strip() or None,
        within_km=within,
    )


def _page(pages: Pages, request: Request, context: dict[str, object], *, status: int = 200) -> HTMLResponse:
    response = pages.render(
        request,
        "prescreen.html",
        {"disclaimer": DISCLAIMER, "settings_known": SETTINGS, **context},
        status=status,
    )
    response.headers["cache-control"] = "no-store"
    return response


@router.get("/prescreen", response_class=HTMLResponse, name="prescreen")
def prescreen_form(request: Request, pages: PagesDep) -> HTMLResponse:
    """The empty pre-screen form."""
    return _page(pages, request, {"form": PrescreenForm(), "result": None, "error": None})


@router.post("/prescreen", response_class=HTMLResponse)
def prescreen_results(
    request: Request, form: Annotated[PrescreenForm, Form()], view: View, pages: PagesDep
) -> HTMLResponse:
    """The candidate trials for the posted profile, ranked, with reasons and nearest sites."""
    try:
        profile = build_profile(profile_input(form))
        result = run_prescreen(view.conn, profile, view.lexicon, limit=RESULTS)
    except InvalidFilterValue as exc:
        return _page(pages, request, {"form": form, "result": None, "error": exc.message}, status=422)
    return _page(pages, request, {"form": form, "result": result, "error": None})
