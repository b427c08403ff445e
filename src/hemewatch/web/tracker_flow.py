"""The web side of trackers: create with double opt-in, change, delete, confirm, unsubscribe.

Mail is sent outside any database transaction (SMTP may be slow and SQLite has one writer);
when the confirmation mail cannot be sent, the tracker just created is deleted again.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import Connection, Engine, func, select

from hemewatch.alerts import (
    Tracker,
    TrackerSpec,
    confirm_tracker,
    create_tracker,
    delete_tracker,
    get_tracker_by_feed_token,
    get_tracker_by_manage_token,
    render_tracker_feed,
    send_confirmation_mail,
    unsubscribe_tracker,
    update_tracker,
)
from hemewatch.alerts.errors import TrackerNotFound
from hemewatch.errors import HemewatchError
from hemewatch.settings import Settings
from hemewatch.storage.runs import utc_now
from hemewatch.storage.tables import trackers


class LinkNotValid(TrackerNotFound):
    """This link is not valid any more: the tracker was deleted, or the link was mistyped."""


class TooManySignups(HemewatchError):
    """Several confirmation mails were sent to this address within the hour; try again later."""


# The form sends mail to any address typed into it: cap what one address can receive.
SIGNUPS_PER_HOUR = 3


def _recent_unconfirmed(conn: Connection, email: str) -> int:
    since = utc_now() - timedelta(hours=1)
    query = (
        select(func.count())
        .select_from(trackers)
        .where(func.lower(trackers.c.email) == email.strip().lower(), trackers.c.created_at >= since)
        .where(trackers.c.confirmed_at.is_(None))
    )
    return int(conn.execute(query).scalar_one())


def start_tracker(engine: Engine, spec: TrackerSpec, *, settings: Settings) -> Tracker:
    """Store an unconfirmed tracker and mail its confirm and manage links (a few per address an hour)."""
    with engine.begin() as conn:
        if _recent_unconfirmed(conn, spec.email) >= SIGNUPS_PER_HOUR:
            raise TooManySignups()
        tracker = create_tracker(conn, spec, now=utc_now(), confirmed=False)
    try:
        send_confirmation_mail(tracker, settings=settings)
    except HemewatchError:
        with engine.begin() as conn:
            delete_tracker(conn, tracker.id)
        raise
    return tracker


def managed_tracker(engine: Engine, manage_token: str) -> Tracker:
    """The tracker a manage link opens; LinkNotValid otherwise."""
    with engine.connect() as conn:
        tracker = get_tracker_by_manage_token(conn, manage_token)
    if tracker is None:
        raise LinkNotValid()
    return tracker


def change_tracker(engine: Engine, manage_token: str, spec: TrackerSpec, *, settings: Settings) -> Tracker:
    """Save a tracker's new settings; a new e-mail address gets a confirmation mail first."""
    with engine.begin() as conn:
        tracker = get_tracker_by_manage_token(conn, manage_token)
        if tracker is None:
            raise LinkNotValid()
        updated = update_tracker(conn, tracker.id, spec, now=utc_now())
        if updated.confirm_token is not None:
            # Sending inside the transaction: a failed mail leaves the old address in place.
            send_confirmation_mail(replace(updated, manage_token=manage_token), settings=settings)
    return updated


def remove_tracker(engine: Engine, manage_token: str) -> Tracker:
    """Delete the tracker a manage link opens."""
    with engine.begin() as conn:
        tracker = get_tracker_by_manage_token(conn, manage_token)
        if tracker is None:
            raise LinkNotValid()
        delete_tracker(conn, tracker.id)
    return tracker


def confirm(engine: Engine, confirm_token: str) -> Tracker:
    """Confirm a tracker from its confirm link (confirming twice is fine)."""
    with engine.begin() as conn:
        tracker = confirm_tracker(conn, confirm_token, now=utc_now())
    if tracker is None:
        raise LinkNotValid()
    return tracker


def unsubscribe(engine: Engine, unsubscribe_token: str) -> Tracker:
    """Stop a tracker from its unsubscribe link (unsubscribing twice is fine)."""
    with engine.begin() as conn:
        tracker = unsubscribe_tracker(conn, unsubscribe_token, now=utc_now())
    if tracker is None:
        raise LinkNotValid()
    return tracker


def tracker_feed(engine: Engine, feed_token: str, *, settings: Settings) -> bytes:
    """The Atom document of the tracker a feed link belongs to."""
    with engine.connect() as conn:
        tracker = get_tracker_by_feed_token(conn, feed_token)
        if tracker is None or tracker.status == "unsubscribed":
            raise LinkNotValid("There is no feed at this address (the tracker was deleted or unsubscribed).")
        return render_tracker_feed(conn, tracker, settings=settings)
