"""Webhook signatures, in two forms sent side by side.

- hemewatch's own: `X-Hemewatch-Signature: sha256=<hex HMAC-SHA256 of "{timestamp}.{body}">`.
- Standard Webhooks (https://www.standardwebhooks.com/): `webhook-id`, `webhook-timestamp` and
  `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`.

Both use the tracker's secret as given: the key is the secret's UTF-8 bytes. hemewatch's secrets
are random URL-safe text, never `whsec_`-prefixed base64; Standard Webhooks libraries handed a
string assume that form and base64-decode it, so give them `standard_secret(secret)` (the same
key, written `whsec_` + base64) or the secret's bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

SIGNATURE_HEADER = "X-Hemewatch-Signature"
TIMESTAMP_HEADER = "X-Hemewatch-Timestamp"
DELIVERY_HEADER = "X-Hemewatch-Delivery"
WEBHOOK_ID_HEADER = "webhook-id"
WEBHOOK_TIMESTAMP_HEADER = "webhook-timestamp"
WEBHOOK_SIGNATURE_HEADER = "webhook-signature"
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


def sign_standard(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The Standard Webhooks signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">."""
    mac = hmac.new(secret.encode("utf-8"), f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode("ascii")


def standard_headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers of one attempt."""
    return {
        WEBHOOK_ID_HEADER: message_id,
        WEBHOOK_TIMESTAMP_HEADER: str(timestamp),
        WEBHOOK_SIGNATURE_HEADER: sign_standard(secret, message_id, timestamp, body),
    }


def standard_secret(secret: str) -> str:
    """The secret as Standard Webhooks libraries take it: `whsec_` + base64 of its UTF-8 bytes."""
    return "whsec_" + base64.b64encode(secret.encode("utf-8")).decode("ascii")
