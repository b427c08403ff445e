"""The tracker form: what the page posts, turned into a TrackerSpec (validated by the alerts package)."""

from __future__ import annotations

from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hemewatch.alerts import CADENCES, EVENT_TYPES, MIN_SEVERITIES, TrackerSpec
from hemewatch.vocabulary import event_label, kind_label, phase_label, status_label
from hemewatch.web.filters import LIST_FIELDS, TrialFilters, refuse_control

# Form field -> TrackerSpec field for the filters (TrialFilters names on the left).
SPEC_FIELDS: Final[dict[str, str]] = {
    "disease": "diseases",
    "modality": "modalities",
    "target": "targets",
    "setting": "settings",
    "population": "populations",
    "agent": "agents",
    "phase": "phases",
    "status": "statuses",
    "country": "countries",
}
CADENCE_LABELS: Final[dict[str, str]] = {
    "daily": "Daily digest",
    "weekly": "Weekly digest (Mondays)",
    "immediate": "Each change as it is found",
}
SEVERITY_LABELS: Final[dict[str, str]] = {
    "minor": "Every change (minor and up)",
    "notable": "Notable and critical changes",
    "critical": "Critical changes only (stopped, results posted…)",
}
_Text = Field(default="", max_length=2000)


class TrackerForm(BaseModel):
    """The fields of the tracker form; loose on purpose: validate_spec names every problem."""

    model_config = ConfigDict(extra="ignore")

    name: str = _Text
    email: str = _Text
    cadence: str = Field(default="daily", max_length=20)
    min_severity: str = Field(default="minor", max_length=20)
    event_type: list[str] = Field(default=[], max_length=len(EVENT_TYPES))
    feed: bool = False
    disease: list[str] = []
    modality: list[str] = []
    target: list[str] = []
    setting: list[str] = []
    population: list[str] = []
    agent: list[str] = []
    phase: list[str] = []
    status: list[str] = []
    country: list[str] = []
    sponsor: str = _Text
    q: str = _Text
    nct_id: list[str] = []

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                refuse_control(item)
        return value

    def to_spec(self, *, email_enabled: bool = True) -> TrackerSpec:
        """The tracker this form asks for (webhooks are set up from the command line).

        `email_enabled` is off for feed-only trackers (a server without mail, or a tracker made so).
        """
        values: dict[str, Any] = {
            spec: tuple(v for v in getattr(self, name) if v.strip()) for name, spec in SPEC_FIELDS.items()
        }
        return TrackerSpec(
            name=self.name,
            email=self.email,
            sponsor=self.sponsor or None,
            text=self.q or None,
            nct_ids=tuple(n for n in self.nct_id if n.strip()),
            event_types=tuple(self.event_type),
            min_severity=self.min_severity,
            cadence=self.cadence,
            email_enabled=email_enabled,
            feed_enabled=self.feed or not email_enabled,
            **values,
        )

    @classmethod
    def from_filters(cls, filters: TrialFilters, nct_ids: list[str]) -> TrackerForm:
        """A new form prefilled from the filters of the page it was opened from."""
        values: dict[str, Any] = {name: list(getattr(filters, name)) for name in LIST_FIELDS}
        values.update(sponsor=filters.sponsor or "", q=filters.q or "", nct_id=nct_ids, feed=True)
        form = cls.model_validate(values)
        return form.model_copy(update={"name": suggested_name(form)})

    @classmethod
    def from_spec(cls, spec: TrackerSpec) -> TrackerForm:
        """The form showing a stored tracker."""
        values: dict[str, Any] = {name: list(getattr(spec, field)) for name, field in SPEC_FIELDS.items()}
        values.update(
            name=spec.name,
            email=spec.email,
            cadence=spec.cadence,
            min_severity=spec.min_severity,
            event_type=list(spec.event_types),
            feed=spec.feed_enabled,
            sponsor=spec.sponsor or "",
            q=spec.text or "",
            nct_id=list(spec.nct_ids),
        )
        return cls.model_validate(values)

    def filter_items(self) -> list[tuple[str, str, str, str]]:
        """(field, value, kind label, shown value) for each filter the tracker follows."""
        items = []
        for name in (*SPEC_FIELDS, "nct_id"):
            for value in getattr(self, name):
                shown = (
                    phase_label([value])
                    if name == "phase"
                    else status_label(value)
                    if name == "status"
                    else value
                )
                items.append((name, value, "Trial" if name == "nct_id" else kind_label(name), shown))
        for name in ("sponsor", "q"):
            if getattr(self, name):
                items.append((name, getattr(self, name), kind_label(name), getattr(self, name)))
        return items


def suggested_name(form: TrackerForm) -> str:
    """A name from what the tracker follows: 'ALL, B-ALL · CAR-T', 'NCT04530565'."""
    groups: dict[str, list[str]] = {}
    for name, _, _, shown in form.filter_items():
        groups.setdefault(name, []).append(shown)
    text = " · ".join(", ".join(values) for values in groups.values()) or "All acute leukemia trials"
    return text if len(text) <= 80 else text[:79].rstrip(" ,·") + "…"


def choices() -> dict[str, list[tuple[str, str]]]:
    """The options of the select, radio and checkbox fields."""
    return {
        "cadence": [(c, CADENCE_LABELS.get(c, c)) for c in ("daily", "weekly", "immediate") if c in CADENCES],
        "min_severity": [(s, SEVERITY_LABELS.get(s, s)) for s in MIN_SEVERITIES],
        "event_type": [(t, event_label(t)) for t in EVENT_TYPES if t != "record_refreshed"],
    }
