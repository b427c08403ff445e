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

from sqlalchemy.engine import Connection

from hemewatch.registry.backoff import RetryPolicy
from hemewatch.storage.deliveries import (
    bury_expired_claims,
    cancel_claim,
    claim_due,
    claims_in_progress,
    count_due,
    delivery_rows,
    finish_claim,
    record_attempt,
    release_claim,
    requeue_dead,
)
from hemewatch.storage.states import DeliveryStatus

LEASE = timedelta(minutes=15)
MAX_BACKOFF = timedelta(days=1)
# What complete_delivery returns when another worker took the claim over (no stored state).
LOST = "lost"


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
    rows = claim_due(
        conn,
        token=token,
        worker=worker,
        now=now,
        lease_expires_at=now + lease,
        limit=limit,
        channels=channels,
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
    policy = RetryPolicy(base=first, cap=MAX_BACKOFF.total_seconds(), jitter=False)
    return timedelta(seconds=policy.delay(attempt - 1))


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
    status: DeliveryStatus
    if error is None:
        status, values = DeliveryStatus.SENT, {"sent_at": now, "last_error": None}
    elif claim.attempt >= max_attempts:
        status, values = DeliveryStatus.DEAD, {"last_error": error}
    else:
        delay = backoff_delay(claim.attempt, first=backoff_seconds)
        status, values = DeliveryStatus.PENDING, {"last_error": error, "next_attempt_at": now + delay}
    if not finish_claim(conn, claim.delivery_id, claim.claim_token, status=status, values=values):
        return LOST
    record_attempt(
        conn, claim.delivery_id, started_at=claim.claimed_at, finished_at=now, error=error, worker=worker
    )
    return status


def cancel_delivery(conn: Connection, claim: Claim, *, reason: str) -> None:
    """Give up a claimed delivery that no longer has a recipient (tracker stopped or channel removed)."""
    cancel_claim(conn, claim.delivery_id, claim.claim_token, reason=reason)


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
    released = 0
    for row in claims_in_progress(conn):
        worker_host, _, rest = (row.claimed_by or "").partition(":")
        pid_text = rest.partition(":")[0]
        if worker_host != host or not pid_text.isdigit():
            continue
        pid = int(pid_text)
        reused = pid == os.getpid() and worker is not None and row.claimed_by != worker
        if alive(pid) and not reused:
            continue
        interrupted = f"interrupted: the worker {row.claimed_by} stopped during the attempt"
        status = DeliveryStatus.DEAD if row.attempts >= max_attempts else DeliveryStatus.PENDING
        released += release_claim(conn, int(row.id), status=status, now=now, error=interrupted)
    # Leases that ran out on a delivery with no attempts left: stop trying.
    bury_expired_claims(
        conn, now=now, max_attempts=max_attempts, error="the worker stopped during every attempt"
    )
    return released


def retry_deliveries(conn: Connection, ids: Sequence[int] = (), *, now: datetime) -> int:
    """Queue dead deliveries again (all of them, or those ids) with a fresh set of attempts."""
    return requeue_dead(conn, ids, now=now)


def list_deliveries(
    conn: Connection, *, failed: bool = False, status: str | None = None, limit: int | None = 100
) -> list[DeliveryRow]:
    """Deliveries, newest first; failed: dead ones and pending ones whose last attempt failed."""
    rows = delivery_rows(conn, failed=failed, status=status, limit=limit)
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
        for r in rows
    ]


def count_waiting(conn: Connection, channel: str, *, now: datetime) -> int:
    """How many deliveries on a channel are due and waiting (for example for SMTP to be configured)."""
    return count_due(conn, channel, now=now)
