"""Words for event summaries: one readable line per event."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

_STATUS_LABELS = {
    "ACTIVE_NOT_RECRUITING": "active, not recruiting",
    "ENROLLING_BY_INVITATION": "enrolling by invitation",
    "NOT_YET_RECRUITING": "not yet recruiting",
    "TEMPORARILY_NOT_AVAILABLE": "temporarily not available",
    "NO_LONGER_AVAILABLE": "no longer available",
    "APPROVED_FOR_MARKETING": "approved for marketing",
}
_PHASE_LABELS = {"NA": "not applicable", "EARLY_PHASE1": "early phase 1"}


def status_label(status: object) -> str:
    """Registry status code in words ("ACTIVE_NOT_RECRUITING" -> "active, not recruiting")."""
    if not status:
        return "no status"
    code = str(status)
    return _STATUS_LABELS.get(code, code.replace("_", " ").lower())


def phases_label(phases: Iterable[object]) -> str:
    """Phase list in words (["PHASE1", "PHASE2"] -> "phase 1/phase 2")."""
    names = [_PHASE_LABELS.get(str(p), str(p).lower().replace("phase", "phase ")) for p in phases]
    return "/".join(names) if names else "no phase"


def shorten(text: object, limit: int = 80) -> str:
    """Text cut to `limit` characters with an ellipsis, for one-line summaries."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def quoted_list(items: list[str], limit: int = 2) -> str:
    """First few items quoted, then how many more."""
    shown = ", ".join(f"'{shorten(item, 60)}'" for item in items[:limit])
    rest = len(items) - limit
    return f"{shown} and {rest} more" if rest > 0 else shown


def site_label(site: Mapping[str, Any]) -> str:
    """Facility, city and country of a site, as a person would write them."""
    parts = [site.get("facility"), site.get("city"), site.get("country")]
    return ", ".join(str(part) for part in parts if part) or "unnamed site"
