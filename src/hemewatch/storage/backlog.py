"""What the status report reads of the delivery queue: the deliveries still waiting, and their counts."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, select
from sqlalchemy.engine import Connection

from hemewatch.storage.states import DeliveryStatus
from hemewatch.storage.tables import deliveries, tracker_notifications


@dataclass(frozen=True, slots=True)
class WaitingDelivery:
    """A delivery pending or being sent, with the times that say when it falls due."""

    status: str
    next_attempt_at: datetime
    lease_expires_at: datetime | None
    due_at: datetime


def waiting_deliveries(conn: Connection, channels: Collection[str]) -> list[WaitingDelivery]:
    """The deliveries on these channels that are pending or claimed by a sender."""
    rows = conn.execute(
        select(
            deliveries.c.status,
            deliveries.c.next_attempt_at,
            deliveries.c.lease_expires_at,
            tracker_notifications.c.due_at,
        )
        .select_from(deliveries.join(tracker_notifications))
        .where(
            deliveries.c.status.in_((DeliveryStatus.PENDING, DeliveryStatus.SENDING)),
            deliveries.c.channel.in_(list(channels)),
        )
    )
    return [
        WaitingDelivery(row.status, row.next_attempt_at, row.lease_expires_at, row.due_at) for row in rows
    ]


def backlog_counts(conn: Connection) -> list[tuple[str, str, int]]:
    """(channel, state, count) of the deliveries not sent; retrying is pending after a failed attempt."""
    state = case(
        (and_(deliveries.c.status == DeliveryStatus.PENDING, deliveries.c.attempts > 0), "retrying"),
        else_=deliveries.c.status,
    ).label("state")
    rows = conn.execute(
        select(deliveries.c.channel, state, func.count().label("n"))
        .where(deliveries.c.status.in_((DeliveryStatus.PENDING, DeliveryStatus.SENDING, DeliveryStatus.DEAD)))
        .group_by(deliveries.c.channel, state)
    )
    return [(row.channel, row.state, int(row.n)) for row in rows]
