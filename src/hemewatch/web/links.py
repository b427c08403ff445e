"""Absolute links built on the configured public address, never on the request's Host header.

A Host header is whatever the client sent: links and redirects built from it could point readers of
an API page or a redirect at another site.
"""

from __future__ import annotations

from starlette.datastructures import URL


def public_link(public_url: str, path: str, query: str = "") -> str:
    """The public address of a path (with its query string, without the '?')."""
    return public_url.rstrip("/") + "/" + path.lstrip("/") + (f"?{query}" if query else "")


def public_url_of(public_url: str, url: URL) -> str:
    """The public address of a URL of this app (e.g. the request's own, with parameters changed)."""
    return public_link(public_url, url.path, url.query)
