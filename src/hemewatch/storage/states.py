"""The values the state columns may hold: each is a StrEnum here and a CHECK constraint in the schema.

A member compares equal to its value (`DeliveryStatus.SENT == "sent"`), so rows read back as plain
strings still compare with the members. A new value is added here and in a migration that
replaces the column's CHECK constraint.
"""

from __future__ import annotations

from enum import StrEnum, unique


@unique
class DeliveryStatus(StrEnum):
    """Where a delivery (a row of the outbox) stands."""

    PENDING = "pending"  # waiting for its next attempt (after a backoff when an attempt failed)
    SENDING = "sending"  # claimed by a worker, with a lease
    SENT = "sent"
    DEAD = "dead"  # gave up after its last attempt; `hemewatch alerts retry` queues it again
    CANCELLED = "cancelled"  # the tracker stopped or no longer sends to that target


@unique
class ChannelKind(StrEnum):
    """How a delivery reaches its recipient."""

    EMAIL = "email"
    WEBHOOK = "webhook"
    APPRISE = "apprise"


@unique
class RunStatus(StrEnum):
    """How a run of the run log (sync, import, cycle, reconcile, backfill, watch) stands or ended."""

    RUNNING = "running"
    COMPLETED = "completed"
    COMPLETED_ISSUES = "completed_issues"  # completed, with records rejected or quarantined
    FAILED = "failed"
    SKIPPED = "skipped"
    ABANDONED = "abandoned"  # still running when a newer run of its kind started


@unique
class TrackerStatus(StrEnum):
    """A tracker's state, derived from its confirmed_at and unsubscribed_at columns (no column of its own)."""

    ACTIVE = "active"
    UNCONFIRMED = "unconfirmed"  # double opt-in pending
    UNSUBSCRIBED = "unsubscribed"


def allowed_values_sql(column: str, values: type[StrEnum]) -> str:
    """The SQL condition of a CHECK constraint: `column IN ('a', 'b', …)` over an enum's values."""
    listed = ", ".join("'" + member.value.replace("'", "''") + "'" for member in values)
    return f"{column} IN ({listed})"
