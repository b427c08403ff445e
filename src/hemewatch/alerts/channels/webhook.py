"""POST a signed JSON body to a webhook, to the very address the network guard checked.

Each attempt is signed twice (alerts/signing.py): X-Hemewatch-* headers and Standard Webhooks headers.
"""

from __future__ import annotations

from datetime import datetime

import httpx

from hemewatch.alerts.errors import DeliveryFailed
from hemewatch.alerts.netguard import checked_addresses
from hemewatch.alerts.signing import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign,
    standard_headers,
)
from hemewatch.settings import USER_AGENT


def shown_url(url: str) -> str:
    """A webhook URL without its path and query, which often hold a secret."""
    parsed = httpx.URL(url)
    return f"{parsed.scheme}://{parsed.netloc.decode('ascii', 'replace')}/…"


def post_webhook(
    url: str,
    body: bytes,
    *,
    secret: str,
    delivery_id: str,
    allow_private: bool,
    timeout: float,
    now: datetime,
) -> None:
    """Send one delivery; DeliveryFailed (retried later) unless the receiver answers 2xx."""
    try:
        target = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise DeliveryFailed(f"invalid webhook URL: {exc}") from exc
    port = target.port or (443 if target.scheme == "https" else 80)
    address = checked_addresses(target.host, port, allow_private=allow_private)[0]
    timestamp = int(now.timestamp())
    headers = {
        "Host": target.netloc.decode("ascii"),
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
        DELIVERY_HEADER: delivery_id,
        "Idempotency-Key": delivery_id,
        # Standard Webhooks: the id is the delivery's, the same on every attempt.
        **standard_headers(secret, delivery_id, timestamp, body),
    }
    # Certificates are still checked against the host name (SNI), not the pinned address.
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    try:
        # trust_env off: a proxy from the environment would resolve the name again.
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            response = client.post(
                target.copy_with(host=str(address)), content=body, headers=headers, extensions=extensions
            )
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"webhook {shown_url(url)} could not be reached: {exc}") from exc
    if not 200 <= response.status_code < 300:
        detail = " ".join(response.text.split())[:200]
        raise DeliveryFailed(f"webhook {shown_url(url)} answered HTTP {response.status_code}: {detail}")
