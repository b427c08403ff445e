"""The outbox's rows: deliveries (one per notification and channel target) and their attempts.

Claiming, recording an attempt, releasing and listing are statements here; what a failure or an
orphaned claim means (retry after a backoff, give up) is decided by alerts.queue.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, insert, or_, select, update
from sqlalchemy.engine import Connection

from hemewatch.storage.notifications import insert_in_batches
from hemewatch.storage.states import DeliveryStatus
from hemewatch.storage.tables import deliveries, delivery_attempts, tracker_notifications


def insert_deliveries(conn: Connection, rows: Iterable[dict[str, Any]]) -> None:
    """Queue delivery rows."""
    insert_in_batches(conn, deliveries, rows)


def _due(now: datetime, channels: Collection[str]) -> Any:
    return and_(
        deliveries.c.channel.in_(list(channels)),
        tracker_notifications.c.due_at <= now,
        or_(
            and_(deliveries.c.status == DeliveryStatus.PENDING, deliveries.c.next_attempt_at <= now),
            and_(deliveries.c.status == DeliveryStatus.SENDING, deliveries.c.lease_expires_at < now),
        ),
    )


def claim_due(
    conn: Connection,
    *,
    token: str,
    worker: str,
    now: datetime,
    lease_expires_at: datetime,
    limit: int,
    channels: Collection[str],
) -> list[Row[Any]]:
    """Mark up to `limit` due deliveries `sending` under this claim token, seal their notifications,
    and return them (id, notification_id, channel, target, attempts, tracker_id, idempotency_key)."""
    candidates = (
        select(deliveries.c.id)
        .select_from(deliveries.join(tracker_notifications))
        .where(_due(now, channels))
        .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        # Concurrent workers never take the same row; SQLite has one writer at a time.
        locked = candidates.with_for_update(skip_locked=True, of=[deliveries, tracker_notifications])
        ids = [int(i) for i in conn.execute(locked).scalars()]
        if not ids:
            return []
        chosen: Any = deliveries.c.id.in_(ids)
    else:
        chosen = deliveries.c.id.in_(candidates)
    conn.execute(
        update(deliveries)
        .where(chosen)
        .values(
            status=DeliveryStatus.SENDING,
            attempts=deliveries.c.attempts + 1,
            claimed_by=worker,
            claim_token=token,
            lease_expires_at=lease_expires_at,
        )
    )
    mine = deliveries.c.claim_token == token
    # Sealed: events found later in the same period go into a new part, never into one being sent.
    conn.execute(
        update(tracker_notifications)
        .where(tracker_notifications.c.id.in_(select(deliveries.c.notification_id).where(mine)))
        .values(sealed=True)
    )
    return list(
        conn.execute(
            select(
                deliveries.c.id,
                deliveries.c.notification_id,
                deliveries.c.channel,
                deliveries.c.target,
                deliveries.c.attempts,
                tracker_notifications.c.tracker_id,
                tracker_notifications.c.idempotency_key,
            )
            .select_from(deliveries.join(tracker_notifications))
            .where(mine)
            .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
        )
    )


def finish_claim(
    conn: Connection, delivery_id: int, claim_token: str, *, status: DeliveryStatus, values: dict[str, Any]
) -> bool:
    """Give a claimed delivery its new status and end the claim; False when the claim was taken over."""
    done = conn.execute(
        update(deliveries)
        .where(deliveries.c.id == delivery_id, deliveries.c.claim_token == claim_token)
        .values(status=status, lease_expires_at=None, claim_token=None, **values)
    )
    return done.rowcount > 0


def record_attempt(
    conn: Connection,
    delivery_id: int,
    *,
    started_at: datetime,
    finished_at: datetime,
    error: str | None,
    worker: str | None,
) -> None:
    """Log one attempt of a delivery (ok when there was no error)."""
    conn.execute(
        insert(delivery_attempts).values(
            delivery_id=delivery_id,
            started_at=started_at,
            finished_at=finished_at,
            ok=error is None,
            error=error,
            worker=worker,
        )
    )


def cancel_claim(conn: Connection, delivery_id: int, claim_token: str, *, reason: str) -> None:
    """Cancel a claimed delivery, with the reason as its last error."""
    conn.execute(
        update(deliveries)
        .where(deliveries.c.id == delivery_id, deliveries.c.claim_token == claim_token)
        .values(status=DeliveryStatus.CANCELLED, last_error=reason, lease_expires_at=None, claim_token=None)
    )


def cancel_pending_of_tracker(conn: Connection, tracker_id: int, *, reason: str) -> None:
    """Cancel every delivery of a tracker still waiting for its first or next attempt."""
    queued = select(tracker_notifications.c.id).where(tracker_notifications.c.tracker_id == tracker_id)
    conn.execute(
        update(deliveries)
        .where(deliveries.c.notification_id.in_(queued), deliveries.c.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.CANCELLED, last_error=reason)
    )


def claims_in_progress(conn: Connection) -> list[Row[Any]]:
    """The deliveries being sent: id, claimed_by and attempts."""
    return list(
        conn.execute(
            select(deliveries.c.id, deliveries.c.claimed_by, deliveries.c.attempts).where(
                deliveries.c.status == DeliveryStatus.SENDING
            )
        )
    )


def release_claim(
    conn: Connection, delivery_id: int, *, status: DeliveryStatus, now: datetime, error: str
) -> int:
    """End a claim still `sending` with this status, due now; how many rows changed (0 or 1)."""
    done = conn.execute(
        update(deliveries)
        .where(deliveries.c.id == delivery_id, deliveries.c.status == DeliveryStatus.SENDING)
        .values(status=status, next_attempt_at=now, lease_expires_at=None, claim_token=None, last_error=error)
    )
    return int(done.rowcount)


def bury_expired_claims(conn: Connection, *, now: datetime, max_attempts: int, error: str) -> None:
    """Mark dead the claims whose lease ran out on a delivery with no attempts left."""
    conn.execute(
        update(deliveries)
        .where(
            deliveries.c.status == DeliveryStatus.SENDING,
            deliveries.c.lease_expires_at < now,
            deliveries.c.attempts >= max_attempts,
        )
        .values(status=DeliveryStatus.DEAD, claim_token=None, last_error=error)
    )


def requeue_dead(conn: Connection, ids: Sequence[int] = (), *, now: datetime) -> int:
    """Dead deliveries (all, or those ids) pending again with no attempts made; how many."""
    query = update(deliveries).where(deliveries.c.status == DeliveryStatus.DEAD)
    if ids:
        query = query.where(deliveries.c.id.in_(list(ids)))
    done = conn.execute(
        query.values(status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now, last_error=None)
    )
    return int(done.rowcount)


def delivery_rows(
    conn: Connection, *, failed: bool = False, status: str | None = None, limit: int | None = 100
) -> list[Row[Any]]:
    """Delivery rows with their tracker_id and idempotency_key, newest first.

    failed: dead ones and pending ones whose last attempt failed.
    """
    query = select(
        deliveries,
        tracker_notifications.c.tracker_id,
        tracker_notifications.c.idempotency_key,
    ).select_from(deliveries.join(tracker_notifications))
    if failed:
        query = query.where(
            or_(
                deliveries.c.status == DeliveryStatus.DEAD,
                and_(deliveries.c.status == DeliveryStatus.PENDING, deliveries.c.last_error.is_not(None)),
            )
        )
    if status:
        query = query.where(deliveries.c.status == status)
    query = query.order_by(deliveries.c.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return list(conn.execute(query))


def count_due(conn: Connection, channel: str, *, now: datetime) -> int:
    """How many deliveries on a channel are due and waiting."""
    query = (
        select(deliveries.c.id)
        .select_from(deliveries.join(tracker_notifications))
        .where(_due(now, [channel]))
    )
    return len(conn.execute(query).all())
