"""The Atom feed of a tracker, as the web app serves it at /feeds/{feed_token}.atom."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from hemewatch.alerts.notifications import load_trial_info, recent_tracker_events
from hemewatch.alerts.renderers.feed import render_feed
from hemewatch.alerts.trackers import Tracker
from hemewatch.settings import Settings

FEED_ENTRIES = 100


def render_tracker_feed(
    conn: Connection, tracker: Tracker, *, settings: Settings, limit: int = FEED_ENTRIES
) -> bytes:
    """The tracker's Atom document: its newest matched changes, one entry each."""
    events = recent_tracker_events(conn, tracker.id, limit=limit)
    trials = load_trial_info(conn, [stored.event.nct_id for stored in events])
    return render_feed(tracker, events, trials, public_url=settings.public_url)
