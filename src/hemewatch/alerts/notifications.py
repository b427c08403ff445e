"""Read a notification, or a tracker's recent events, back from the database as digest values."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.engine import Connection

from hemewatch.alerts.digest import Digest, TrialInfo, build_digest
from hemewatch.alerts.trackers import Tracker, tracker_from_row
from hemewatch.storage import notifications as stored_notifications
from hemewatch.storage.events import StoredEvent
from hemewatch.storage.tags import current_labels
from hemewatch.storage.trackers import tracker_row
from hemewatch.storage.trial_view import trial_titles

# The labels shown next to a trial's title, in this order.
_TAG_LABELS = ("diseases", "modalities", "targets", "settings", "populations")


def load_trial_info(conn: Connection, nct_ids: Sequence[str]) -> dict[str, TrialInfo]:
    """Current title and headline labels of each trial."""
    ids = sorted(set(nct_ids))
    if not ids:
        return {}
    titles = trial_titles(conn, ids)
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
    head = stored_notifications.notification_head(conn, notification_id)
    if head is None:
        return None
    row = tracker_row(conn, head.tracker_id)
    if row is None:
        return None
    events = stored_notifications.notification_events(conn, notification_id)
    return tracker_from_row(row), head.period, head.idempotency_key, events


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
    return stored_notifications.recent_tracker_events(conn, tracker_id, limit=limit)
