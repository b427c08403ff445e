"""The JSON Feed beside each Atom feed, and the validator that spares a feed from being re-rendered."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import feedparser
import orjson
from sqlalchemy import Engine

from hemewatch.alerts.feeds import feed_validator, render_tracker_feed
from hemewatch.alerts.renderers.feed import render_feed, render_json_feed
from hemewatch.settings import Settings
from tests.alerts.test_renderers import EVENTS, EVIL, PUBLIC, TRIALS, a_tracker
from tests.alerts.world import NOW, add_tracker, make_event, seed_trials, store_and_enqueue


def test_json_feed_has_the_required_members_and_one_item_per_change() -> None:
    feed = orjson.loads(render_json_feed(a_tracker(), EVENTS, TRIALS, public_url=PUBLIC))
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["title"] == "hemewatch: AML watch"
    assert feed["feed_url"] == f"{PUBLIC}/feeds/feed-token.json"
    assert feed["home_page_url"] == f"{PUBLIC}/"
    items = feed["items"]
    # Newest first, as in the Atom feed (same detection time: the later event first).
    assert [item["_hemewatch"]["event_id"] for item in items] == [3, 2, 1]
    for item in items:
        assert isinstance(item["id"], str) and item["id"]
        assert "content_html" in item and item["date_published"].endswith("+00:00")
    results = items[1]
    assert results["title"] == "NCT00000002 · Results posted"
    assert results["url"] == f"{PUBLIC}/trials/NCT00000002"
    assert results["external_url"] == "https://clinicaltrials.gov/study/NCT00000002"
    assert results["tags"] == ["results_posted", "severity:critical"]


def test_json_feed_escapes_trial_text_in_its_html() -> None:
    feed = orjson.loads(render_json_feed(a_tracker(), EVENTS, TRIALS, public_url=PUBLIC))
    html = next(item["content_html"] for item in feed["items"] if "New site" in item["title"])
    assert EVIL not in html and "&lt;script&gt;" in html


def test_both_formats_carry_the_same_ids_and_link_each_other() -> None:
    atom = feedparser.parse(render_feed(a_tracker(), EVENTS, TRIALS, public_url=PUBLIC))
    as_json = orjson.loads(render_json_feed(a_tracker(), EVENTS, TRIALS, public_url=PUBLIC))
    assert not atom.bozo
    assert [e.id for e in atom.entries] == [item["id"] for item in as_json["items"]]
    assert [e.link for e in atom.entries] == [item["url"] for item in as_json["items"]]
    alternates = {link.type: link.href for link in atom.feed.links if link.rel == "alternate"}
    assert alternates["application/feed+json"] == f"{PUBLIC}/feeds/feed-token.json"
    assert alternates["text/html"] == f"{PUBLIC}/"


def test_control_characters_in_trial_text_do_not_break_the_xml() -> None:
    trials = dict(TRIALS)
    first = next(iter(trials))
    trials[first] = replace(trials[first], title="AML\x00 trial\x1b")
    feed = feedparser.parse(render_feed(a_tracker(), EVENTS, trials, public_url=PUBLIC))
    assert not feed.bozo, feed.bozo_exception
    assert any("AML trial" in entry.content[0].value for entry in feed.entries)


def test_an_empty_json_feed_is_valid() -> None:
    feed = orjson.loads(render_json_feed(a_tracker(), [], {}, public_url=PUBLIC))
    assert feed["items"] == [] and feed["version"].endswith("/1.1")


def test_the_validator_moves_with_the_matched_events_and_nothing_else(
    engine: Engine, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings()
    with engine.begin() as conn:
        nct_ids = seed_trials(conn)
        tracker = add_tracker(conn, "Feed watch", email_enabled=False, nct_ids=(nct_ids[0],))
        other = add_tracker(conn, "Other watch", email_enabled=False, nct_ids=(nct_ids[1],))
    with engine.connect() as conn:
        empty = feed_validator(conn, tracker, settings=settings, kind="atom")
        assert feed_validator(conn, tracker, settings=settings, kind="atom") == empty
        assert feed_validator(conn, tracker, settings=settings, kind="json").etag != empty.etag
        assert empty.last_modified == tracker.updated_at
    with engine.begin() as conn:
        store_and_enqueue(conn, [make_event(nct_ids[0])], now=NOW)
    with engine.connect() as conn:
        one = feed_validator(conn, tracker, settings=settings, kind="atom")
        assert one.etag != empty.etag and one.last_modified == NOW
        untouched = feed_validator(conn, other, settings=settings, kind="atom")
        json_feed = orjson.loads(render_tracker_feed(conn, tracker, settings=settings, kind="json"))
    assert [item["_hemewatch"]["nct_id"] for item in json_feed["items"]] == [nct_ids[0]]
    # An event matched to another tracker only: this feed's validator stays.
    with engine.begin() as conn:
        store_and_enqueue(conn, [make_event(nct_ids[1])], now=NOW + timedelta(hours=1))
    with engine.connect() as conn:
        assert feed_validator(conn, tracker, settings=settings, kind="atom") == one
        assert feed_validator(conn, other, settings=settings, kind="atom") != untouched
