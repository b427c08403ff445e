"""A tracker's feeds, as the web app serves them at /feeds/{feed_token}.atom and .json.

A feed reader polls every few minutes and the feed changes a few times a day: `feed_validator`
says whether the feed changed (its ETag and Last-Modified) from one small query, so an unchanged
feed is answered without loading its events or rendering it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy.engine import Connection

from hemewatch import __version__
from hemewatch.alerts.notifications import load_trial_info, recent_tracker_events
from hemewatch.alerts.renderers.feed import FEED_FORMAT, render_feed, render_json_feed
from hemewatch.alerts.trackers import Tracker
from hemewatch.settings import Settings
from hemewatch.storage.notifications import matched_events_state

FEED_ENTRIES = 100

FeedKind = Literal["atom", "json"]


@dataclass(frozen=True)
class FeedValidator:
    """What identifies one state of a feed: a strong ETag and the time it last changed."""

    etag: str
    last_modified: datetime


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def feed_validator(
    conn: Connection, tracker: Tracker, *, settings: Settings, kind: FeedKind
) -> FeedValidator:
    """The feed's validators, from the tracker and its newest matched event, without rendering it.

    The feed changes when an event is matched to the tracker (or one is deleted), when the tracker
    is renamed, and when the renderer or the public address changes: each is part of the ETag.
    """
    newest_id, count, newest_at = matched_events_state(conn, tracker.id)
    changed = _aware(tracker.updated_at)
    if newest_at is not None:
        changed = max(changed, _aware(newest_at))
    state = "|".join(
        (
            kind,
            str(tracker.id),
            tracker.updated_at.isoformat(),
            str(newest_id),
            str(count),
            str(FEED_ENTRIES),
            str(FEED_FORMAT),
            __version__,
            settings.public_url,
        )
    )
    digest = hashlib.sha256(state.encode("utf-8")).hexdigest()[:32]
    return FeedValidator(etag=f'"feed-{digest}"', last_modified=changed)


def render_tracker_feed(
    conn: Connection,
    tracker: Tracker,
    *,
    settings: Settings,
    limit: int = FEED_ENTRIES,
    kind: FeedKind = "atom",
) -> bytes:
    """The tracker's Atom (or JSON Feed) document: its newest matched changes, one entry each."""
    events = recent_tracker_events(conn, tracker.id, limit=limit)
    trials = load_trial_info(conn, [stored.event.nct_id for stored in events])
    render = render_json_feed if kind == "json" else render_feed
    return render(tracker, events, trials, public_url=settings.public_url)
