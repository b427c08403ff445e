"""Unguessable tokens for links (confirm, manage, unsubscribe, feed) and their stored hashes."""

from __future__ import annotations

import hashlib
import secrets


def new_token() -> str:
    """A fresh 256-bit URL-safe token."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The SHA-256 of a token, hex: what lookups compare, so timing never depends on the secret."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_uid() -> str:
    """A short random id, unique per tracker, that keeps idempotency keys unique across installs."""
    return secrets.token_hex(8)
