"""/api/v1/prescreen: a patient profile in, ranked candidate trials with reasons and nearest sites out.

Nothing is stored, logged or sent: the profile lives for the request.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from hemewatch import vocabulary
from hemewatch.eligibility.model import GENETICS, PRIOR_THERAPIES, SETTINGS
from hemewatch.eligibility.places import UnknownPlace, resolve_place
from hemewatch.pipeline.prescreen import (
    DISCLAIMER,
    MAX_CANDIDATES,
    MAX_FAILING,
    PrescreenResult,
    ProfileInput,
    build_profile,
    run_prescreen,
)
from hemewatch.web.deps import State, View
from hemewatch.web.filters import PRINTABLE, Diseases, Targets
from hemewatch.web.links import public_link
from hemewatch.web.schemas import ErrorEnvelope

router = APIRouter(prefix="/prescreen", tags=["prescreen"])

_SHORT = 200


@dataclass(frozen=True)
class _OneOf:
    """A list whose items must be one of some values, listed in the JSON schema (read when it is built)."""

    values: Callable[[], Sequence[str]]

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema.setdefault("items", {})["enum"] = list(self.values())
        return json_schema

    def __call__(self, items: list[str]) -> list[str]:
        known = set(self.values())
        unknown = [item for item in items if item not in known]
        if unknown:
            raise ValueError(f"unknown value {unknown[0]!r}; the schema lists the values accepted")
        return items


def _therapies() -> list[str]:
    return [*PRIOR_THERAPIES, *vocabulary.values("agent")]


_Setting = _OneOf(lambda: SETTINGS)
_Genetic = _OneOf(lambda: GENETICS)
_Therapy = _OneOf(_therapies)
Settings_ = Annotated[list[str], Field(max_length=len(SETTINGS)), AfterValidator(_Setting), _Setting]
Genetics = Annotated[list[str], Field(max_length=len(GENETICS)), AfterValidator(_Genetic), _Genetic]
Therapies = Annotated[list[str], Field(max_length=20), AfterValidator(_Therapy), _Therapy]


class ProfileIn(BaseModel):
    """A patient profile; every field may be left out (the facts it decides are then unknown)."""

    model_config = ConfigDict(extra="forbid")

    age: float | None = Field(default=None, ge=0, le=120, description="Age in years.")
    diseases: Diseases = Field(
        default=[], description="The disease, then subtypes: B-ALL, AML, Ph+ ALL, KMT2A-rearranged, …"
    )
    settings: Settings_ = Field(default=[], description="newly diagnosed, relapsed, first relapse, …")
    prior_therapies: Therapies = Field(
        default=[],
        description="Classes (CD19 CAR-T, allogeneic HSCT, TKI, …) or agents (blinatumomab, …), taken as the "
        "whole history: a therapy not listed was not given (first-line chemotherapy aside).",
    )
    prior_lines: int | None = Field(
        default=None, ge=0, le=20, description="Number of prior lines of therapy."
    )
    antigens_positive: Targets = Field(default=[], description="Antigens the leukemia expresses: CD22, …")
    antigens_negative: Targets = Field(default=[], description="Antigens it is known not to express: CD19, …")
    genetics_positive: Genetics = Field(default=[], description="Genetic findings present.")
    genetics_negative: Genetics = Field(default=[], description="Genetic findings known absent.")
    ecog: int | None = Field(default=None, ge=0, le=5, description="ECOG performance status.")
    cns: bool | None = Field(default=None, description="CNS involvement (true / false); null when not known.")
    country: str | None = Field(
        default=None, max_length=_SHORT, pattern=PRINTABLE, description="Only sites in this country."
    )
    near: str | None = Field(
        default=None,
        max_length=_SHORT,
        pattern=PRINTABLE,
        description='A place ("Houston, Texas", "Paris, France") or "lat,lon"; one the offline gazetteer '
        "does not know is answered with 404 and the closest names.",
    )
    within_km: float | None = Field(
        default=None, gt=0, le=20_000, description="Only sites this close to `near`."
    )
    limit: int = Field(default=25, ge=1, le=MAX_CANDIDATES, description="Candidate trials to return.")
    failing_limit: int = Field(default=25, ge=0, le=MAX_FAILING, description="Failing trials to return.")

    def to_input(self) -> ProfileInput:
        """The pipeline's form of the profile."""
        return ProfileInput(
            age=self.age,
            diseases=self.diseases,
            settings=self.settings,
            prior_therapies=self.prior_therapies,
            prior_lines=self.prior_lines,
            antigens=[f"{a}+" for a in self.antigens_positive] + [f"{a}-" for a in self.antigens_negative],
            genetics=[f"{g}+" for g in self.genetics_positive] + [f"{g}-" for g in self.genetics_negative],
            ecog=self.ecog,
            cns=self.cns,
            country=self.country,
            near=self.near,
            within_km=self.within_km,
        )


