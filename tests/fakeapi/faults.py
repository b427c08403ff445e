"""Failures the fake server can be told to produce, the way the real one fails on a bad day."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class FaultKind(Enum):
    """What goes wrong on the wire."""

    STATUS = "status"  # an HTTP error answer (429, 5xx, ...)
    DELAY = "delay"  # nothing for a while, then the normal answer: a timeout for a client that gives up
    TRUNCATED = "truncated"  # Content-Length promises more than is sent, then the connection closes
    INVALID_JSON = "invalid_json"  # HTTP 200 with a complete but cut-in-half JSON body
    DISCONNECT = "disconnect"  # the connection closes before any answer
    NO_NEXT_PAGE_TOKEN = "no_next_page_token"  # a page of /studies ends the list early: no nextPageToken
    WRONG_TOTAL = "wrong_total"  # page 1 of /studies counts more (or fewer) studies than are served
    RESHAPED = "reshaped"  # HTTP 200 with another JSON body: the endpoint changed its shape


@dataclass(frozen=True)
class Fault:
    """One injected failure; ``path`` (as under the base URL, e.g. "/studies") limits it to that path.

    ``page`` limits it further to that page of a GET /studies list (1 for the request without
    a pageToken, n for the token that starts the n-th page).
    """

    kind: FaultKind
    status: int = 503
    retry_after: str | None = None
    seconds: float = 0.0
    path: str | None = None
    page: int | None = None
    miscount: int = 0
    body: bytes = b""

    @classmethod
    def http_error(
        cls, status: int = 503, *, retry_after: str | None = None, path: str | None = None
    ) -> Fault:
        """Answer with ``status`` (and a Retry-After header if given)."""
        return cls(FaultKind.STATUS, status=status, retry_after=retry_after, path=path)

    @classmethod
    def rate_limited(cls, retry_after: str | None = "1", *, path: str | None = None) -> Fault:
        """Answer 429 Too Many Requests; ``retry_after`` is seconds or an HTTP-date, None for no header."""
        return cls(FaultKind.STATUS, status=429, retry_after=retry_after, path=path)

    @classmethod
    def delay(cls, seconds: float, *, path: str | None = None) -> Fault:
        """Say nothing for ``seconds`` (cut short when the server stops), then answer normally."""
        return cls(FaultKind.DELAY, seconds=seconds, path=path)

    @classmethod
    def timeout(cls, *, path: str | None = None) -> Fault:
        """Say nothing for longer than any test client waits."""
        return cls.delay(60.0, path=path)

    @classmethod
    def truncated(cls, *, path: str | None = None) -> Fault:
        """Send half the body under a Content-Length for all of it, then close the connection."""
        return cls(FaultKind.TRUNCATED, path=path)

    @classmethod
    def invalid_json(cls, *, path: str | None = None) -> Fault:
        """Send HTTP 200 with half of the JSON body as if it were all of it."""
        return cls(FaultKind.INVALID_JSON, path=path)

    @classmethod
    def disconnect(cls, *, path: str | None = None) -> Fault:
        """Close the connection without answering."""
        return cls(FaultKind.DISCONNECT, path=path)

    @classmethod
    def no_next_page_token(cls, *, page: int | None = None) -> Fault:
        """Answer page ``page`` of GET /studies (the next page asked for, if None) without nextPageToken."""
        return cls(FaultKind.NO_NEXT_PAGE_TOKEN, path="/studies", page=page)

    @classmethod
    def wrong_total(cls, miscount: int) -> Fault:
        """Make page 1 of GET /studies report ``miscount`` more studies in totalCount than it serves."""
        return cls(FaultKind.WRONG_TOTAL, path="/studies", page=1, miscount=miscount)

    @classmethod
    def reshaped(cls, body: bytes, *, path: str | None = None) -> Fault:
        """Answer HTTP 200 with ``body`` (JSON) instead of the normal answer: a changed endpoint."""
        return cls(FaultKind.RESHAPED, path=path, body=body)

    def applies_to(self, api_path: str, page: int | None = None) -> bool:
        """Whether this fault is for a request to ``api_path`` (under the base URL) asking for ``page``."""
        if self.path is not None and self.path.rstrip("/") != api_path.rstrip("/"):
            return False
        return self.page is None or self.page == page
