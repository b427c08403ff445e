"""The outbox as a work queue: claim what is due, record each attempt, retry with backoff, list.

A claim sets the delivery to `sending` with a lease. On PostgreSQL the candidates are locked with
FOR UPDATE SKIP LOCKED, so concurrent workers never take the same row; SQLite has one writer at a
time, so its claim is a single UPDATE … WHERE status = 'pending'. A worker that dies leaves its
claims `sending`: they are released at once when the worker ran on this host and its process is
gone, otherwise when the lease expires.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.engine import Connection

from hemewatch.storage.tables import deliveries, delivery_attempts, tracker_notifications

LEASE = timedelta(minutes=15)
MAX_BACKOFF = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Claim:
    """A delivery this worker holds: what to send, where, and the proof that it holds it."""

    delivery_id: int
    notification_id: int
    tracker_id: int
    channel: str
    target: str
    attempt: int
    idempotency_key: str
    claim_token: str
    claimed_at: datetime


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    """One delivery as listed by `hemewatch alerts list`."""

    id: int
    tracker_id: int
    channel: str
    target: str
    status: str
    attempts: int
    idempotency_key: str
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "tracker_id": self.tracker_id,
            "channel": self.channel,
            "target": self.target,
            "status": self.status,
            "attempts": self.attempts,
            "idempotency_key": self.idempotency_key,
            "next_attempt_at": self.next_attempt_at.isoformat(),
            "last_error": self.last_error,
            "created_at": self.created_at.isoformat(),
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
        }


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def worker_identity() -> str:
    """host:pid:random — lets a later run on this host tell whether the worker is still alive."""
    return f"{socket.gethostname()[:120]}:{os.getpid()}:{secrets.token_hex(3)}"


def process_alive(pid: int) -> bool:
    """True when a process with that id exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _due(now: datetime, channels: Collection[str]) -> Any:
    return and_(
        deliveries.c.channel.in_(list(channels)),
        tracker_notifications.c.due_at <= now,
        or_(
            and_(deliveries.c.status == "pending", deliveries.c.next_attempt_at <= now),
            and_(deliveries.c.status == "sending", deliveries.c.lease_expires_at < now),
        ),
    )


