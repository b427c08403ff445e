"""Read a notification, or a tracker's recent events, back from the database as digest values."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.engine import Connection

from hemewatch.alerts.digest import Digest, TrialInfo, build_digest
from hemewatch.alerts.trackers import Tracker, tracker_from_row
from hemewatch.storage.events import StoredEvent, stored_event_from_row
from hemewatch.storage.tables import change_events, tracker_events, tracker_notifications, trackers, trials
from hemewatch.storage.tags import current_labels

# The labels shown next to a trial's title, in this order.
_TAG_LABELS = ("diseases", "modalities", "targets", "settings", "populations")


def load_trial_info(conn: Connection, nct_ids: Sequence[str]) -> dict[str, TrialInfo]:
    """Current title and headline labels of each trial."""
    ids = sorted(set(nct_ids))
    if not ids:
        return {}
    titles = {
        row.nct_id: row.brief_title
        for row in conn.execute(select(trials.c.nct_id, trials.c.brief_title).where(trials.c.nct_id.in_(ids)))
    }
    labels = current_labels(conn, ids)
    info = {}
    for nct_id in ids:
        found = labels.get(nct_id, {})
        tags = tuple(str(v) for key in _TAG_LABELS for v in found.get(key) or ())
        info[nct_id] = TrialInfo(titles.get(nct_id), tuple(dict.fromkeys(tags)))
    return info


def load_notification(
    conn: Connection, notification_id: int
) -> tuple[Tracker, str, str, list[StoredEvent]] | None:
    """The tracker, period, idempotency key and events of a notification, or None if it is gone."""
    head = conn.execute(
        select(
            tracker_notifications.c.tracker_id,
            tracker_notifications.c.period,
            tracker_notifications.c.idempotency_key,
        ).where(tracker_notifications.c.id == notification_id)
    ).first()
    if head is None:
        return None
    tracker_row = conn.execute(select(trackers).where(trackers.c.id == head.tracker_id)).first()
    if tracker_row is None:
        return None
    rows = conn.execute(
        select(change_events)
        .select_from(change_events.join(tracker_events, tracker_events.c.event_id == change_events.c.id))
        .where(tracker_events.c.notification_id == notification_id)
        .order_by(change_events.c.id)
    )
    events = [stored_event_from_row(row) for row in rows]
    return tracker_from_row(tracker_row), head.period, head.idempotency_key, events


def load_digest(conn: Connection, notification_id: int, *, public_url: str) -> Digest | None:
    """The digest of one notification, or None when it (or its tracker) no longer exists."""
    loaded = load_notification(conn, notification_id)
    if loaded is None:
        return None
    tracker, period, key, events = loaded
    info = load_trial_info(conn, [stored.event.nct_id for stored in events])
    return build_digest(
        tracker=tracker, period=period, idempotency_key=key, events=events, trials=info, public_url=public_url
    )


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
