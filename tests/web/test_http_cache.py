"""Conditional GET: ETag, Last-Modified and 304 on feeds, API answers and pages; never where it must not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from starlette.datastructures import Headers

from hemewatch.alerts import Tracker, TrackerSpec, create_tracker, enqueue_deliveries
from hemewatch.storage.events import store_events
from hemewatch.web.http_cache import StampClock, etag_matches, http_date, is_fresh
from tests.alerts.world import make_event

pytestmark = pytest.mark.anyio

NCT = "NCT05464836"


def _feed_tracker(app: FastAPI, **fields: object) -> Tracker:
    with app.state.web.engine.begin() as conn:
        spec = TrackerSpec(
            name="Feed", email="feed@example.org", email_enabled=False, nct_ids=(NCT,), **fields
        )  # type: ignore[arg-type]
        return create_tracker(conn, spec, now=datetime.now(UTC) - timedelta(days=1), confirmed=True)


def _new_event(app: FastAPI) -> None:
    """A change to a mirrored trial, stored and matched as a sync would."""
    with app.state.web.engine.begin() as conn:
        stored = store_events(conn, [make_event(NCT, detected_at=datetime.now(UTC))], sync_run_id=None)
        enqueue_deliveries(conn, stored, now=datetime.now(UTC))


# The rules themselves.


def test_if_none_match_uses_the_weak_comparison_and_takes_precedence() -> None:
    assert etag_matches('"a", W/"b"', '"b"') and etag_matches("*", '"x"')
    assert not etag_matches('"ab"', '"a"')
    modified = datetime(2026, 11, 21, 6, 0, 0, 500_000, tzinfo=UTC)
    since = Headers({"if-modified-since": http_date(modified)})
    assert is_fresh(since, etag='"a"', last_modified=modified)
    assert not is_fresh(since, etag='"a"', last_modified=modified + timedelta(seconds=1))
    # With If-None-Match, If-Modified-Since is not looked at.
    both = Headers({"if-none-match": '"other"', "if-modified-since": http_date(modified)})
    assert not is_fresh(both, etag='"a"', last_modified=modified)
    assert not is_fresh(Headers({"if-modified-since": "yesterday"}), etag=None, last_modified=modified)


def test_a_new_data_stamp_is_always_later_than_the_one_before() -> None:
    clock = StampClock()
    first = clock.first_seen((1, 2, 3, 4))
    second = clock.first_seen((1, 2, 4, 4))
    assert second > first and clock.first_seen((1, 2, 3, 4)) == first
    assert first.microsecond == 0 and first >= datetime.now(UTC) - timedelta(seconds=1)


# Feeds: validators before rendering.


async def test_a_feed_poll_that_matches_is_answered_without_rendering(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracker = _feed_tracker(app)
    _new_event(app)
    for suffix, media in (("atom", "application/atom+xml"), ("json", "application/feed+json")):
        path = f"/feeds/{tracker.feed_token}.{suffix}"
        first = await client.get(path)
        assert first.status_code == 200 and first.headers["content-type"].startswith(media)
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        assert first.headers["cache-control"] == "no-cache"
        again = await client.get(path, headers={"if-none-match": etag})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == etag and "content-type" not in again.headers
        # The 304 still has the security headers.
        assert "content-security-policy" in again.headers
        since = await client.get(path, headers={"if-modified-since": modified})
        assert since.status_code == 304
    atom = await client.get(f"/feeds/{tracker.feed_token}.atom")
    as_json = await client.get(f"/feeds/{tracker.feed_token}.json")
    assert atom.headers["etag"] != as_json.headers["etag"]

    # A matching poll does not load or render the feed at all.
    def no_rendering(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("the feed was rendered for a matching poll")

    monkeypatch.setattr("hemewatch.alerts.signup.render_tracker_feed", no_rendering)
    path = f"/feeds/{tracker.feed_token}.atom"
    assert (await client.get(path, headers={"if-none-match": atom.headers["etag"]})).status_code == 304
    # Without a matching validator the feed must be rendered (here: the failing renderer is called).
    assert (await client.get(path, headers={"if-none-match": '"stale"'})).status_code == 500


async def test_a_new_matched_change_changes_the_feed_validators(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    tracker = _feed_tracker(app)
    path = f"/feeds/{tracker.feed_token}.atom"
    empty = await client.get(path)
    _new_event(app)
    polled = await client.get(
        path,
        headers={"if-none-match": empty.headers["etag"]},
    )
    assert polled.status_code == 200 and b"<entry>" in polled.content
    assert polled.headers["etag"] != empty.headers["etag"]
    head = await client.head(path)
    assert head.status_code == 200 and head.content == b"" and head.headers["etag"] == polled.headers["etag"]


async def test_a_deleted_feed_is_gone_whatever_the_client_sends(client: httpx.AsyncClient) -> None:
    answer = await client.get("/feeds/not-a-token.atom", headers={"if-none-match": "*"})
    assert answer.status_code == 404


# API answers and pages: a hash of the body.


async def test_api_answers_get_an_etag_and_a_last_modified(app: FastAPI, client: httpx.AsyncClient) -> None:
    first = await client.get("/api/v1/trials?limit=5")
    assert first.status_code == 200
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    repeat = await client.get("/api/v1/trials?limit=5", headers={"if-none-match": etag})
    assert repeat.status_code == 304 and repeat.content == b"" and repeat.headers["etag"] == etag
    assert (
        await client.get("/api/v1/trials?limit=5", headers={"if-modified-since": modified})
    ).status_code == 304
    other = await client.get("/api/v1/trials?limit=6", headers={"if-none-match": etag})
    assert other.status_code == 200 and other.headers["etag"] != etag

    # New data: the old validators no longer match.
    _new_event(app)
    changed = await client.get("/api/v1/changes")
    assert changed.status_code == 200
    after = await client.get("/api/v1/trials?limit=5", headers={"if-modified-since": modified})
    assert after.status_code == 200
    assert after.headers["last-modified"] != modified


async def test_pages_get_an_etag_and_keep_their_cache_control(client: httpx.AsyncClient) -> None:
    page = await client.get("/diseases/all")
    assert page.status_code == 200 and "etag" in page.headers and "last-modified" in page.headers
    again = await client.get("/diseases/all", headers={"if-none-match": page.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    search = await client.get("/search?disease=AML")
    assert search.status_code == 200 and "cache-control" not in search.headers
    assert search.headers["etag"] and "last-modified" not in search.headers
    status = await client.get("/api/v1/status")
    assert status.headers["cache-control"] == "no-cache"
    assert "last-modified" not in status.headers  # not a function of the data alone


async def test_pages_with_a_form_token_are_never_validated(client: httpx.AsyncClient) -> None:
    form = await client.get("/trackers/new")
    assert form.status_code == 200
    assert form.headers["cache-control"] == "no-store"
    assert "etag" not in form.headers and "last-modified" not in form.headers
    again = await client.get("/trackers/new", headers={"if-none-match": "*"})
    assert again.status_code == 200 and again.content


async def test_posts_and_streamed_downloads_are_left_alone(client: httpx.AsyncClient) -> None:
    download = await client.get("/search?format=csv", headers={"if-none-match": "*"})
    assert download.status_code == 200 and download.content
    assert "etag" not in download.headers
    posted = await client.post("/api/v1/prescreen", json={}, headers={"if-none-match": "*"})
    assert posted.status_code != 304 and "etag" not in posted.headers


async def test_static_files_keep_their_own_validators(client: httpx.AsyncClient) -> None:
    first = await client.get("/static/site.css")
    assert first.status_code == 200 and first.headers["etag"]
    assert (
        await client.get("/static/site.css", headers={"if-none-match": first.headers["etag"]})
    ).status_code == 304
