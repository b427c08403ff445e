"""How event types read on a page (statuses, phases and filter kinds: hemewatch.vocabulary)."""

from __future__ import annotations

from hemewatch.history import EVENT_LABELS


def event_label(event_type: str) -> str:
    """'site_status_changed' -> 'Site status changed'."""
    return EVENT_LABELS.get(event_type, event_type.replace("_", " ").capitalize())
