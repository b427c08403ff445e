"""HL7 FHIR R5: one trial as a ResearchStudy, and searchset Bundles of ResearchStudy for the trial filters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Final

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from hemewatch.classification.model import DISEASE, TAG_KINDS
from hemewatch.errors import TrialNotFound
from hemewatch.storage.tags import current_tags
from hemewatch.storage.versions import load_current_studies, load_current_study
from hemewatch.web.api.trials import NctId
from hemewatch.web.deps import Filters, State, View
from hemewatch.web.fhir import FHIR_JSON, research_study, searchset
from hemewatch.web.links import public_link, public_url_of
from hemewatch.web.mechanism import shown_diseases
from hemewatch.web.views.listing import list_trials
from hemewatch.web.views.record import read_trial_record
from hemewatch.web.views.trial import load_trial_page

router = APIRouter(tags=["fhir"])

MAX_COUNT: Final = 100
DEFAULT_COUNT: Final = 20


class FhirResponse(JSONResponse):
    """A FHIR resource in its JSON format."""

    media_type = FHIR_JSON


def _schema(resource_type: str, description: str, required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "description": description,
        "required": ["resourceType", *required],
        "properties": {"resourceType": {"type": "string", "enum": [resource_type]}},
        "additionalProperties": True,
    }


_STUDY_SCHEMA: Final = _schema(
    "ResearchStudy",
    "An HL7 FHIR R5 ResearchStudy (see docs/fhir.md for what maps to what).",
    ["id", "status"],
)
_BUNDLE_SCHEMA: Final = _schema(
    "Bundle", "An HL7 FHIR R5 Bundle of type searchset whose entries are ResearchStudy resources.", ["type"]
)


# The /api/v1 router's error responses (the ErrorEnvelope schema), documented as application/json: a
# response_class media type would otherwise be given to them too.
_ERRORS: Final[Mapping[int, str]] = {
    404: "Not found.",
    422: "Invalid parameters.",
    500: "Server error.",
    503: "The database is unavailable.",
}


def _responses(description: str, schema: Mapping[str, Any]) -> dict[int | str, dict[str, Any]]:
    """The resource as application/fhir+json; errors stay the API's JSON envelope (application/json)."""
    envelope = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}}
    errors: dict[int | str, dict[str, Any]] = {
        status: {"description": text, "content": envelope} for status, text in _ERRORS.items()
    }
    return {200: {"description": description, "content": {FHIR_JSON: {"schema": dict(schema)}}}, **errors}


def study_url(public: str, nct_id: str) -> str:
    """Where a trial's ResearchStudy is read."""
    return public_link(public, f"/api/v1/trials/{nct_id}/fhir")


@router.get(
    "/trials/{nct_id}/fhir",
    summary="One trial as a FHIR ResearchStudy",
    response_class=FhirResponse,
    response_model=None,
    responses=_responses("The trial as an HL7 FHIR R5 ResearchStudy (application/fhir+json).", _STUDY_SCHEMA),
)
def fhir_research_study(nct_id: NctId, view: View, state: State) -> FhirResponse:
    """The trial as an HL7 FHIR R5 ResearchStudy: identifiers, phase, status, MeSH-coded conditions,
    sites as contained Locations, arms with their interventions, sponsors and hemewatch's tags."""
    page = load_trial_page(view, nct_id)
    study = load_current_study(view.conn, page.record.nct_id)
    if study is None:  # removed between the two reads
        raise TrialNotFound(f"{page.record.nct_id} is not in the local mirror.")
    tags = [(kind, [t.value for t in shown]) for kind, shown in page.tags_by_kind()]
    retired = bool(page.watch and (page.watch.removed_at or page.watch.merged_into))
    resource = research_study(page.record, study, tags, public_url=state.settings.public_url, retired=retired)
    return FhirResponse(resource)


@router.get(
    "/fhir/ResearchStudy",
    summary="Search trials as a FHIR Bundle",
    response_class=FhirResponse,
    response_model=None,
    responses=_responses("One page of matching trials as an HL7 FHIR R5 searchset Bundle.", _BUNDLE_SCHEMA),
)
def fhir_search(
    request: Request,
    filters: Filters,
    view: View,
    state: State,
    count: Annotated[
        int, Query(alias="_count", ge=1, le=MAX_COUNT, description="ResearchStudy resources per page.")
    ] = DEFAULT_COUNT,
    offset: Annotated[
        int, Query(alias="_offset", ge=0, le=1_000_000, description="Matching trials to skip.")
    ] = 0,
) -> FhirResponse:
    """Trials matching the same filters as /api/v1/trials, as a searchset Bundle with self, first,
    previous and next links; `_count` sets the page size (at most 100)."""
    listing = list_trials(view, filters, limit=count, offset=offset)
    public = state.settings.public_url
    ids = [t.row.nct_id for t in listing.trials]
    kinds = current_tags(view.conn, ids)
    studies = load_current_studies(view.conn, ids)
    resources = []
    for listed in listing.trials:
        study = studies.get(listed.row.nct_id)
        if study is None:  # removed since the listing was read
            continue
        found = kinds.get(listed.row.nct_id, {})
        # As the trial page shows them: catch-all diseases ("leukemia") left out.
        found = {**found, DISEASE: shown_diseases(found.get(DISEASE, []), view.lexicon)}
        tags = [(kind, found[kind]) for kind in TAG_KINDS if found.get(kind)]
        resources.append(research_study(read_trial_record(study), study, tags, public_url=public))
    url = request.url.remove_query_params(["_offset"])

    def page(at: int) -> str:
        return public_url_of(public, url.include_query_params(_offset=at) if at else url)

    links = {"self": public_url_of(public, request.url), "first": page(0)}
    if offset > 0:
        links["previous"] = page(max(offset - count, 0))
    if listing.next_offset is not None:
        links["next"] = page(listing.next_offset)
    bundle = searchset(
        resources,
        total=listing.total,
        full_urls=[study_url(public, r["id"]) for r in resources],
        links=links,
    )
    return FhirResponse(bundle)
