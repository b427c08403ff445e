"""Webhook signatures: HMAC-SHA256 over "{timestamp}.{body}" with the tracker's secret."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Hemewatch-Signature"
TIMESTAMP_HEADER = "X-Hemewatch-Timestamp"
DELIVERY_HEADER = "X-Hemewatch-Delivery"
# Receivers should refuse a timestamp further than this from their clock (replays).
TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value: sha256=<hex HMAC of "{timestamp}.{body}">."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify(secret: str, timestamp: str, body: bytes, signature: str, *, now: int) -> bool:
    """What a receiver checks: a fresh timestamp and a matching signature (compared in constant time)."""
    if not timestamp.isdigit() or abs(now - int(timestamp)) > TOLERANCE_SECONDS:
        return False
    return hmac.compare_digest(sign(secret, int(timestamp), body), signature)
