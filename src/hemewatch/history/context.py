"""What every event of one diff shares: the trial, the two versions and the rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from hemewatch.history.events import ChangeEvent, EventType, JsonValue
from hemewatch.history.rules import Rules


@dataclass(frozen=True, slots=True)
class DiffContext:
    """Builds events for one trial and one pair of versions."""

    nct_id: str
    old_version_id: int | None
    new_version_id: int | None
    registry_date: date | None
    detected_at: datetime
    rules: Rules

    def event(self, rule: str, path: str, before: JsonValue, after: JsonValue, summary: str) -> ChangeEvent:
        """An event whose type is the rule's first segment and whose severity the rule decides."""
        return ChangeEvent(
            nct_id=self.nct_id,
            type=EventType(rule.split(".", 1)[0]),
            severity=self.rules.severity_for(rule),
            path=path,
            before=before,
            after=after,
            summary=summary,
            old_version_id=self.old_version_id,
            new_version_id=self.new_version_id,
            registry_date=self.registry_date,
            detected_at=self.detected_at,
        )
