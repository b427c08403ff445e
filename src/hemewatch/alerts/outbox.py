"""Queue deliveries for newly stored events, in the caller's transaction, idempotently."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Connection

from hemewatch.alerts.criteria import Criteria, criteria_from_stored
from hemewatch.alerts.facts import load_trial_facts
from hemewatch.alerts.matching import match_events
from hemewatch.alerts.periods import Period, idempotency_key, period_for
from hemewatch.storage.deliveries import insert_deliveries
from hemewatch.storage.events import StoredEvent
from hemewatch.storage.notifications import (
    insert_notifications,
    insert_tracker_events,
    known_pairs,
    open_parts,
)
from hemewatch.storage.states import ChannelKind, DeliveryStatus
from hemewatch.storage.trackers import active_tracker_rows


@dataclass(frozen=True, slots=True)
class _Recipient:
    """The part of an active tracker that enqueueing needs."""

    id: int
    uid: str
    cadence: str
    channels: tuple[tuple[str, str], ...]  # (channel, target)


def target_hash(target: str) -> str:
    """The SHA-256 of a delivery target, which keys its uniqueness (targets can be long URLs)."""
    return hashlib.sha256(target.encode("utf-8")).hexdigest()


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _channels(row: Any) -> tuple[tuple[str, str], ...]:
    found: list[tuple[str, str]] = []
    if row.email_enabled:
        found.append((ChannelKind.EMAIL, row.email))
    if row.webhook_url:
        found.append((ChannelKind.WEBHOOK, row.webhook_url))
    found.extend((ChannelKind.APPRISE, url) for url in row.apprise_urls or ())
    return tuple(found)


def _active_trackers(
    conn: Connection, *, created_before: datetime
) -> tuple[list[Criteria], dict[int, _Recipient]]:
    rows = active_tracker_rows(conn, created_before=created_before)
    criteria: list[Criteria] = []
    recipients: dict[int, _Recipient] = {}
    for row in rows:
        criteria.append(criteria_from_stored(int(row.id), _utc(row.created_at), row.criteria))
        recipients[int(row.id)] = _Recipient(int(row.id), row.uid, row.cadence, _channels(row))
    return criteria, recipients


def enqueue_deliveries(conn: Connection, events: Sequence[StoredEvent], *, now: datetime) -> int:
    """Match stored events to active trackers and queue their deliveries; returns the deliveries queued.

    Call it in the transaction that stored the events. Calling it again with the same events
    queues nothing more: each (tracker, event) pair is recorded once.
    """
    alertable = [stored for stored in events if stored.event.alertable]
    if not alertable:
        return 0
    latest = max(stored.event.detected_at for stored in alertable)
    criteria, recipients = _active_trackers(conn, created_before=latest)
    if not criteria:
        return 0
    facts = load_trial_facts(conn, sorted({stored.event.nct_id for stored in alertable}))
    found = match_events(criteria, facts, alertable)
    if not found:
        return 0
    known = known_pairs(conn, sorted(found))
    by_id = {stored.id: stored for stored in alertable}
    groups: defaultdict[tuple[int, str], list[int]] = defaultdict(list)
    periods: dict[tuple[int, str], Period] = {}
    for event_id, tracker_ids in found.items():
        stored = by_id[event_id]
        for tracker_id in tracker_ids:
            if (tracker_id, event_id) in known:
                continue
            period = period_for(
                recipients[tracker_id].cadence,
                event_id=event_id,
                detected_at=stored.event.detected_at,
                now=now,
            )
            groups[(tracker_id, period.key)].append(event_id)
            periods[(tracker_id, period.key)] = period
    if not groups:
        return 0
    digest_keys = [key for key in groups if recipients[key[0]].cadence != "immediate"]
    open_ids, last_part = open_parts(conn, digest_keys) if digest_keys else ({}, {})
    fresh = [key for key in groups if key not in open_ids]
    notification_ids = {**open_ids, **_insert_notifications(conn, fresh, periods, last_part, recipients, now)}
    insert_tracker_events(
        conn,
        (
            {"tracker_id": key[0], "event_id": event_id, "notification_id": notification_ids[key]}
            for key, event_ids in groups.items()
            for event_id in event_ids
        ),
    )
    delivery_rows = [
        {
            "notification_id": notification_ids[key],
            "channel": channel,
            "target": target,
            "target_hash": target_hash(target),
            "status": DeliveryStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for key in fresh
        for channel, target in recipients[key[0]].channels
    ]
    insert_deliveries(conn, delivery_rows)
    return len(delivery_rows)


def _insert_notifications(
    conn: Connection,
    keys: Sequence[tuple[int, str]],
    periods: dict[tuple[int, str], Period],
    last_part: dict[tuple[int, str], int],
    recipients: dict[int, _Recipient],
    now: datetime,
) -> dict[tuple[int, str], int]:
    if not keys:
        return {}
    rows = []
    for key in keys:
        part = last_part.get(key, 0) + 1
        rows.append(
            {
                "tracker_id": key[0],
                "period": key[1],
                "part": part,
                "idempotency_key": idempotency_key(recipients[key[0]].uid, key[1], part),
                "due_at": periods[key].due_at,
                "sealed": False,
                "created_at": now,
            }
        )
    ids = insert_notifications(conn, rows)
    return dict(zip(keys, ids, strict=True))