class VerdictOut(BaseModel):
    """One criterion read as a fact, and what the profile makes of it."""

    kind: str = Field(description="age, disease, setting, prior_therapy, prior_lines, antigen, genetic, …")
    text: str = Field(description='The fact in words: "Requires CD22-positive disease".')
    verdict: Literal["meets", "fails", "unknown"]
    reason: str
    evidence: str = Field(
        description="The criterion as the record writes it (for the trial's disease tags: the tags)."
    )
    polarity: str | None
    section: str | None


class ContactOut(BaseModel):
    """Who to call."""

    name: str | None
    phone: str | None
    email: str | None


class SiteOut(BaseModel):
    """An open site of a candidate trial."""

    facility: str | None
    city: str | None
    state: str | None
    country: str | None
    status: str | None
    distance_km: float | None = Field(description="From `near`, when given.")
    contacts: list[ContactOut]


class ScreenedTrialOut(BaseModel):
    """A trial as screened."""

    nct_id: str
    url: str
    title: str | None
    overall_status: str | None
    study_type: str | None = Field(
        default=None, description="INTERVENTIONAL or OBSERVATIONAL: interventional studies rank first."
    )
    primary_purpose: str | None = Field(
        default=None, description="TREATMENT, SUPPORTIVE_CARE, …: treatment studies rank first."
    )
    phases: list[str]
    diseases: list[str] = Field(description="The trial's disease tags.")
    outcome: Literal["candidate", "fails"]
    unknown: int = Field(description="Verdicts the profile cannot decide.")
    meets: int
    verdicts: list[VerdictOut]
    failing: list[VerdictOut] = Field(description="The verdicts that rule the trial out.")
    nearest_km: float | None
    site_count: int = Field(description="Open sites in the area asked for.")
    sites: list[SiteOut] = Field(description="The nearest open sites (recruiting first).")
    central_contacts: list[ContactOut]


class PlaceOut(BaseModel):
    """Where `near` resolved to."""

    name: str
    latitude: float
    longitude: float


class PrescreenOut(BaseModel):
    """Candidate trials ranked (open first, then fewer unknowns, then the closer disease match), and those
    that clearly fail, with their reasons."""

    disclaimer: str
    place: PlaceOut | None
    screened: int = Field(description="Open trials in scope looked at.")
    candidate_total: int
    failing_total: int
    outside_area: int = Field(description="Candidates without an open site in the country or distance asked.")
    notes: list[str]
    candidates: list[ScreenedTrialOut]
    failing: list[ScreenedTrialOut]


def result_out(result: PrescreenResult, public_url: str) -> PrescreenOut:
    """The JSON form of a pre-screen."""
    place = result.place
    return PrescreenOut(
        disclaimer=DISCLAIMER,
        place=PlaceOut(name=place.name, latitude=place.latitude, longitude=place.longitude)
        if place
        else None,
        screened=result.screened,
        candidate_total=result.candidate_total,
        failing_total=result.failing_total,
        outside_area=result.outside_area,
        notes=result.notes,
        candidates=[
            ScreenedTrialOut.model_validate(
                {**c.to_dict(), "url": public_link(public_url, f"/trials/{c.trial.nct_id}")}
            )
            for c in result.candidates
        ],
        failing=[
            ScreenedTrialOut.model_validate(
                {**f.to_dict(), "url": public_link(public_url, f"/trials/{f.trial.nct_id}")}
            )
            for f in result.failing
        ],
    )


@router.post(
    "",
    summary="Pre-screen a patient",
    responses={404: {"model": ErrorEnvelope, "description": "The place named in `near` is not known."}},
)
def api_prescreen(profile: ProfileIn, view: View, state: State, response: Response) -> PrescreenOut:
    """Which open trials could take this patient, where, and who to call — a pre-screen, not medical
    advice: the trial team decides. Nothing is stored."""
    response.headers["cache-control"] = "no-store"
    try:
        built = build_profile(profile.to_input())
        place = resolve_place(built.place, country=built.country) if built.place else None
    except UnknownPlace as exc:
        raise HTTPException(404, exc.message) from exc
    result = run_prescreen(
        view.conn, built, view.lexicon, limit=profile.limit, failing_limit=profile.failing_limit, place=place
    )
    return result_out(result, state.settings.public_url)
