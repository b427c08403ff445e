"""Conditional GET: ETag and Last-Modified on answers, 304 Not Modified when the client has them.

Routes that know their validators before doing the work (the feeds) answer 304 themselves with
`is_fresh` and `not_modified`. For every other GET, `ConditionalGetMiddleware` (pure ASGI, so
streamed answers keep streaming) buffers a complete 200 answer, tags it with a hash of its body
and answers 304 instead when that hash is what the client sent in If-None-Match. It leaves alone:
other methods; answers that stream (no Content-Length), downloads (Content-Disposition:
attachment), answers that must not be stored (Cache-Control: no-store, which every page with a
form token has) and answers with an ETag of their own (the feeds, /static files).

Answers that are a function of the mirrored data alone (the data API, disease pages and the
landscape) also get a Last-Modified: the time this server first saw the current data stamp, so
If-Modified-Since works for them too. Cache-Control is never changed here.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Final

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hemewatch.storage.runs import data_stamp

# Larger answers are sent as they are: the only ones are exports, which are downloads anyway.
MAX_BUFFERED_BYTES: Final = 8 << 20
# Paths whose answers depend only on the mirrored data (and the app's version and settings).
DATA_PATHS: Final = ("/api/v1/trials", "/api/v1/changes", "/api/v1/facets", "/diseases/", "/landscape")
# Headers a 304 keeps (RFC 9110 §15.4.5), besides those the outer middleware adds.
_NOT_MODIFIED_DROPS: Final = frozenset(
    {b"content-length", b"content-type", b"content-encoding", b"transfer-encoding"}
)


def http_date(when: datetime) -> str:
    """An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), to the second."""
    return format_datetime(when.astimezone(UTC).replace(microsecond=0), usegmt=True)


def _parse_date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _opaque(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


def etag_matches(if_none_match: str, etag: str) -> bool:
    """If-None-Match's weak comparison: `*`, or any listed tag equal to ours (W/ ignored)."""
    if if_none_match.strip() == "*":
        return True
    ours = _opaque(etag)
    return any(_opaque(candidate) == ours for candidate in if_none_match.split(","))


def is_fresh(headers: Headers, *, etag: str | None, last_modified: datetime | None) -> bool:
    """True when the client's copy is current (RFC 9110 §13.2.2: If-None-Match, else If-Modified-Since)."""
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        return etag is not None and etag_matches(if_none_match, etag)
    if_modified_since = headers.get("if-modified-since")
    if if_modified_since is None or last_modified is None:
        return False
    since = _parse_date(if_modified_since)
    return since is not None and last_modified.astimezone(UTC).replace(microsecond=0) <= since


def validator_headers(*, etag: str | None, last_modified: datetime | None) -> dict[str, str]:
    """The ETag and Last-Modified headers of an answer."""
    headers = {}
    if etag is not None:
        headers["etag"] = etag
    if last_modified is not None:
        headers["last-modified"] = http_date(last_modified)
    return headers


def not_modified(headers: dict[str, str]) -> Response:
    """A 304 answer carrying these headers (validators, Cache-Control), without a body."""
    response = Response(status_code=304, headers=headers)
    del response.headers["content-length"]
    return response


def body_etag(body: bytes) -> str:
    """A strong ETag from the body's bytes."""
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


class StampClock:
    """When this server first saw each data stamp: the Last-Modified of answers made from it.

    Never earlier than the data it stands for, so If-Modified-Since cannot hide a change; a new
    stamp always gets a later second than the one before it.
    """

    def __init__(self, keep: int = 64) -> None:
        self._seen: OrderedDict[Hashable, datetime] = OrderedDict()
        self._latest = datetime.min.replace(tzinfo=UTC)
        self._lock = threading.Lock()
        self._keep = keep

    def first_seen(self, stamp: Hashable) -> datetime:
        """The time this stamp was first seen, to the second (rounded up)."""
        with self._lock:
            known = self._seen.get(stamp)
            if known is not None:
                return known
            now = datetime.fromtimestamp(int(time.time()) + 1, UTC)
            if now <= self._latest:
                now = datetime.fromtimestamp(int(self._latest.timestamp()) + 1, UTC)
            self._seen[stamp] = self._latest = now
            while len(self._seen) > self._keep:
                self._seen.popitem(last=False)
            return now


def _eligible(message: Message) -> bool:
    if message["status"] != 200:
        return False
    headers = Headers(raw=message.get("headers", []))
    length = headers.get("content-length")
    if length is None or not length.isdigit() or int(length) > MAX_BUFFERED_BYTES:
        return False
    if "etag" in headers or "no-store" in headers.get("cache-control", "").lower():
        return False
    return not headers.get("content-disposition", "").lower().startswith("attachment")


class ConditionalGetMiddleware:
    """ETag (and Last-Modified on data answers) on complete GET 200 answers; 304 when they match."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.clock = StampClock()

    def _data_modified(self, scope: Scope) -> datetime | None:
        state = getattr(scope["app"].state, "web", None) if "app" in scope else None
        if state is None:
            return None
        with state.engine.connect() as conn:
            return self.clock.first_seen(data_stamp(conn))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        request_headers = Headers(scope=scope)
        last_modified: datetime | None = None
        if scope["path"].startswith(DATA_PATHS):
            # Read before the answer is made: data stored meanwhile only make the stamp look older.
            try:
                last_modified = await run_in_threadpool(self._data_modified, scope)
            except Exception:  # the route reports an unavailable database in its own words
                last_modified = None
        start: Message | None = None
        chunks: list[bytes] = []

        async def buffered_send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                if _eligible(message):
                    start = message
                    return
                await send(message)
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            headers = MutableHeaders(raw=list(start.get("headers", [])))
            etag = body_etag(body)
            for name, value in validator_headers(etag=etag, last_modified=last_modified).items():
                headers[name] = value
            if is_fresh(request_headers, etag=etag, last_modified=last_modified):
                raw = [
                    (name, value) for name, value in headers.raw if name.lower() not in _NOT_MODIFIED_DROPS
                ]
                await send({"type": "http.response.start", "status": 304, "headers": raw})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            await send({**start, "headers": headers.raw})
            await send({"type": "http.response.body", "body": body, "more_body": False})

        await self.app(scope, receive, buffered_send)
