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


@dataclass(frozen=True)
class Fault:
    """One injected failure; ``path`` (as under the base URL, e.g. "/studies") limits it to that path."""

    kind: FaultKind
    status: int = 503
    retry_after: str | None = None
    seconds: float = 0.0
    path: str | None = None

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

    def applies_to(self, api_path: str) -> bool:
        """Whether this fault is for a request to ``api_path`` (relative to the base URL)."""
        return self.path is None or self.path.rstrip("/") == api_path.rstrip("/")
