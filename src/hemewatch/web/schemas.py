"""The JSON API's response bodies (they are also its OpenAPI documentation)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from hemewatch.classification.model import Role


class ErrorDetail(BaseModel):
    """What went wrong."""

    status: int = Field(description="The HTTP status code.")
    message: str = Field(description="What went wrong, in words a person can act on.")
    problems: list[str] = Field(default=[], description="Each invalid parameter, for validation errors.")


class ErrorEnvelope(BaseModel):
    """Every error, from every endpoint, has this shape."""

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

    ok: Literal[True] = True
    trial: TrialDetailOut


class ChangeOut(BaseModel):
    """One change event."""

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

    ok: Literal[True] = True
    changes: list[ChangeOut]
    next: str | None = Field(description="URL of the next page, null when there is no more.")


class TrialChangesOut(BaseModel):
    """One trial's change events, newest first by registry date."""

    ok: Literal[True] = True
    nct_id: str
    changes: list[ChangeOut]


class FacetsOut(BaseModel):
    """For each filter, how many matching trials have each value (ignoring that filter's own values)."""

    ok: Literal[True] = True
    total: int
    facets: dict[str, dict[str, int]]


class HealthOut(BaseModel):
    """The service answers and its database does too."""

    ok: Literal[True] = True
    status: Literal["ok"] = "ok"
    database: Literal["ok"] = "ok"
