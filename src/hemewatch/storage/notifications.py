"""What was matched and grouped for trackers: tracker_notifications (one per tracker, period and part)
and tracker_events (which event went to which tracker, in which notification).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Table, func, insert, select, tuple_
from sqlalchemy.engine import Connection

from hemewatch.storage.events import StoredEvent, stored_event_from_row
from hemewatch.storage.tables import change_events, chunks, tracker_events, tracker_notifications

_INSERT_BATCH = 5000


def insert_in_batches(conn: Connection, table: Table, rows: Iterable[dict[str, Any]]) -> None:
    """Insert rows in executemany batches of a few thousand."""
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= _INSERT_BATCH:
            conn.execute(insert(table), batch)
            batch = []
    if batch:
        conn.execute(insert(table), batch)


def known_pairs(conn: Connection, event_ids: Sequence[int]) -> set[tuple[int, int]]:
    """The (tracker id, event id) pairs already recorded for these events."""
    known: set[tuple[int, int]] = set()
    for chunk in chunks(event_ids):
        rows = conn.execute(
            select(tracker_events.c.tracker_id, tracker_events.c.event_id).where(
                tracker_events.c.event_id.in_(chunk)
            )
        )
        known.update((int(r.tracker_id), int(r.event_id)) for r in rows)
    return known


def open_parts(
    conn: Connection, keys: Sequence[tuple[int, str]]
) -> tuple[dict[tuple[int, str], int], dict[tuple[int, str], int]]:
    """For (tracker, period) keys: the unsealed notification to add to, and the last part number."""
    open_ids: dict[tuple[int, str], int] = {}
    last_part: dict[tuple[int, str], int] = {}
    for chunk in chunks(keys):
        pair = tuple_(tracker_notifications.c.tracker_id, tracker_notifications.c.period)
        last = conn.execute(
            select(
                tracker_notifications.c.tracker_id,
                tracker_notifications.c.period,
                func.max(tracker_notifications.c.part).label("part"),
            )
            .where(pair.in_(chunk))
            .group_by(tracker_notifications.c.tracker_id, tracker_notifications.c.period)
        )
        last_part.update({(int(r.tracker_id), r.period): int(r.part) for r in last})
        # Locked so that a sender claiming it meanwhile waits, or is waited for and seals it first
        # (then the events go into a new part). SQLite has one writer at a time and needs no lock.
        unsealed = conn.execute(
            select(
                tracker_notifications.c.id, tracker_notifications.c.tracker_id, tracker_notifications.c.period
            )
            .where(pair.in_(chunk), tracker_notifications.c.sealed.is_(False))
            .with_for_update()
        )
        open_ids.update({(int(r.tracker_id), r.period): int(r.id) for r in unsealed})
    return open_ids, last_part


def insert_notifications(conn: Connection, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Store notification rows and return their ids, in the order of the rows."""
    if not rows:
        return []
    ids = (
        conn.execute(
            insert(tracker_notifications).returning(tracker_notifications.c.id, sort_by_parameter_order=True),
            list(rows),
        )
        .scalars()
        .all()
    )
    return [int(i) for i in ids]


def insert_tracker_events(conn: Connection, rows: Iterable[dict[str, Any]]) -> None:
    """Record (tracker_id, event_id, notification_id) rows: which event went into which notification."""
    insert_in_batches(conn, tracker_events, rows)


def notification_head(conn: Connection, notification_id: int) -> Row[Any] | None:
    """A notification's row (tracker_id, period, idempotency_key …), or None if it is gone."""
    head: Row[Any] | None = conn.execute(
        select(tracker_notifications).where(tracker_notifications.c.id == notification_id)
    ).first()
    return head


def notification_events(conn: Connection, notification_id: int) -> list[StoredEvent]:
    """The events of a notification, oldest first."""
    rows = conn.execute(
        select(change_events)
        .select_from(change_events.join(tracker_events, tracker_events.c.event_id == change_events.c.id))
        .where(tracker_events.c.notification_id == notification_id)
        .order_by(change_events.c.id)
    )
    return [stored_event_from_row(row) for row in rows]


def recent_tracker_events(conn: Connection, tracker_id: int, *, limit: int) -> list[StoredEvent]:
    """The newest events a tracker was matched to, newest first."""
    rows = conn.execute(
        select(change_events)
        .select_from(change_events.join(tracker_events, tracker_events.c.event_id == change_events.c.id))
        .where(tracker_events.c.tracker_id == tracker_id)
        .order_by(change_events.c.id.desc())
        .limit(limit)
    )
    return [stored_event_from_row(row) for row in rows]


def matched_events_state(conn: Connection, tracker_id: int) -> tuple[int, int, datetime | None]:
    """Of the events matched to a tracker: the newest id (0 for none), how many, the newest detection time."""
    newest_id, count, newest_at = conn.execute(
        select(
            func.coalesce(func.max(tracker_events.c.event_id), 0),
            func.count(),
            func.max(change_events.c.detected_at),
        )
        .select_from(tracker_events.join(change_events, change_events.c.id == tracker_events.c.event_id))
        .where(tracker_events.c.tracker_id == tracker_id)
    ).one()
    return int(newest_id), int(count), newest_at
