"""Registry dates (YYYY-MM-DD, YYYY-MM or YYYY) and the dates_changed events for key trial dates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from hemewatch.history.context import DiffContext
from hemewatch.history.events import ChangeEvent, JsonValue
from hemewatch.history.normalise import get_path

Precision = Literal["day", "month", "year"]

# statusModule field, rule qualifier, words for the summary
KEY_DATES = (
    ("startDateStruct", "start", "Start date"),
    ("primaryCompletionDateStruct", "primary_completion", "Primary completion date"),
    ("completionDateStruct", "completion", "Study completion date"),
)


@dataclass(frozen=True, slots=True)
class PartialDate:
    """A registry date with the precision it was given in; month-only dates stand on the 1st."""

    value: date
    precision: Precision

    def truncated(self, precision: Precision) -> date:
        """The date cut to a coarser precision (the 1st of the month, or 1 January)."""
        if precision == "year":
            return self.value.replace(month=1, day=1)
        if precision == "month":
            return self.value.replace(day=1)
        return self.value


def parse_partial_date(text: object) -> PartialDate | None:
    """Parse YYYY-MM-DD, YYYY-MM or YYYY; None for anything else."""
    if not isinstance(text, str):
        return None
    parts = text.strip().split("-")
    try:
        numbers = [int(part) for part in parts]
        if len(numbers) == 3:
            return PartialDate(date(numbers[0], numbers[1], numbers[2]), "day")
        if len(numbers) == 2:
            return PartialDate(date(numbers[0], numbers[1], 1), "month")
        if len(numbers) == 1 and len(parts[0]) == 4:
            return PartialDate(date(numbers[0], 1, 1), "year")
    except ValueError:
        return None
    return None


def shift_days(old: PartialDate, new: PartialDate) -> int:
    """Days from old to new, compared at the coarser of the two precisions."""
    order: tuple[Precision, ...] = ("year", "month", "day")
    coarser = min(old.precision, new.precision, key=order.index)
    return (new.truncated(coarser) - old.truncated(coarser)).days


def registry_date(study: Mapping[str, Any]) -> date | None:
    """The registry's own update date of a record (lastUpdatePostDateStruct.date)."""
    parsed = parse_partial_date(get_path(study, "protocolSection.statusModule.lastUpdatePostDateStruct.date"))
    return parsed.value if parsed else None


def diff_key_dates(
    old_status: Mapping[str, Any], new_status: Mapping[str, Any], ctx: DiffContext
) -> list[ChangeEvent]:
    """One dates_changed event per key date (start, primary completion, completion) that moved."""
    events = []
    for field, qualifier, label in KEY_DATES:
        old = old_status.get(field) or {}
        new = new_status.get(field) or {}
        if old.get("date") == new.get("date") and old.get("type") == new.get("type"):
            continue
        rule, after, summary = _describe(old, new, qualifier, label, ctx.rules.date_shift_large_days)
        before: JsonValue = _struct(old)
        events.append(ctx.event(rule, f"protocolSection.statusModule.{field}", before, after, summary))
    return events


def _describe(
    old: Mapping[str, Any], new: Mapping[str, Any], qualifier: str, label: str, large_days: int
) -> tuple[str, JsonValue, str]:
    old_text, new_text = old.get("date"), new.get("date")
    after = _struct(new)
    if old_text == new_text:
        # ESTIMATED <-> ACTUAL with the same date: the registry restating a date it already had.
        return (
            "dates_changed.type_only",
            after,
            f"{label} {new_text} now marked {_kind(new)} (was {_kind(old)})",
        )
    if not old_text or not new_text:
        verb = "set to" if new_text else "removed; was"
        return f"dates_changed.{qualifier}", after, f"{label} {verb} {new_text or old_text}"
    old_date, new_date = parse_partial_date(old_text), parse_partial_date(new_text)
    if old_date is None or new_date is None:
        return f"dates_changed.{qualifier}", after, f"{label} changed: {old_text} → {new_text}"
    shift = shift_days(old_date, new_date)
    if shift == 0:
        return "dates_changed.precision_only", after, f"{label} given as {new_text} (was {old_text})"
    after = {"date": new_text, "type": new.get("type"), "shift_days": shift}
    large = ".large" if abs(shift) >= large_days else ""
    direction = "later" if shift > 0 else "earlier"
    summary = f"{label} moved {abs(shift)} days {direction}: {old_text} → {new_text} ({_kind(new)})"
    return f"dates_changed.{qualifier}{large}", after, summary


def _struct(struct: Mapping[str, Any]) -> dict[str, JsonValue] | None:
    if not struct.get("date"):
        return None
    return {"date": struct["date"], "type": struct.get("type")}


def _kind(struct: Mapping[str, Any]) -> str:
    return str(struct.get("type") or "untyped").lower()
