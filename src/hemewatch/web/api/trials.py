"""/api/v1/trials: search, one trial, one trial's changes."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from hemewatch.eligibility.model import FactKind, Polarity, Section
from hemewatch.storage.record_history import history_events
from hemewatch.storage.text_search import SuggestionKind
from hemewatch.web.deps import Filters, State, View
from hemewatch.web.filters import PRINTABLE
from hemewatch.web.links import public_link, public_url_of
from hemewatch.web.schemas import (
    ChangeOut,
    SiteOut,
    TrialChangesOut,
    TrialDetailOut,
    TrialListOut,
    TrialOut,
    TrialSummaryOut,
)
from hemewatch.web.views.listing import list_trials, suggest_for
from hemewatch.web.views.trial import load_trial_page, trial_changes

router = APIRouter(prefix="/trials", tags=["trials"])
NctId = Annotated[
    str,
    Path(max_length=20, pattern=PRINTABLE, description="ClinicalTrials.gov identifier, e.g. NCT04530565."),
]


class SuggestionOut(BaseModel):
    """A lexicon name close to a text search that found nothing."""

    kind: SuggestionKind
    value: str = Field(description="The name, e.g. blinatumomab.")
    url: str = Field(description="This search with `q` set to the name.")


class TrialSearchOut(TrialListOut):
    """One page of matching trials; names close to `q` when nothing matches it."""

    suggestions: list[SuggestionOut] = Field(
        default=[], description="When total is 0 and `q` is set: the nearest agents, targets or diseases."
    )


class ContactOut(BaseModel):
    """A person or office to call: the trial's central contact or a site's."""

    name: str | None
    role: str | None = Field(description="CONTACT, PRINCIPAL_INVESTIGATOR, … as the record gives it.")
    phone: str | None = Field(description="With its extension, when the record gives one.")
    email: str | None


class SiteContactsOut(SiteOut):
    """One site, its recruitment status and its contacts."""

    contacts: list[ContactOut]


class CriteriaOut(BaseModel):
    """The eligibility criteria as lists of criteria, in the record's order."""

    inclusion: list[str]
    exclusion: list[str]
    unsectioned: list[str] = Field(description="Criteria written without Inclusion / Exclusion headings.")
    text: str | None = Field(description="The criteria as the record writes them.")


class FactOut(BaseModel):
    """One structured reading of one criterion, with the sentence it comes from."""

    kind: FactKind
    value: str
    polarity: Polarity = Field(description="required, excluded or allowed.")
    section: Section
    low: float | None = Field(description="Inclusive lower bound (years, lines, performance score).")
    high: float | None = Field(description="Inclusive upper bound.")
    evidence: str = Field(description="The criterion as written.")
    text: str = Field(description='The fact as a sentence, e.g. "Requires CD19-positive disease".')


class EligibilityOut(BaseModel):
    """Who may join: the criteria, the facts read from them, and the record's structured fields."""

    criteria: CriteriaOut
    facts: list[FactOut]
    minimum_age: str | None
    maximum_age: str | None
    sex: str | None = Field(description="ALL, FEMALE or MALE.")
    healthy_volunteers: bool | None


class PassedEstimateOut(BaseModel):
    """An estimated key date already in the past: the record may be out of date."""

    milestone: str = Field(description="start, primary completion or completion.")
    date: str


class IdentifierOut(BaseModel):
    """One id of the trial elsewhere: another registry, a grant, the sponsor's own number."""

    scheme: str = Field(
        description="eudract, eu-ct, chictr, jrct, isrctn, who-utn, japic-cti, umin-ctr, ctri, anzctr, drks, "
        "cris, pactr, nct, nci-ctrp, nci-pdq, nih-grant, id-rcb, chinadrugtrials, snctp, fda-ind, grant, "
        "registry, sponsor or other."
    )
    value: str = Field(description="The id in its usual form, e.g. 2019-001234-56 or ChiCTR2000031234.")
    label: str = Field(description="What the id is, e.g. EudraCT, or the record's domain for other ids.")
    url: str | None = Field(description="The trial in that registry (or a search for it), when one is known.")
    raw: str = Field(description="The id as the record writes it.")
    source: Literal["org_study_id", "secondary_id"]
    type: str | None = Field(description="The record's type: EUDRACT_NUMBER, CTIS, REGISTRY, NIH, FDA, …")
    domain: str | None = Field(description="The record's domain, e.g. CTIS (EU).")


