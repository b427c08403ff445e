"""Queue deliveries for newly stored events, in the caller's transaction, idempotently."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select, tuple_
from sqlalchemy.engine import Connection

from hemewatch.alerts.criteria import Criteria, criteria_from_stored
from hemewatch.alerts.facts import load_trial_facts
from hemewatch.alerts.matching import match_events
from hemewatch.alerts.periods import Period, idempotency_key, period_for
from hemewatch.storage.events import StoredEvent
from hemewatch.storage.tables import deliveries, tracker_events, tracker_notifications, trackers

_CHUNK = 500


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
        found.append(("email", row.email))
    if row.webhook_url:
        found.append(("webhook", row.webhook_url))
    found.extend(("apprise", url) for url in row.apprise_urls or ())
    return tuple(found)


def _active_trackers(
    conn: Connection, *, created_before: datetime
) -> tuple[list[Criteria], dict[int, _Recipient]]:
    rows = conn.execute(
        select(
            trackers.c.id,
            trackers.c.uid,
            trackers.c.created_at,
            trackers.c.criteria,
            trackers.c.cadence,
            trackers.c.email,
            trackers.c.email_enabled,
            trackers.c.webhook_url,
            trackers.c.apprise_urls,
        ).where(
            trackers.c.confirmed_at.is_not(None),
            trackers.c.unsubscribed_at.is_(None),
            trackers.c.created_at < created_before,
        )
    )
    criteria: list[Criteria] = []
    recipients: dict[int, _Recipient] = {}
    for row in rows:
        criteria.append(criteria_from_stored(int(row.id), _utc(row.created_at), row.criteria))
        recipients[int(row.id)] = _Recipient(int(row.id), row.uid, row.cadence, _channels(row))
    return criteria, recipients


def _known_pairs(conn: Connection, event_ids: Sequence[int]) -> set[tuple[int, int]]:
    known: set[tuple[int, int]] = set()
    for start in range(0, len(event_ids), _CHUNK):
        chunk = event_ids[start : start + _CHUNK]
        rows = conn.execute(
            select(tracker_events.c.tracker_id, tracker_events.c.event_id).where(
                tracker_events.c.event_id.in_(chunk)
            )
        )
        known.update((int(r.tracker_id), int(r.event_id)) for r in rows)
    return known


def _open_parts(
    conn: Connection, keys: Sequence[tuple[int, str]]
) -> tuple[dict[tuple[int, str], int], dict[tuple[int, str], int]]:
    """For (tracker, period) keys: the unsealed notification to add to, and the last part number."""
    open_ids: dict[tuple[int, str], int] = {}
    last_part: dict[tuple[int, str], int] = {}
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
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
    known = _known_pairs(conn, sorted(found))
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
    open_ids, last_part = _open_parts(conn, digest_keys) if digest_keys else ({}, {})
    fresh = [key for key in groups if key not in open_ids]
    notification_ids = {**open_ids, **_insert_notifications(conn, fresh, periods, last_part, recipients, now)}
    _insert_rows(
        conn,
        tracker_events,
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
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for key in fresh
        for channel, target in recipients[key[0]].channels
    ]
    _insert_rows(conn, deliveries, delivery_rows)
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
    ids = (
        conn.execute(
            insert(tracker_notifications).returning(tracker_notifications.c.id, sort_by_parameter_order=True),
            rows,
        )
        .scalars()
        .all()
    )
    return {key: int(i) for key, i in zip(keys, ids, strict=True)}


def _insert_rows(conn: Connection, table: Any, rows: Iterable[dict[str, Any]]) -> None:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= 5000:
            conn.execute(insert(table), batch)
            batch = []
    if batch:
        conn.execute(insert(table), batch)
