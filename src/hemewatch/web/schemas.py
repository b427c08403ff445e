"""The JSON API's response bodies (they are also its OpenAPI documentation)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from hemewatch.classification.model import Role

# Examples shown in the OpenAPI document (tests/web/test_openapi_ids.py checks that each one is valid).
_TRIAL_URL = "https://hemewatch.example.org/trials/NCT05464836"
_CHANGE_EXAMPLE: dict[str, Any] = {
    "id": 4821,
    "nct_id": "NCT05464836",
    "type": "status_changed",
    "severity": "notable",
    "alertable": True,
    "path": "protocolSection.statusModule.overallStatus",
    "before": "NOT_YET_RECRUITING",
    "after": "RECRUITING",
    "summary": "Status changed: not yet recruiting → recruiting",
    "old_version_id": 911,
    "new_version_id": 1377,
    "registry_date": "2026-11-19",
    "detected_at": "2026-11-21T06:00:00+00:00",
    "from_history": False,
}
_SUMMARY_EXAMPLE: dict[str, Any] = {
    "nct_id": "NCT05464836",
    "title": "CD19/CD22 CAR-T Cells for Relapsed or Refractory B-ALL in Children",
    "overall_status": "RECRUITING",
    "phases": ["PHASE1", "PHASE2"],
    "lead_sponsor": "Example Children's Hospital",
    "countries": ["France", "Germany"],
    "start_date": "2023-03-01",
    "last_update_post_date": "2026-11-19",
    "last_change": "2026-11-19",
    "enrollment": 60,
    "in_scope": True,
    "acute_leukemia": True,
    "immunotherapy": True,
    "diseases": ["B-ALL"],
    "modalities": ["CAR-T"],
    "targets": ["CD19", "CD22"],
    "settings": ["relapsed/refractory"],
    "populations": ["pediatric", "AYA"],
    "agents": [],
    "mechanism": "CD19/CD22 CAR-T",
    "latest_change": {
        "type": "status_changed",
        "severity": "notable",
        "summary": "Status changed: not yet recruiting → recruiting",
        "registry_date": "2026-11-19",
    },
    "url": _TRIAL_URL,
}
_DETAIL_EXAMPLE: dict[str, Any] = {
    "nct_id": "NCT05464836",
    "brief_title": "CD19/CD22 CAR-T Cells for Relapsed or Refractory B-ALL in Children",
    "official_title": None,
    "acronym": None,
    "overall_status": "RECRUITING",
    "why_stopped": None,
    "phases": ["PHASE1", "PHASE2"],
    "study_type": "INTERVENTIONAL",
    "lead_sponsor": "Example Children's Hospital",
    "collaborators": [],
    "enrollment": 60,
    "enrollment_type": "ESTIMATED",
    "start": "2023-03-01",
    "primary_completion": "2027-12",
    "completion": "2029-12",
    "first_posted": "2022-07-20",
    "last_update": "2026-11-19",
    "conditions": ["B-cell Acute Lymphoblastic Leukemia"],
    "keywords": ["CAR-T"],
    "interventions": [{"type": "BIOLOGICAL", "name": "CD19/CD22 CAR-T cells", "other_names": []}],
    "arms": 1,
    "minimum_age": "1 Year",
    "maximum_age": "25 Years",
    "sex": "ALL",
    "brief_summary": "A phase 1/2 study of bispecific CD19/CD22 CAR-T cells.",
    "has_results": False,
    "sites": [
        {
            "facility": "Hôpital Robert-Debré",
            "city": "Paris",
            "state": None,
            "country": "France",
            "status": "RECRUITING",
        }
    ],
    "countries": [{"country": "France", "sites": 1, "recruiting": 1}],
    "registry_url": "https://clinicaltrials.gov/study/NCT05464836",
    "mechanism": "CD19/CD22 CAR-T",
    "in_scope": True,
    "version_count": 4,
    "labels": {
        "diseases": ["B-ALL"],
        "modalities": ["CAR-T"],
        "targets": ["CD19", "CD22"],
        "settings": ["relapsed/refractory"],
        "populations": ["pediatric", "AYA"],
    },
    "therapies": [],
    "tags": [],
}


class ErrorDetail(BaseModel):
    """What went wrong."""

    status: int = Field(description="The HTTP status code.")
    message: str = Field(description="What went wrong, in words a person can act on.")
    problems: list[str] = Field(default=[], description="Each invalid parameter, for validation errors.")


class ErrorEnvelope(BaseModel):
    """Every error, from every endpoint, has this shape."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ok": False,
                    "error": {
                        "status": 404,
                        "message": "There is no trial NCT00000000 in the mirror.",
                        "problems": [],
                    },
                }
            ]
        }
    )

    ok: Literal[False] = False
    error: ErrorDetail


class LatestChangeOut(BaseModel):
    """The newest alertable change of a trial."""

    type: str
    severity: str
    summary: str
    registry_date: str | None


class TrialSummaryOut(BaseModel):
    """A trial as listed."""

    model_config = ConfigDict(json_schema_extra={"examples": [_SUMMARY_EXAMPLE]})

    nct_id: str
    title: str | None
    overall_status: str | None
    phases: list[str]
    lead_sponsor: str | None
    countries: list[str]
    start_date: str | None
    last_update_post_date: str | None
    last_change: str | None
    enrollment: int | None
    in_scope: bool
    acute_leukemia: bool | None
    immunotherapy: bool | None
    diseases: list[str]
    modalities: list[str]
    targets: list[str]
    settings: list[str]
    populations: list[str]
    agents: list[str]
    mechanism: str = Field(
        description="Drug / mechanism line from the therapies (from the tags for versions without any)."
    )
    latest_change: LatestChangeOut | None = None
    url: str = Field(description="The trial's page.")


