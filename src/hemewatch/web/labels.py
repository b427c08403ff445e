"""How registry codes read on a page: statuses, phases, event types, severities."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from hemewatch.history import EVENT_LABELS

STATUS_LABELS: Final[dict[str, str]] = {
    "NOT_YET_RECRUITING": "Not yet recruiting",
    "RECRUITING": "Recruiting",
    "ENROLLING_BY_INVITATION": "Enrolling by invitation",
    "ACTIVE_NOT_RECRUITING": "Active, not recruiting",
    "SUSPENDED": "Suspended",
    "TERMINATED": "Terminated",
    "COMPLETED": "Completed",
    "WITHDRAWN": "Withdrawn",
    "UNKNOWN": "Unknown",
    "AVAILABLE": "Available",
    "NO_LONGER_AVAILABLE": "No longer available",
    "TEMPORARILY_NOT_AVAILABLE": "Temporarily not available",
    "APPROVED_FOR_MARKETING": "Approved for marketing",
    "WITHHELD": "Withheld",
}
# Statuses whose trials are open or about to open, in the order a clinician cares about.
OPEN_STATUSES: Final = (
    "RECRUITING",
    "NOT_YET_RECRUITING",
    "ENROLLING_BY_INVITATION",
    "ACTIVE_NOT_RECRUITING",
)
PHASE_LABELS: Final[dict[str, str]] = {
    "EARLY_PHASE1": "Early phase 1",
    "PHASE1": "Phase 1",
    "PHASE2": "Phase 2",
    "PHASE3": "Phase 3",
    "PHASE4": "Phase 4",
    "NA": "Not applicable",
}
KIND_LABELS: Final[dict[str, str]] = {
    "disease": "Disease",
    "modality": "Modality",
    "target": "Target",
    "setting": "Setting",
    "population": "Population",
    "agent": "Agent",
    "phase": "Phase",
    "status": "Status",
    "country": "Country",
    "sponsor": "Sponsor",
    "q": "Text",
}


def status_label(code: str | None) -> str:
    """'ACTIVE_NOT_RECRUITING' -> 'Active, not recruiting'."""
    if not code:
        return "—"
    return STATUS_LABELS.get(code, code.replace("_", " ").capitalize())


def phase_label(phases: Sequence[str] | str | None) -> str:
    """['PHASE1', 'PHASE2'] -> 'Phase 1/2'; nothing -> '—'."""
    codes = [p for p in (phases.split("|") if isinstance(phases, str) else phases or []) if p]
    if not codes:
        return "—"
    numbered = [c.removeprefix("PHASE") for c in codes if c.startswith("PHASE")]
    if len(numbered) == len(codes) and len(codes) > 1:
        return "Phase " + "/".join(numbered)
    return ", ".join(PHASE_LABELS.get(c, c) for c in codes)


def event_label(event_type: str) -> str:
    """'site_status_changed' -> 'Site status changed'."""
    return EVENT_LABELS.get(event_type, event_type.replace("_", " ").capitalize())


def kind_label(kind: str) -> str:
    """'modality' -> 'Modality'."""
    return KIND_LABELS.get(kind, kind.capitalize())
