"""Webhooks carry Standard Webhooks headers beside X-Hemewatch-*, checked by an independent verifier."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from hemewatch.alerts import send_due
from hemewatch.alerts.channels.webhook import post_webhook
from hemewatch.alerts.signing import sign_standard, standard_secret, verify
from hemewatch.settings import Settings
from tests.alerts.servers import HttpReceiver
from tests.alerts.world import add_tracker, make_event, seed_trials, store_and_enqueue

SECRET = "Zm9v-not-base64_at-all~secret"


def _post(receiver: HttpReceiver, body: bytes, *, secret: str = SECRET, now: datetime | None = None) -> None:
    post_webhook(
        receiver.url(),
        body,
        secret=secret,
        delivery_id="hw-0123456789abcdef-2026-11-21",
        allow_private=True,
        timeout=5.0,
        now=now or datetime.now(UTC),
    )


def test_the_standard_headers_verify_with_the_reference_library(receiver: HttpReceiver) -> None:
    body = b'{"events":[{"title":"CD19 \xe2\x80\x94 CAR-T"}]}'
    _post(receiver, body)
    [request] = receiver.requests
    headers = request.headers
    assert headers["webhook-id"] == "hw-0123456789abcdef-2026-11-21"
    assert headers["webhook-timestamp"] == headers["x-hemewatch-timestamp"]
    assert headers["webhook-signature"].startswith("v1,")
    # The key is the secret's bytes as given; libraries take it as bytes or in its whsec_ form.
    assert Webhook(SECRET.encode()).verify(request.body, headers) == {"events": [{"title": "CD19 — CAR-T"}]}
    assert Webhook(standard_secret(SECRET)).verify(request.body, headers) is not None
    # The older headers are still there and still verify.
    assert verify(
        SECRET,
        headers["x-hemewatch-timestamp"],
        request.body,
        headers["x-hemewatch-signature"],
        now=int(datetime.now(UTC).timestamp()),
    )


def test_the_signature_follows_the_specification_byte_for_byte(receiver: HttpReceiver) -> None:
    body = b'{"a":1}'
    _post(receiver, body)
    headers = receiver.requests[0].headers
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(SECRET.encode(), signed, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{expected}"


def test_a_tampered_body_a_wrong_secret_or_a_stale_timestamp_fail(receiver: HttpReceiver) -> None:
    _post(receiver, b'{"a":1}')
    _post(receiver, b'{"a":1}', now=datetime.now(UTC) - timedelta(minutes=10))
    fresh, stale = receiver.requests
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET.encode()).verify(b'{"a":2}', fresh.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(b"another secret").verify(fresh.body, fresh.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET.encode()).verify(stale.body, stale.headers)


def test_a_whsec_looking_secret_is_still_used_as_given() -> None:
    secret = "whsec_" + base64.b64encode(b"raw key").decode()
    signature = sign_standard(secret, "msg_1", 1_700_000_000, b"{}")
    as_text = hmac.new(secret.encode(), b"msg_1.1700000000.{}", hashlib.sha256).digest()
    assert signature == "v1," + base64.b64encode(as_text).decode()


def test_a_queued_delivery_carries_the_standard_headers_on_every_attempt(
    engine: Engine, receiver: HttpReceiver, make_settings: Callable[..., Settings]
) -> None:
    with engine.begin() as conn:
        nct_ids = seed_trials(conn)
        tracker = add_tracker(conn, "Leukemia watch", email_enabled=False, webhook_url=receiver.url())
        store_and_enqueue(conn, [make_event(nct_ids[0])])
    receiver.statuses = [500]

    class Clock:
        now = datetime.now(UTC)

        def __call__(self) -> datetime:
            return self.now

    clock = Clock()
    settings = make_settings(delivery_backoff_seconds=1)
    assert send_due(engine, settings, clock=clock).retrying == 1
    clock.now += timedelta(seconds=2)
    assert send_due(engine, settings, clock=clock).sent == 1
    first, second = receiver.requests
    # One message, two attempts: the same id, each attempt signed at its own time.
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == f"hw-{tracker.uid}-2026-11-21"
    assert int(second.headers["webhook-timestamp"]) - int(first.headers["webhook-timestamp"]) == 2
    for request in (first, second):
        assert Webhook(standard_secret(tracker.webhook_secret)).verify(request.body, request.headers)
