"""Which delivery period an event falls in for a cadence, when that delivery is due, and its key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta


@dataclass(frozen=True, slots=True)
class Period:
    """A delivery period: its key (event-42, 2026-11-21, 2026-W47) and when its delivery is due."""

    key: str
    due_at: datetime


def period_for(cadence: str, *, event_id: int, detected_at: datetime, now: datetime) -> Period:
    """The period of an event: the event itself, its UTC day, or its ISO week (due when the week ends)."""
    if cadence == "immediate":
        return Period(f"event-{event_id}", now)
    day = detected_at.astimezone(UTC).date()
    if cadence == "daily":
        # Sent right after the sync that found the changes: the registry publishes once a day.
        return Period(day.isoformat(), now)
    if cadence == "weekly":
        year, week, weekday = day.isocalendar()
        next_monday = datetime.combine(day + timedelta(days=8 - weekday), time(), tzinfo=UTC)
        return Period(f"{year}-W{week:02d}", max(now, next_monday))
    raise ValueError(f"unknown cadence {cadence!r}")


def idempotency_key(tracker_uid: str, period: str, part: int) -> str:
    """The key every channel sends for one notification: stable across retries and re-sends."""
    suffix = f"-{part}" if part > 1 else ""
    return f"hw-{tracker_uid}-{period}{suffix}"


def describe_period(cadence: str, period: str) -> str:
    """The period in words, for subjects and headings ("21 November 2026", "week 47 of 2026")."""
    try:
        if cadence == "daily":
            day = datetime.strptime(period, "%Y-%m-%d")
            return f"{day.day} {day:%B %Y}"
        if cadence == "weekly":
            year, week = period.split("-W")
            return f"week {int(week)} of {year}"
    except ValueError:
        pass  # a period of another shape (e.g. the whole feed): shown as it is
    return "new change" if cadence == "immediate" else period