class TrialListOut(BaseModel):
    """One page of matching trials."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"ok": True, "total": 1, "limit": 50, "offset": 0, "next": None, "trials": [_SUMMARY_EXAMPLE]}
            ]
        }
    )

    ok: Literal[True] = True
    total: int = Field(description="Trials matching the filters.")
    limit: int
    offset: int
    next: str | None = Field(description="URL of the next page, null on the last one.")
    trials: list[TrialSummaryOut]


class EvidenceOut(BaseModel):
    """Where a tag comes from: the record field and the text matched there."""

    path: str
    text: str


class TagOut(BaseModel):
    """One classification tag with its evidence."""

    kind: str
    value: str
    code: str | None = Field(
        default=None, description="The standard code: a disease's MeSH id (D015470), an agent's NCIt code."
    )
    evidence: list[EvidenceOut]


class TherapyOut(BaseModel):
    """One intervention as agent, modality and targets, with its role in the trial."""

    name: str = Field(description="The intervention's name as the record writes it.")
    agent: str | None = Field(description="The lexicon's canonical agent; null for an unresolved agent.")
    modality: str | None = Field(description="The modality, e.g. CAR-T; null when the record does not say.")
    drug_class: str | None = Field(description="A finer drug class, e.g. JAK inhibitor; null when not known.")
    targets: list[str] = Field(description="Target antigens, e.g. CD19.")
    role: Role = Field(
        description="What the therapy is in the trial: tested, compared with, or given around it."
    )
    evidence: list[EvidenceOut]
    unresolved: bool = Field(
        description="A product no lexicon names (generic phrases such as 'chemotherapy' are not).",
    )
    ncit: str | None = Field(default=None, description="The agent's NCI Thesaurus code, e.g. C62528.")


class SiteOut(BaseModel):
    """One site and its recruitment status."""

    facility: str
    city: str | None
    state: str | None
    country: str | None
    status: str | None


class CountryOut(BaseModel):
    """Sites in one country."""

    country: str
    sites: int
    recruiting: int


class InterventionOut(BaseModel):
    """One intervention as the record names it."""

    type: str | None
    name: str
    other_names: list[str]


class TrialDetailOut(BaseModel):
    """One trial: the record's essentials, its therapies and tags with evidence, and its sites."""

    model_config = ConfigDict(json_schema_extra={"examples": [_DETAIL_EXAMPLE]})

    nct_id: str
    brief_title: str
    official_title: str | None
    acronym: str | None
    overall_status: str | None
    why_stopped: str | None
    phases: list[str]
    study_type: str | None
    lead_sponsor: str | None
    collaborators: list[str]
    enrollment: int | None
    enrollment_type: str | None
    start: str | None
    primary_completion: str | None
    completion: str | None
    first_posted: str | None
    last_update: str | None
    conditions: list[str]
    keywords: list[str]
    interventions: list[InterventionOut]
    arms: int
    minimum_age: str | None
    maximum_age: str | None
    sex: str | None
    brief_summary: str | None
    has_results: bool
    sites: list[SiteOut]
    countries: list[CountryOut]
    registry_url: str
    mechanism: str = Field(
        description="Drug / mechanism line: what is tested, 'vs' the comparator, then the backbone."
    )
    in_scope: bool
    version_count: int
    labels: dict[str, list[str] | None] = Field(description="Guideline labels; catch-all diseases left out.")
    therapies: list[TherapyOut] = Field(
        description="The current version's interventions with their roles (empty if classified without them)."
    )
    tags: list[TagOut]


class TrialOut(BaseModel):
    """The response of /api/v1/trials/{nct_id}."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"ok": True, "trial": _DETAIL_EXAMPLE}]})

    ok: Literal[True] = True
    trial: TrialDetailOut


class ChangeOut(BaseModel):
    """One change event."""

    model_config = ConfigDict(json_schema_extra={"examples": [_CHANGE_EXAMPLE]})

    id: int
    nct_id: str
    type: str
    severity: str
    alertable: bool
    path: str
    before: Any = Field(description="The value before the change (any JSON).")
    after: Any = Field(description="The value after the change (any JSON).")
    summary: str
    old_version_id: int | None
    new_version_id: int | None
    registry_date: str | None
    detected_at: str
    from_history: bool = Field(
        default=False,
        description="Found in the record history by `hemewatch backfill` (before the mirror began).",
    )


class ChangeListOut(BaseModel):
    """Change events, oldest first, with a cursor to the next page."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"ok": True, "changes": [_CHANGE_EXAMPLE], "next": None}]}
    )

    ok: Literal[True] = True
    changes: list[ChangeOut]
    next: str | None = Field(description="URL of the next page, null when there is no more.")


class TrialChangesOut(BaseModel):
    """One trial's change events, newest first by registry date."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"ok": True, "nct_id": "NCT05464836", "changes": [_CHANGE_EXAMPLE]}]}
    )

    ok: Literal[True] = True
    nct_id: str
    changes: list[ChangeOut]


class FacetsOut(BaseModel):
    """For each filter, how many matching trials have each value (ignoring that filter's own values)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ok": True,
                    "total": 2,
                    "facets": {"disease": {"AML": 1, "B-ALL": 1}, "phase": {"PHASE2": 2}},
                }
            ]
        }
    )

    ok: Literal[True] = True
    total: int
    facets: dict[str, dict[str, int]]


class HealthOut(BaseModel):
    """The service answers and its database does too."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"ok": True, "status": "ok", "database": "ok"}]}
    )

    ok: Literal[True] = True
    status: Literal["ok"] = "ok"
    database: Literal["ok"] = "ok"
