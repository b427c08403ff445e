"""Change events as a person reads them: what changed, from what to what (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from hemewatch.storage.database import Connection
from hemewatch.storage.events import StoredEvent
from hemewatch.storage.record_history import history_events, registration
from hemewatch.vocabulary import event_label, status_label

MAX_TEXT: Final = 400


@dataclass(frozen=True)
class TimelineEntry:
    """One change event, ready to show."""

    id: int
    nct_id: str
    type: str
    label: str
    severity: str
    summary: str
    path: str
    before: str
    after: str
    registry_date: date | None
    alertable: bool
    # Found by `hemewatch backfill` in the registry's record history (a version before the mirror began).
    from_history: bool = False


def _clip(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _place(value: Mapping[str, Any]) -> str:
    parts = [value.get(k) for k in ("facility", "city", "state", "country")]
    where = ", ".join(str(p) for p in parts if p)
    status = value.get("status")
    return f"{where} — {status_label(str(status))}" if status else where


def describe_value(value: Any) -> str:
    """A before or after value as a short text ('—' when absent)."""
    if value is None or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str | int | float):
        return _clip(str(value))
    if isinstance(value, list):
        return _clip("; ".join(describe_value(item) for item in value))
    if isinstance(value, Mapping):
        return _clip(_describe_mapping(value))
    return _clip(str(value))


def _describe_mapping(value: Mapping[str, Any]) -> str:
    if "facility" in value:
        return _place(value)
    if "overallStatus" in value:
        text = status_label(str(value["overallStatus"]))
        return f"{text} (why stopped: {value['whyStopped']})" if value.get("whyStopped") else text
    if "count" in value:
        kind = f" ({str(value['type']).lower()})" if value.get("type") else ""
        return f"{value['count']} participants{kind}"
    if "date" in value:
        kind = f" ({str(value['type']).lower()})" if value.get("type") else ""
        return f"{value['date']}{kind}"
    if "label" in value:
        return str(value["label"])
    if "name" in value:
        return str(value["name"])
    return "; ".join(f"{key}: {describe_value(item)}" for key, item in value.items())


def timeline_entry(stored: StoredEvent, *, from_history: bool = False) -> TimelineEntry:
    """The display form of a stored event."""
    event = stored.event
    return TimelineEntry(
        id=stored.id,
        nct_id=event.nct_id,
        type=event.type.value,
        label=event_label(event.type.value),
        severity=event.severity.value,
        summary=event.summary,
        path=event.path,
        before=describe_value(event.before),
        after=describe_value(event.after),
        registry_date=event.registry_date,
        alertable=event.alertable,
        from_history=from_history,
    )


def timeline_entries(conn: Connection, nct_id: str, events: Sequence[StoredEvent]) -> list[TimelineEntry]:
    """A trial's timeline, newest first: its events (the ones from the record history marked), then,
    once `hemewatch backfill` has fetched it, the registration the record history starts with."""
    marked = history_events(conn, events)
    entries = [timeline_entry(e, from_history=e.id in marked) for e in events]
    registered = registration(conn, nct_id)
    if registered is not None:
        entries.append(registration_entry(nct_id, registered[0]))
    return entries


def registration_entry(nct_id: str, posted: date) -> TimelineEntry:
    """The oldest entry of a timeline that reaches back to the registration (record history version 0)."""
    return TimelineEntry(
        id=0,
        nct_id=nct_id,
        type="registered",
        label="Registered",
        severity="minor",
        summary="First posted on ClinicalTrials.gov: version 0 of the record history.",
        path="record history, version 0",
        before="—",
        after="registered",
        registry_date=posted,
        alertable=False,
        from_history=True,
    )
