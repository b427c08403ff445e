"""The trackers table: store, find, change and delete the rows behind alerts' trackers.

The rules (validation, tokens, what confirming or unsubscribing means) are alerts'; these functions
only read and write rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.engine import Connection

from hemewatch.storage.tables import trackers

TokenKind = Literal["manage", "confirm", "unsubscribe", "feed"]

_TOKEN_HASHES = {
    "manage": trackers.c.manage_token_hash,
    "confirm": trackers.c.confirm_token_hash,
    "unsubscribe": trackers.c.unsubscribe_token_hash,
    "feed": trackers.c.feed_token_hash,
}


def insert_tracker(conn: Connection, values: dict[str, Any]) -> int:
    """Store a tracker row and return its id (IntegrityError when its owner already uses its name)."""
    return int(conn.execute(insert(trackers).values(**values).returning(trackers.c.id)).scalar_one())


def tracker_row(conn: Connection, tracker_id: int) -> Row[Any] | None:
    """The row of the tracker with that id, or None."""
    return conn.execute(select(trackers).where(trackers.c.id == tracker_id)).first()


def tracker_row_by_token_hash(conn: Connection, kind: TokenKind, token_hash: str) -> Row[Any] | None:
    """The row whose token of that kind has this hash, or None."""
    return conn.execute(select(trackers).where(_TOKEN_HASHES[kind] == token_hash)).first()


def tracker_row_by_owner(conn: Connection, email: str, name: str) -> Row[Any] | None:
    """The row of the tracker of that address with that name, or None."""
    return conn.execute(select(trackers).where(trackers.c.email == email, trackers.c.name == name)).first()


def tracker_rows(conn: Connection) -> list[Row[Any]]:
    """Every tracker row, by name then e-mail address."""
    return list(conn.execute(select(trackers).order_by(trackers.c.name, trackers.c.email, trackers.c.id)))


def tracker_rows_named(conn: Connection, name: str, *, email: str | None = None) -> list[Row[Any]]:
    """The rows of the trackers with exactly that name (and that owner, when given)."""
    query = select(trackers).where(trackers.c.name == name)
    if email is not None:
        query = query.where(trackers.c.email == email)
    return list(conn.execute(query).all())


def name_taken(conn: Connection, email: str, name: str, *, other_than: int | None = None) -> bool:
    """Whether that address already has a tracker with that name (other than the one being changed)."""
    query = select(trackers.c.id).where(trackers.c.email == email, trackers.c.name == name)
    if other_than is not None:
        query = query.where(trackers.c.id != other_than)
    return conn.execute(query).first() is not None


def update_tracker_row(conn: Connection, tracker_id: int, values: dict[str, Any]) -> bool:
    """Change columns of a tracker row; False when there is no such tracker."""
    return conn.execute(update(trackers).where(trackers.c.id == tracker_id).values(**values)).rowcount > 0


def delete_tracker_row(conn: Connection, tracker_id: int) -> bool:
    """Delete a tracker row with its notifications, events and deliveries; False when there was none."""
    return conn.execute(delete(trackers).where(trackers.c.id == tracker_id)).rowcount > 0


def active_tracker_rows(conn: Connection, *, created_before: datetime) -> list[Row[Any]]:
    """Confirmed, subscribed trackers created before that time: what enqueueing needs of each."""
    return list(
        conn.execute(
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
    )
