"""Pure diff of two versions of a trial into typed change events with severity.

Public interface: `diff_versions`, `new_trial_event`, `left_scope_event`, the `ChangeEvent`
dataclass with its `EventType` and `Severity` enums, and the rules (`load_rules`, `default_rules`).
docs/change-events.md describes every event type and the severity table.
"""

from hemewatch.history.diff import diff_versions
from hemewatch.history.events import (
    EVENT_LABELS,
    SEVERITY_RANK,
    ChangeEvent,
    EventDecodeError,
    EventType,
    JsonValue,
    Severity,
)
from hemewatch.history.rules import Rules, RulesError, default_rules, load_rules
from hemewatch.history.scope import left_scope_event, new_trial_event

__all__ = [
    "EVENT_LABELS",
    "SEVERITY_RANK",
    "ChangeEvent",
    "EventDecodeError",
    "EventType",
    "JsonValue",
    "Rules",
    "RulesError",
    "Severity",
    "default_rules",
    "diff_versions",
    "left_scope_event",
    "load_rules",
    "new_trial_event",
]
