"""enrollment_changed events, with the milestones: actual enrollment reported, target reached."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hemewatch.history.context import DiffContext
from hemewatch.history.events import ChangeEvent, JsonValue

ENROLLMENT_PATH = "protocolSection.designModule.enrollmentInfo"


def diff_enrollment(
    old_design: Mapping[str, Any], new_design: Mapping[str, Any], ctx: DiffContext
) -> list[ChangeEvent]:
    """One enrollment_changed event when the count or its type changed."""
    old = old_design.get("enrollmentInfo") or {}
    new = new_design.get("enrollmentInfo") or {}
    old_count, new_count = old.get("count"), new.get("count")
    old_type, new_type = old.get("type"), new.get("type")
    if (old_count, old_type) == (new_count, new_type):
        return []
    before: JsonValue = {"count": old_count, "type": old_type} if old else None
    after: dict[str, JsonValue] = {"count": new_count, "type": new_type}
    if new_type == "ACTUAL" and old_type != "ACTUAL":
        # Sponsors switch to ACTUAL when recruitment closes: the count is now the real one.
        if isinstance(old_count, int) and isinstance(new_count, int) and 0 < old_count <= new_count:
            after["milestone"] = "target_reached"
            summary = f"Enrollment target reached: {new_count} participants enrolled (target {old_count})"
        else:
            after["milestone"] = "actual_reported"
            summary = f"Actual enrollment reported: {new_count} participants"
            if isinstance(old_count, int) and isinstance(new_count, int) and old_count > 0:
                summary += f" ({round(100 * new_count / old_count)}% of the target of {old_count})"
        return [
            ctx.event(f"enrollment_changed.{after['milestone']}", ENROLLMENT_PATH, before, after, summary)
        ]
    if old_count == new_count:
        rule, summary = (
            "enrollment_changed.type_only",
            f"Enrollment of {new_count} now marked {_kind(new_type)}",
        )
    elif old_type == "ACTUAL" and new_type == "ACTUAL":
        rule, summary = (
            "enrollment_changed.actual_revised",
            f"Actual enrollment revised: {old_count} → {new_count}",
        )
    elif old_type == "ACTUAL":
        rule = "enrollment_changed.reopened"
        summary = f"Enrollment back to an estimate: {old_count} actual → {new_count} {_kind(new_type)}"
    else:
        rule, summary = _target_revision(old_count, new_count, ctx.rules.enrollment_revision_large_ratio)
    return [ctx.event(rule, ENROLLMENT_PATH, before, after, summary)]


def _target_revision(old_count: object, new_count: object, large_ratio: float) -> tuple[str, str]:
    if not (isinstance(old_count, int) and isinstance(new_count, int)) or old_count == 0:
        return "enrollment_changed.target_revised", f"Enrollment target set: {old_count} → {new_count}"
    change = (new_count - old_count) / old_count
    rule = "enrollment_changed.target_revised" + (".large" if abs(change) >= large_ratio else "")
    return rule, f"Enrollment target revised: {old_count} → {new_count} ({change:+.0%})"


def _kind(enrollment_type: object) -> str:
    return str(enrollment_type or "untyped").lower()
