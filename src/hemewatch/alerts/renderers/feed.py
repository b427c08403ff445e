"""Atom feed: one entry per change a tracker was matched to, newest first."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from urllib.parse import urlsplit

from feedgen.feed import FeedGenerator  # type: ignore[import-untyped]

from hemewatch import __version__
from hemewatch.alerts.digest import TrialInfo, build_digest
from hemewatch.alerts.renderers.templating import render
from hemewatch.alerts.trackers import Tracker
from hemewatch.history.wording import shorten
from hemewatch.storage.events import StoredEvent


def _tag_uri(public_url: str, when: datetime, specific: str) -> str:
    # tag: URIs (RFC 4151) stay the same whatever the feed's token, so readers keep their state.
    host = urlsplit(public_url).hostname or "hemewatch.invalid"
    return f"tag:{host},{when.date().isoformat()}:{specific}"


def _headline(label: str, summary: str) -> str:
    """The entry's headline: the change's label, then its summary (once, if the summary opens with it)."""
    text = shorten(summary, 120)
    return text if text.casefold().startswith(label.casefold()) else f"{label}: {text}"


def render_feed(
    tracker: Tracker,
    events: Sequence[StoredEvent],
    trials: Mapping[str, TrialInfo],
    *,
    public_url: str,
) -> bytes:
    """The tracker's Atom document (events newest first)."""
    digest = build_digest(
        tracker=tracker,
        period="feed",
        idempotency_key="feed",
        events=events,
        trials=trials,
        public_url=public_url,
    )
    feed = FeedGenerator()
    feed.id(_tag_uri(public_url, tracker.created_at, f"tracker/{tracker.uid}"))
    feed.title(f"hemewatch: {tracker.name}")
    feed.subtitle("Changes to the clinical trials this tracker follows")
    feed.link(href=tracker.feed_url(public_url), rel="self", type="application/atom+xml")
    feed.link(href=public_url.rstrip("/") + "/", rel="alternate", type="text/html")
    feed.generator("hemewatch", version=__version__)
    feed.language("en")
    newest = max((stored.event.detected_at for stored in events), default=tracker.created_at)
    feed.updated(newest)
    entries = [(change, trial) for trial in digest.trials for change in trial.changes]
    # feedgen prepends each entry added, so add oldest first to get newest first.
    for change, trial in sorted(entries, key=lambda pair: (pair[0].detected_at, pair[0].event_id)):
        entry = feed.add_entry()
        entry.id(_tag_uri(public_url, change.detected_at, f"event/{change.event_id}"))
        entry.title(f"{trial.nct_id} · {_headline(change.label, change.summary)}")
        # One link only: feedgen 1.0 drops the rel of entry links, and two would both read as
        # "alternate"; the ClinicalTrials.gov link is in the content.
        entry.link(href=trial.web_url)
        entry.updated(change.detected_at)
        entry.published(change.detected_at)
        entry.author(name="hemewatch")
        entry.category(term=change.type, label=change.label)
        entry.category(term=f"severity:{change.severity}", label=change.severity)
        entry.content(render("feed_entry.html", change=change, trial=trial), type="html")
    atom: bytes = feed.atom_str(pretty=True)
    return atom