def claim_deliveries(
    conn: Connection,
    *,
    worker: str,
    now: datetime,
    limit: int,
    channels: Collection[str],
    lease: timedelta = LEASE,
) -> list[Claim]:
    """Claim up to `limit` due deliveries on these channels and seal their notifications."""
    token = secrets.token_hex(16)
    candidates = (
        select(deliveries.c.id)
        .select_from(deliveries.join(tracker_notifications))
        .where(_due(now, channels))
        .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
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
            status="sending",
            attempts=deliveries.c.attempts + 1,
            claimed_by=worker,
            claim_token=token,
            lease_expires_at=now + lease,
        )
    )
    mine = deliveries.c.claim_token == token
    # Sealed: events found later in the same period go into a new part, never into one being sent.
    conn.execute(
        update(tracker_notifications)
        .where(tracker_notifications.c.id.in_(select(deliveries.c.notification_id).where(mine)))
        .values(sealed=True)
    )
    rows = conn.execute(
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
    return [
        Claim(
            delivery_id=int(r.id),
            notification_id=int(r.notification_id),
            tracker_id=int(r.tracker_id),
            channel=r.channel,
            target=r.target,
            attempt=int(r.attempts),
            idempotency_key=r.idempotency_key,
            claim_token=token,
            claimed_at=now,
        )
        for r in rows
    ]


def backoff_delay(attempt: int, *, first: float) -> timedelta:
    """The wait after a failed attempt: `first` seconds, doubling with each attempt, at most a day."""
    return min(timedelta(seconds=first * 2 ** max(attempt - 1, 0)), MAX_BACKOFF)


def complete_delivery(
    conn: Connection,
    claim: Claim,
    *,
    now: datetime,
    error: str | None,
    max_attempts: int,
    backoff_seconds: float,
    worker: str | None = None,
) -> str:
    """Record an attempt: sent, pending again after a backoff, or dead; returns the new status.

    Returns "lost" when the claim was taken over (its lease expired) and nothing was changed.
    """
    values: dict[str, Any]
    if error is None:
        status, values = "sent", {"sent_at": now, "last_error": None}
    elif claim.attempt >= max_attempts:
        status, values = "dead", {"last_error": error}
    else:
        delay = backoff_delay(claim.attempt, first=backoff_seconds)
        status, values = "pending", {"last_error": error, "next_attempt_at": now + delay}
    done = conn.execute(
        update(deliveries)
        .where(deliveries.c.id == claim.delivery_id, deliveries.c.claim_token == claim.claim_token)
        .values(status=status, lease_expires_at=None, claim_token=None, **values)
    )
    if done.rowcount == 0:
        return "lost"
    conn.execute(
        insert(delivery_attempts).values(
            delivery_id=claim.delivery_id,
            started_at=claim.claimed_at,
            finished_at=now,
            ok=error is None,
            error=error,
            worker=worker,
        )
    )
    return status


def cancel_delivery(conn: Connection, claim: Claim, *, reason: str) -> None:
    """Give up a claimed delivery that no longer has a recipient (tracker stopped or channel removed)."""
    conn.execute(
        update(deliveries)
        .where(deliveries.c.id == claim.delivery_id, deliveries.c.claim_token == claim.claim_token)
        .values(status="cancelled", last_error=reason, lease_expires_at=None, claim_token=None)
    )


def release_orphaned_claims(
    conn: Connection,
    *,
    now: datetime,
    max_attempts: int,
    worker: str | None = None,
    host: str | None = None,
    alive: Callable[[int], bool] = process_alive,
) -> int:
    """Put back claims of workers on this host whose process is gone; bury endlessly interrupted ones.

    `worker` is the caller's own identity: a claim made under this process id by another worker
    is stale too (the process id was reused, as in a restarted container).
    """
    host = host or socket.gethostname()[:120]
    rows = conn.execute(
        select(deliveries.c.id, deliveries.c.claimed_by, deliveries.c.attempts).where(
            deliveries.c.status == "sending"
        )
    ).all()
    released = 0
    for row in rows:
        worker_host, _, rest = (row.claimed_by or "").partition(":")
        pid_text = rest.partition(":")[0]
        if worker_host != host or not pid_text.isdigit():
            continue
        pid = int(pid_text)
        reused = pid == os.getpid() and worker is not None and row.claimed_by != worker
        if alive(pid) and not reused:
            continue
        interrupted = f"interrupted: the worker {row.claimed_by} stopped during the attempt"
        status = "dead" if row.attempts >= max_attempts else "pending"
        done = conn.execute(
            update(deliveries)
            .where(deliveries.c.id == row.id, deliveries.c.status == "sending")
            .values(
                status=status,
                next_attempt_at=now,
                lease_expires_at=None,
                claim_token=None,
                last_error=interrupted,
            )
        )
        released += done.rowcount
    # Leases that ran out on a delivery with no attempts left: stop trying.
    conn.execute(
        update(deliveries)
        .where(
            deliveries.c.status == "sending",
            deliveries.c.lease_expires_at < now,
            deliveries.c.attempts >= max_attempts,
        )
        .values(status="dead", claim_token=None, last_error="the worker stopped during every attempt")
    )
    return released


def retry_deliveries(conn: Connection, ids: Sequence[int] = (), *, now: datetime) -> int:
    """Queue dead deliveries again (all of them, or those ids) with a fresh set of attempts."""
    query = update(deliveries).where(deliveries.c.status == "dead")
    if ids:
        query = query.where(deliveries.c.id.in_(list(ids)))
    done = conn.execute(query.values(status="pending", attempts=0, next_attempt_at=now, last_error=None))
    return int(done.rowcount)


def list_deliveries(
    conn: Connection, *, failed: bool = False, status: str | None = None, limit: int | None = 100
) -> list[DeliveryRow]:
    """Deliveries, newest first; failed: dead ones and pending ones whose last attempt failed."""
    query = select(
        deliveries,
        tracker_notifications.c.tracker_id,
        tracker_notifications.c.idempotency_key,
    ).select_from(deliveries.join(tracker_notifications))
    if failed:
        query = query.where(
            or_(
                deliveries.c.status == "dead",
                and_(deliveries.c.status == "pending", deliveries.c.last_error.is_not(None)),
            )
        )
    if status:
        query = query.where(deliveries.c.status == status)
    query = query.order_by(deliveries.c.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return [
        DeliveryRow(
            id=int(r.id),
            tracker_id=int(r.tracker_id),
            channel=r.channel,
            target=r.target,
            status=r.status,
            attempts=int(r.attempts),
            idempotency_key=r.idempotency_key,
            next_attempt_at=_utc(r.next_attempt_at),
            last_error=r.last_error,
            created_at=_utc(r.created_at),
            sent_at=_utc(r.sent_at) if r.sent_at else None,
        )
        for r in conn.execute(query)
    ]


def count_waiting(conn: Connection, channel: str, *, now: datetime) -> int:
    """How many deliveries on a channel are due and waiting (for example for SMTP to be configured)."""
    query = (
        select(deliveries.c.id)
        .select_from(deliveries.join(tracker_notifications))
        .where(_due(now, [channel]))
    )
    return len(conn.execute(query).all())