class TrialCoordinatorOut(TrialDetailOut):
    """One trial with what a coordinator needs: eligibility, contacts, sites and the record's freshness."""

    sites: list[SiteContactsOut]  # type: ignore[assignment]
    contacts: list[ContactOut] = Field(description="The central contacts.")
    status_verified: str | None = Field(description="When the sponsor last verified the record (YYYY-MM).")
    estimated_dates_passed: list[PassedEstimateOut]
    eligibility: EligibilityOut
    healthy_volunteers: bool | None
    watched: bool = Field(description="Followed by NCT id (`hemewatch add` or the web form).")
    watched_since: str | None
    removed_at: str | None = Field(description="When the registry stopped listing the record.")
    merged_into: str | None = Field(description="The record ClinicalTrials.gov merged this one into.")
    identifiers: list[IdentifierOut] = Field(
        default=[],
        description="The sponsor's id and the secondary ids, typed: other registries, grants, protocols.",
    )


class TrialAnswerOut(TrialOut):
    """One trial."""

    trial: TrialCoordinatorOut


@router.get("", summary="Search trials")
def api_trials(
    request: Request,
    filters: Filters,
    view: View,
    state: State,
    limit: Annotated[int, Query(ge=1, le=500, description="Trials per page.")] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Trials to skip.")] = 0,
) -> TrialSearchOut:
    """Trials in scope matching the filters (same filters as /search), paginated."""
    listing = list_trials(view, filters, limit=limit, offset=offset, with_latest=True)
    public = state.settings.public_url
    following = listing.next_offset
    return TrialSearchOut(
        total=listing.total,
        limit=limit,
        offset=offset,
        next=public_url_of(public, request.url.include_query_params(offset=following))
        if following is not None
        else None,
        trials=[
            TrialSummaryOut.model_validate(
                {**t.to_dict(), "url": public_link(public, f"/trials/{t.row.nct_id}")}
            )
            for t in listing.trials
        ],
        suggestions=[
            SuggestionOut(
                kind=s.kind,
                value=s.value,
                url=public_url_of(
                    public, request.url.remove_query_params("offset").include_query_params(q=s.value)
                ),
            )
            for s in suggest_for(view, filters, listing.total)
        ],
    )


@router.get("/{nct_id}", summary="One trial")
def api_trial(nct_id: NctId, view: View) -> TrialAnswerOut:
    """The trial's essentials, eligibility (criteria and facts), contacts, mechanism line, therapies and
    tags with their evidence, sites with their status and contacts, and whether it is watched, removed
    or merged."""
    page = load_trial_page(view, nct_id)
    return TrialAnswerOut(trial=TrialCoordinatorOut.model_validate(page.to_dict()))


@router.get("/{nct_id}/changes", summary="One trial's changes")
def api_trial_changes(
    nct_id: NctId,
    view: View,
    include_administrative: Annotated[
        bool, Query(description="Also list administrative churn (never alerted).")
    ] = False,
) -> TrialChangesOut:
    """The trial's change events, newest first by registry date, with before and after values."""
    canonical, stored = trial_changes(view, nct_id, include_administrative=include_administrative)
    found = history_events(view.conn, stored)
    return TrialChangesOut(
        nct_id=canonical,
        changes=[ChangeOut.model_validate({**e.to_dict(), "from_history": e.id in found}) for e in stored],
    )
