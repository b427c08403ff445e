"""Opaque page tokens that only work with the query that produced them."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Mapping

# The API lets these differ between pages of one query (spec: "except countTotal, pageSize, and pageToken").
UNBOUND_PARAMS = frozenset({"countTotal", "pageSize", "pageToken"})
# The API's default and largest page sizes.
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 1000


class InvalidPageToken(ValueError):
    """The token was never issued by this server, or was issued for another query."""


def query_binding(params: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """The part of a request a page token is bound to: every parameter the API wants repeated."""
    return tuple(sorted((name, value) for name, value in params.items() if name not in UNBOUND_PARAMS))


class PageTokens:
    """Random tokens remembered by the server, so a client can only pass back what it was given."""

    def __init__(self) -> None:
        self._issued: dict[str, tuple[tuple[tuple[str, str], ...], int]] = {}
        self._lock = threading.Lock()

    def issue(self, params: Mapping[str, str], offset: int) -> str:
        """A token for the page starting at ``offset`` of the query ``params``."""
        # 38 characters, like the registry's 2026 tokens.
        token = secrets.token_urlsafe(28)
        with self._lock:
            self._issued[token] = (query_binding(params), offset)
        return token

    def redeem(self, token: str, params: Mapping[str, str]) -> int:
        """The offset ``token`` stands for, if it was issued for this same query."""
        with self._lock:
            issued = self._issued.get(token)
        if issued is None or issued[0] != query_binding(params):
            raise InvalidPageToken(token)
        return issued[1]

    def offset_of(self, token: str) -> int | None:
        """The offset ``token`` stands for, whatever query it was issued for (None if never issued)."""
        with self._lock:
            issued = self._issued.get(token)
        return None if issued is None else issued[1]


def page_number(params: Mapping[str, str], tokens: PageTokens) -> int | None:
    """Which page of its list a GET /studies request asks for (None for an unknown or bad token)."""
    token = params.get("pageToken")
    if token is None:
        return 1
    offset = tokens.offset_of(token)
    try:
        size = int(params.get("pageSize", DEFAULT_PAGE_SIZE)) or DEFAULT_PAGE_SIZE
    except ValueError:
        return None
    if offset is None or size <= 0:
        return None
    return offset // min(size, MAX_PAGE_SIZE) + 1
