"""How codes read on a page: statuses, phases and filter kinds (from hemewatch.vocabulary), event types."""

from __future__ import annotations

from hemewatch.history import EVENT_LABELS
from hemewatch.vocabulary import (
    KIND_LABELS,
    OPEN_STATUSES,
    PHASE_LABELS,
    STATUS_LABELS,
    kind_label,
    phase_label,
    status_label,
)

__all__ = [
    "KIND_LABELS",
    "OPEN_STATUSES",
    "PHASE_LABELS",
    "STATUS_LABELS",
    "event_label",
    "kind_label",
    "phase_label",
    "status_label",
]


def event_label(event_type: str) -> str:
    """'site_status_changed' -> 'Site status changed'."""
    return EVENT_LABELS.get(event_type, event_type.replace("_", " ").capitalize())
