"""The change event: what changed between two versions of a trial, and how much it matters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, TypeAlias, TypeVar

import orjson

from hemewatch.errors import HemewatchError

_T = TypeVar("_T")

JsonValue: TypeAlias = bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"] | None


class EventType(StrEnum):
    """Every kind of change event; the values are the public, stored names."""

    NEW_TRIAL = "new_trial"
    LEFT_SCOPE = "left_scope"
    RECORD_REMOVED = "record_removed"
    MERGED_INTO = "merged_into"
    STATUS_CHANGED = "status_changed"
    SITE_ADDED = "site_added"
    SITE_REMOVED = "site_removed"
    SITE_STATUS_CHANGED = "site_status_changed"
    ENROLLMENT_CHANGED = "enrollment_changed"
    PROTOCOL_AMENDED = "protocol_amended"
    RESULTS_POSTED = "results_posted"
    DATES_CHANGED = "dates_changed"
    PHASE_CHANGED = "phase_changed"
    SPONSOR_CHANGED = "sponsor_changed"
    TITLE_CHANGED = "title_changed"
    OTHER_CHANGED = "other_changed"
    RECORD_REFRESHED = "record_refreshed"

    @property
    def label(self) -> str:
        """The type in words, as mails, feeds and pages show it."""
        return EVENT_LABELS[self.value]


EVENT_LABELS: dict[str, str] = {
    "new_trial": "New trial",
    "left_scope": "Left the watch scope",
    "record_removed": "Removed from the registry",
    "merged_into": "Merged into another record",
    "status_changed": "Status changed",
    "site_added": "Site added",
    "site_removed": "Site removed",
    "site_status_changed": "Site status changed",
    "enrollment_changed": "Enrollment changed",
    "protocol_amended": "Protocol amended",
    "results_posted": "Results posted",
    "dates_changed": "Key dates moved",
    "phase_changed": "Phase changed",
    "sponsor_changed": "Sponsor changed",
    "title_changed": "Title changed",
    "other_changed": "Other change",
    "record_refreshed": "Record refreshed",
}


class Severity(StrEnum):
    """How much a change matters; ADMINISTRATIVE events are recorded but never alerted."""

    CRITICAL = "critical"
    NOTABLE = "notable"
    MINOR = "minor"
    ADMINISTRATIVE = "administrative"

    @property
    def rank(self) -> int:
        """0 for the most serious, 3 for administrative churn."""
        return SEVERITY_RANK[self.value]


# By severity name, most serious first; "at least notable" means rank <= 1.
SEVERITY_RANK: dict[str, int] = {"critical": 0, "notable": 1, "minor": 2, "administrative": 3}
# Position of each type in a diff's output, so the most telling events come first for equal severity.
TYPE_ORDER = {event_type: position for position, event_type in enumerate(EventType)}


class EventDecodeError(HemewatchError):
    """A stored change event is malformed and could not be read back."""


@dataclass(frozen=True, slots=True)
class ChangeEvent:
    """One typed change between two versions of a trial."""

    nct_id: str
    type: EventType
    severity: Severity
    path: str
    before: JsonValue
    after: JsonValue
    summary: str
    old_version_id: int | None
    new_version_id: int | None
    registry_date: date | None
    detected_at: datetime

    @property
    def alertable(self) -> bool:
        """False for administrative churn, which is kept for the timeline but never delivered."""
        return self.severity is not Severity.ADMINISTRATIVE

    def sort_key(self) -> tuple[int, int, str, str]:
        """Stable order: severity, then type, then path."""
        return (self.severity.rank, TYPE_ORDER[self.type], self.path, self.summary)

    def __hash__(self) -> int:
        # before/after hold lists and dicts, so the generated field hash would fail; these fields
        # identify an event within a diff well enough, and __eq__ still compares every field.
        return hash(
            (self.nct_id, self.type, self.path, self.summary, self.old_version_id, self.new_version_id)
        )

    def to_dict(self) -> dict[str, JsonValue]:
        """A JSON-ready dict (enums as strings, dates in ISO form)."""
        return {
            "nct_id": self.nct_id,
            "type": self.type.value,
            "severity": self.severity.value,
            "alertable": self.alertable,
            "path": self.path,
            "before": self.before,
            "after": self.after,
            "summary": self.summary,
            "old_version_id": self.old_version_id,
            "new_version_id": self.new_version_id,
            "registry_date": self.registry_date.isoformat() if self.registry_date else None,
            "detected_at": self.detected_at.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChangeEvent:
        """Rebuild an event from `to_dict` output (or its JSON round-trip)."""
        try:
            registry_date = data["registry_date"]
            event = cls(
                nct_id=_expect(data["nct_id"], str),
                type=EventType(data["type"]),
                severity=Severity(data["severity"]),
                path=_expect(data["path"], str),
                before=_expect_json(data["before"]),
                after=_expect_json(data["after"]),
                summary=_expect(data["summary"], str),
                old_version_id=_expect_version(data["old_version_id"]),
                new_version_id=_expect_version(data["new_version_id"]),
                registry_date=date.fromisoformat(registry_date) if registry_date is not None else None,
                detected_at=datetime.fromisoformat(_expect(data["detected_at"], str)),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise EventDecodeError(f"A stored change event could not be read back: {exc!r}") from exc
        return event


def _expect(value: object, kind: type[_T]) -> _T:
    if not isinstance(value, kind):
        raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
    return value


def _expect_version(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"version id must be an integer, got {value!r}")
    return value


def _expect_json(value: object) -> JsonValue:
    # A round-trip through orjson rejects anything a JSON column could not hold.
    try:
        decoded: JsonValue = orjson.loads(orjson.dumps(value))
    except orjson.JSONEncodeError as exc:
        raise TypeError(f"not JSON-serialisable: {exc}") from exc
    return decoded
