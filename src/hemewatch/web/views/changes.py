"""The change stream across every trial, filtered: what /changes shows."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Final, Literal
from urllib.parse import urlencode

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from hemewatch import vocabulary
from hemewatch.history import EventType
from hemewatch.storage.events import EventFilter, list_events
from hemewatch.storage.record_history import history_events
from hemewatch.storage.trial_view import trial_titles
from hemewatch.vocabulary import event_label
from hemewatch.web.filters import Diseases, Modalities, Targets, Values
from hemewatch.web.views.context import ViewContext
from hemewatch.web.views.timeline import TimelineEntry, timeline_entry

PAGE_SIZE: Final = 50
MAX_PAGE_SIZE: Final = 500


def _iso_date(value: object) -> object:
    # Pydantic would read "0" as 1970-01-01 (a Unix time); only YYYY-MM-DD is a date here.
    # A form's empty date field means no bound.
    if value == "":
        return None
    if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise PydanticCustomError("iso_date", "expected a date as YYYY-MM-DD")
    return value


def _optional(value: object) -> object:
    return None if value == "" else value


IsoDate = Annotated[date | None, BeforeValidator(_iso_date)]
MinSeverity = Annotated[Literal["critical", "notable", "minor"] | None, BeforeValidator(_optional)]


class ChangeFilters(BaseModel):
    """Filters over the change stream; values within one filter are alternatives, filters combine.

    Disease, modality, target and country read each trial's current version, as trial search does.
    """

    model_config = ConfigDict(frozen=True)

    type: list[EventType] = Field(default=[], max_length=len(EventType), description="Event types.")
    min_severity: MinSeverity = Field(default=None, description="critical, notable or minor: at least this.")
    include_administrative: bool = Field(default=False, description="Also list administrative churn.")
    since: IsoDate = Field(default=None, description="Registry update date on or after (YYYY-MM-DD).")
    until: IsoDate = Field(default=None, description="Registry update date on or before (YYYY-MM-DD).")
    disease: Diseases = Field(default=[], description="The trial's disease tag, e.g. B-ALL, AML.")
    modality: Modalities = Field(default=[], description="The trial's modality, e.g. CAR-T.")
    target: Targets = Field(default=[], description="The trial's target antigen, e.g. CD19.")
    country: Values = Field(default=[], description="A country where the trial has a site.")

    def to_event_filter(self) -> EventFilter:
        """The storage filter for these filters."""
        return EventFilter(
            since=self.since,
            until=self.until,
            types=tuple(t.value for t in self.type),
            include_administrative=self.include_administrative,
            min_severity=self.min_severity,
            diseases=tuple(self.disease),
            modalities=tuple(self.modality),
            targets=tuple(self.target),
            countries=tuple(self.country),
        )

    def items(self) -> list[tuple[str, str]]:
        """The filters as query-string pairs, defaults left out."""
        pairs: list[tuple[str, str]] = [("type", t.value) for t in self.type]
        if self.min_severity:
            pairs.append(("min_severity", self.min_severity))
        if self.include_administrative:
            pairs.append(("include_administrative", "true"))
        pairs.extend(
            (name, value.isoformat())
            for name, value in (("since", self.since), ("until", self.until))
            if value
        )
        for name in ("disease", "modality", "target", "country"):
            pairs.extend((name, value) for value in getattr(self, name))
        return pairs

    def query_string(self, **extra: str | int) -> str:
        """The filters (and extra parameters) as a URL query string, without the '?'."""
        return urlencode([*self.items(), *extra.items()])

    @property
    def is_empty(self) -> bool:
        """True when nothing filters."""
        return not self.items()


class PageChangeFilters(ChangeFilters):
    """The /changes form's filters: a date range that ends before it starts is refused with a reason.

    The API takes the same filters and answers an inverted range with no events, as a schema cannot
    state the constraint.
    """

    @field_validator("until")
    @classmethod
    def _after_since(cls, until: date | None, info: ValidationInfo) -> date | None:
        since = info.data.get("since")
        if until is not None and since is not None and since > until:
            raise PydanticCustomError(
                "date_range", "{until} is before since ({since})", {"since": str(since), "until": str(until)}
            )
        return until


@dataclass(frozen=True)
class Choice:
    """One value a filter can take, as the form offers it."""

    value: str
    label: str
    selected: bool


@dataclass(frozen=True)
class ChangesPage:
    """One page of the filtered change stream, newest first."""

    filters: ChangeFilters
    changes: list[tuple[TimelineEntry, str | None]]  # each event with its trial's title
    page: int
    size: int
    has_next: bool

    def link(self, page: int) -> str:
        """The query string of another page of these changes."""
        extra: dict[str, int] = {"page": page} if page > 1 else {}
        if self.size != PAGE_SIZE:
            extra["limit"] = self.size
        return self.filters.query_string(**extra)

    def choices(self, dimension: str) -> list[Choice]:
        """The values of a tag dimension (disease, modality, target) for the form."""
        chosen = set(getattr(self.filters, dimension))
        return [Choice(v, vocabulary.label(dimension, v), v in chosen) for v in vocabulary.values(dimension)]

    def type_choices(self) -> list[Choice]:
        """Every event type for the form."""
        chosen = set(self.filters.type)
        return [Choice(t.value, event_label(t.value), t in chosen) for t in EventType]


def list_changes(
    ctx: ViewContext, filters: ChangeFilters, *, page: int, size: int = PAGE_SIZE
) -> ChangesPage:
    """The page-th page of matching events, newest first by registry date, then by detection."""
    found = list_events(
        ctx.conn, filters.to_event_filter(), limit=size + 1, offset=(page - 1) * size, by_registry_date=True
    )
    shown = found[:size]
    marked = history_events(ctx.conn, shown)
    entries = [timeline_entry(e, from_history=e.id in marked) for e in shown]
    titles = trial_titles(ctx.conn, sorted({e.nct_id for e in entries}))
    return ChangesPage(
        filters=filters,
        changes=[(e, titles.get(e.nct_id)) for e in entries],
        page=page,
        size=size,
        has_next=len(found) > size,
    )
