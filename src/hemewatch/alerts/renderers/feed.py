"""Tracker feeds: one entry per change a tracker was matched to, newest first, as Atom and JSON Feed.

Atom 1.0 (RFC 4287) comes from a Jinja2 template with autoescaping on, JSON Feed 1.1
(https://jsonfeed.org/version/1.1) from the same items through orjson. Both documents carry the
same ids, so a reader moving from one to the other keeps its read state.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlsplit

import orjson

from hemewatch import __version__
from hemewatch.alerts.digest import TrialInfo, build_digest
from hemewatch.alerts.renderers.templating import render
from hemewatch.alerts.trackers import Tracker
from hemewatch.history.wording import shorten
from hemewatch.storage.events import StoredEvent

# Bumped whenever what the feeds say changes: it is part of each feed's validator (ETag).
FEED_FORMAT: Final = 2
JSON_FEED_VERSION: Final = "https://jsonfeed.org/version/1.1"
SUBTITLE: Final = "Changes to the clinical trials this tracker follows"
# Characters XML 1.0 does not allow, even escaped.
_NOT_XML: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text)


def _tag_uri(public_url: str, when: datetime, specific: str) -> str:
    # tag: URIs (RFC 4151) stay the same whatever the feed's token, so readers keep their state.
    host = urlsplit(public_url).hostname or "hemewatch.invalid"
    return f"tag:{host},{when.date().isoformat()}:{specific}"


def _headline(label: str, summary: str) -> str:
    """The entry's headline: the change's label, then its summary (once, if the summary opens with it)."""
    text = shorten(summary, 120)
    return text if text.casefold().startswith(label.casefold()) else f"{label}: {text}"


def _timestamp(when: datetime) -> str:
    """RFC 3339, as both Atom and JSON Feed want it."""
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).isoformat()


def json_feed_url(tracker: Tracker, public_url: str) -> str:
    """Address of the tracker's JSON Feed, beside its Atom feed."""
    return tracker.feed_url(public_url).removesuffix(".atom") + ".json"


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One change as both formats show it."""

    id: str
    title: str
    url: str
    registry_url: str
    updated: str
    content_html: str
    categories: tuple[tuple[str, str], ...]
    nct_id: str
    event_id: int
    type: str
    severity: str


@dataclass(frozen=True, slots=True)
class FeedDocument:
    """What both formats say about the feed itself, and its items newest first."""

    id: str
    title: str
    subtitle: str
    updated: str
    atom_url: str
    json_url: str
    home_url: str
    version: str
    items: tuple[FeedItem, ...]


def feed_document(
    tracker: Tracker,
    events: Sequence[StoredEvent],
    trials: Mapping[str, TrialInfo],
    *,
    public_url: str,
) -> FeedDocument:
    """The feed's metadata and items (events newest first)."""
    digest = build_digest(
        tracker=tracker,
        period="feed",
        idempotency_key="feed",
        events=events,
        trials=trials,
        public_url=public_url,
    )
    newest = max((stored.event.detected_at for stored in events), default=tracker.created_at)
    entries = [(change, trial) for trial in digest.trials for change in trial.changes]
    entries.sort(key=lambda pair: (pair[0].detected_at, pair[0].event_id), reverse=True)
    items = tuple(
        FeedItem(
            id=_tag_uri(public_url, change.detected_at, f"event/{change.event_id}"),
            title=_clean(f"{trial.nct_id} · {_headline(change.label, change.summary)}"),
            url=trial.web_url,
            registry_url=trial.registry_url,
            updated=_timestamp(change.detected_at),
            content_html=_clean(render("feed_entry.html", change=change, trial=trial)),
            categories=((change.type, change.label), (f"severity:{change.severity}", change.severity)),
            nct_id=trial.nct_id,
            event_id=change.event_id,
            type=change.type,
            severity=change.severity,
        )
        for change, trial in entries
    )
    return FeedDocument(
        id=_tag_uri(public_url, tracker.created_at, f"tracker/{tracker.uid}"),
        title=_clean(f"hemewatch: {tracker.name}"),
        subtitle=SUBTITLE,
        updated=_timestamp(newest),
        atom_url=tracker.feed_url(public_url),
        json_url=json_feed_url(tracker, public_url),
        home_url=public_url.rstrip("/") + "/",
        version=__version__,
        items=items,
    )


def render_feed(
    tracker: Tracker,
    events: Sequence[StoredEvent],
    trials: Mapping[str, TrialInfo],
    *,
    public_url: str,
) -> bytes:
    """The tracker's Atom document (events newest first)."""
    document = feed_document(tracker, events, trials, public_url=public_url)
    return render("feed.atom.xml", feed=document).encode("utf-8")


def render_json_feed(
    tracker: Tracker,
    events: Sequence[StoredEvent],
    trials: Mapping[str, TrialInfo],
    *,
    public_url: str,
) -> bytes:
    """The tracker's JSON Feed 1.1 document (events newest first)."""
    document = feed_document(tracker, events, trials, public_url=public_url)
    feed: dict[str, Any] = {
        "version": JSON_FEED_VERSION,
        "title": document.title,
        "description": document.subtitle,
        "home_page_url": document.home_url,
        "feed_url": document.json_url,
        "language": "en",
        "authors": [{"name": "hemewatch"}],
        "items": [
            {
                "id": item.id,
                "url": item.url,
                "external_url": item.registry_url,
                "title": item.title,
                "content_html": item.content_html,
                "date_published": item.updated,
                "date_modified": item.updated,
                "tags": [term for term, _ in item.categories],
                "_hemewatch": {
                    "nct_id": item.nct_id,
                    "event_id": item.event_id,
                    "type": item.type,
                    "severity": item.severity,
                },
            }
            for item in document.items
        ],
    }
    return orjson.dumps(feed)
