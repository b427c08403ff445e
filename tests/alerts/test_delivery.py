"""Sending for real: an SMTP server, a webhook receiver and an Apprise json:// endpoint on 127.0.0.1."""

from __future__ import annotations

import email.utils
import ssl
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import feedparser
import orjson
import pytest
from sqlalchemy import Engine, select, update

from hemewatch.alerts import (
    Tracker,
    TrackerSpec,
    confirm_tracker,
    create_tracker,
    get_tracker,
    render_tracker_feed,
    send_confirmation_mail,
    send_due,
    unsubscribe_tracker,
    update_tracker,
)
from hemewatch.alerts.signing import verify
from hemewatch.settings import Settings
from hemewatch.storage.tables import deliveries, trials
from tests.alerts.servers import HttpReceiver, SmtpServer
from tests.alerts.world import CREATED, NOW, add_tracker, make_event, seed_trials, store_and_enqueue

EVIL = "<script>alert('x')</script> CAR-T for relapsed AML"
MakeSettings = Callable[..., Settings]


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def setup(engine: Engine, **tracker_fields: object) -> tuple[Tracker, list[str]]:
    with engine.begin() as conn:
        nct_ids = seed_trials(conn)
        conn.execute(update(trials).where(trials.c.nct_id == nct_ids[0]).values(brief_title=EVIL))
        tracker = add_tracker(conn, "Leukemia watch", **tracker_fields)
        store_and_enqueue(
            conn, [make_event(nct_ids[0]), make_event(nct_ids[1], summary="Enrollment reached 80")]
        )
    return tracker, nct_ids


def statuses(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(deliveries.c.status).order_by(deliveries.c.id)).scalars())


def test_a_digest_arrives_by_mail_and_its_unsubscribe_link_works(
    engine: Engine, smtp_server: SmtpServer, make_settings: MakeSettings
) -> None:
    tracker, nct_ids = setup(engine)
    settings = make_settings(smtp_url=smtp_server.url)
    report = send_due(engine, settings, clock=Clock(NOW + timedelta(minutes=1)))
    assert (report.sent, report.failed, report.errors) == (1, 0, [])
    [message] = smtp_server.messages
    assert smtp_server.envelopes == [("alerts@hemewatch.example.org", ["leukemia-watch@example.org"])]
    assert message["Subject"] == "[hemewatch] Leukemia watch: 2 trials changed (21 November 2026)"
    assert message["Message-ID"] == f"<hw-{tracker.uid}-2026-11-21@hemewatch.example.org>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert EVIL in text
    for nct_id in nct_ids[:2]:
        assert f"https://clinicaltrials.gov/study/{nct_id}" in text
        assert f"https://hemewatch.example.org/trials/{nct_id}" in html
    assert "Enrollment reached 80" in text and "AML" in text and "CD33" in text
    assert statuses(engine) == ["sent"]
    # The one-click unsubscribe link in the header is what the web app passes on.
    link = message["List-Unsubscribe"].strip().strip("<>")
    token = link.rsplit("/", 1)[1]
    assert link == f"https://hemewatch.example.org/trackers/unsubscribe/{token}"
    with engine.begin() as conn:
        stopped = unsubscribe_tracker(conn, token)
    assert stopped is not None and stopped.id == tracker.id and stopped.status == "unsubscribed"
    # Nothing is due any more: a second run sends nothing.
    assert send_due(engine, settings, clock=Clock(NOW + timedelta(hours=1))).sent == 0
    assert len(smtp_server.messages) == 1


def test_a_refusing_mail_server_means_a_retry_later_not_a_loss(
    engine: Engine, smtp_server: SmtpServer, make_settings: MakeSettings
) -> None:
    setup(engine)
    settings = make_settings(smtp_url=smtp_server.url, delivery_backoff_seconds=60)
    clock = Clock(NOW + timedelta(minutes=1))
    smtp_server.refuse = "451 4.3.0 Mailbox busy, try again later"
    report = send_due(engine, settings, clock=clock)
    assert (report.sent, report.retrying) == (0, 1)
    assert "refused the message: 451 4.3.0 Mailbox busy" in report.errors[0]
    assert "delivery 1 (email to leukemia-watch@example.org, attempt 1)" in report.errors[0]
    assert statuses(engine) == ["pending"]
    smtp_server.refuse = None
    clock.now += timedelta(seconds=59)
    assert send_due(engine, settings, clock=clock).sent == 0  # backing off
    clock.now += timedelta(seconds=2)
    assert send_due(engine, settings, clock=clock).sent == 1
    assert len(smtp_server.messages) == 1 and statuses(engine) == ["sent"]


def test_an_unreachable_mail_server_gives_up_after_the_last_attempt(
    engine: Engine, make_settings: MakeSettings
) -> None:
    setup(engine)
    settings = make_settings(
        smtp_url="smtp://127.0.0.1:9", delivery_max_attempts=2, delivery_backoff_seconds=1
    )
    clock = Clock(NOW)
    first = send_due(engine, settings, clock=clock)
    assert first.retrying == 1 and "cannot send mail through 127.0.0.1:9" in first.errors[0]
    clock.now += timedelta(seconds=2)
    second = send_due(engine, settings, clock=clock)
    assert second.dead == 1 and second.errors[0].endswith("gave up")
    assert statuses(engine) == ["dead"]


def test_smtp_login(engine: Engine, make_settings: MakeSettings) -> None:
    setup(engine)
    with SmtpServer(credentials=("hemewatch", "p@ss word")) as server:
        url = f"smtp://hemewatch:p%40ss%20word@127.0.0.1:{server.port}"
        assert send_due(engine, make_settings(smtp_url=url), clock=Clock(NOW)).sent == 1
        assert len(server.messages) == 1


def test_without_smtp_settings_mail_waits(engine: Engine, make_settings: MakeSettings) -> None:
    setup(engine)
    report = send_due(engine, make_settings(), clock=Clock(NOW))
    assert (report.sent, report.failed, report.waiting_for_smtp) == (0, 0, 1)
    assert statuses(engine) == ["pending"]


def test_a_signed_webhook_is_retried_with_the_same_delivery_id(
    engine: Engine, receiver: HttpReceiver, make_settings: MakeSettings
) -> None:
    tracker, nct_ids = setup(engine, email_enabled=False, webhook_url=receiver.url("/hooks/hemewatch?x=1"))
    receiver.statuses = [503]
    clock = Clock(NOW + timedelta(minutes=1))
    settings = make_settings(delivery_backoff_seconds=30)
    first = send_due(engine, settings, clock=clock)
    assert first.retrying == 1 and "answered HTTP 503" in first.errors[0]
    assert "/hooks" not in first.errors[0]  # the path of a webhook may hold a secret
    clock.now += timedelta(seconds=31)
    assert send_due(engine, settings, clock=clock).sent == 1
    assert [r.path for r in receiver.requests] == ["/hooks/hemewatch?x=1"] * 2
    key = f"hw-{tracker.uid}-2026-11-21"
    for request in receiver.requests:
        assert request.headers["x-hemewatch-delivery"] == key
        assert request.headers["idempotency-key"] == key
        assert request.headers["host"] == f"127.0.0.1:{receiver.port}"
        timestamp = request.headers["x-hemewatch-timestamp"]
        assert verify(
            tracker.webhook_secret,
            timestamp,
            request.body,
            request.headers["x-hemewatch-signature"],
            now=int(clock.now.timestamp()),
        )
        assert not verify(
            "another secret",
            timestamp,
            request.body,
            request.headers["x-hemewatch-signature"],
            now=int(clock.now.timestamp()),
        )
    document = orjson.loads(receiver.requests[-1].body)
    assert document["delivery_id"] == key
    assert {e["nct_id"] for e in document["events"]} == set(nct_ids[:2])
    assert any(e["title"] == EVIL for e in document["events"])


def test_webhooks_to_private_addresses_are_refused(
    engine: Engine, receiver: HttpReceiver, make_settings: MakeSettings
) -> None:
    setup(engine, email_enabled=False, webhook_url=receiver.url())
    report = send_due(engine, make_settings(webhook_allow_private=False), clock=Clock(NOW))
    assert report.retrying == 1
    assert "refused to deliver to 127.0.0.1 (127.0.0.1): it is a loopback address" in report.errors[0]
    assert receiver.requests == []


def test_chat_through_apprise_json(
    engine: Engine, receiver: HttpReceiver, make_settings: MakeSettings
) -> None:
    url = f"json://127.0.0.1:{receiver.port}/chat"
    _, nct_ids = setup(engine, email_enabled=False, apprise_urls=(url,))
    report = send_due(engine, make_settings(), clock=Clock(NOW))
    assert (report.sent, report.errors) == (1, [])
    [request] = receiver.requests
    assert request.path == "/chat"
    payload = orjson.loads(request.body)
    assert payload["title"] == "hemewatch · Leukemia watch: 2 trials changed (21 November 2026)"
    assert f"**[{nct_ids[0]}](https://hemewatch.example.org/trials/{nct_ids[0]})**" in payload["message"]
    assert r"\<script\>" in payload["message"]
    # Refused when the address is private and the setting does not allow it.
    with engine.begin() as conn:
        store_and_enqueue(conn, [make_event(nct_ids[2], detected_at=NOW + timedelta(days=1))])
    refused = send_due(
        engine, make_settings(webhook_allow_private=False), clock=Clock(NOW + timedelta(days=1))
    )
    assert refused.retrying == 1 and "loopback" in refused.errors[0] and len(receiver.requests) == 1


def test_a_failing_apprise_service_gives_its_reason(
    engine: Engine, receiver: HttpReceiver, make_settings: MakeSettings
) -> None:
    setup(engine, email_enabled=False, apprise_urls=(f"json://127.0.0.1:{receiver.port}/chat",))
    receiver.statuses = [500]
    report = send_due(engine, make_settings(), clock=Clock(NOW))
    assert report.retrying == 1
    assert report.errors[0].startswith(
        "delivery 1 (apprise to json://…, attempt 1): json notification failed:"
    )


def test_a_delivery_whose_target_was_removed_is_cancelled(
    engine: Engine, receiver: HttpReceiver, make_settings: MakeSettings
) -> None:
    tracker, _ = setup(engine, email_enabled=False, webhook_url=receiver.url())
    with engine.begin() as conn:
        update_tracker(
            conn, tracker.id, TrackerSpec(name=tracker.name, email=tracker.email, email_enabled=False)
        )
    report = send_due(engine, make_settings(), clock=Clock(NOW))
    assert report.cancelled == 1 and receiver.requests == []
    assert statuses(engine) == ["cancelled"]


def test_confirmation_mail_opt_in(
    engine: Engine, smtp_server: SmtpServer, make_settings: MakeSettings
) -> None:
    with engine.begin() as conn:
        tracker = create_tracker(
            conn, TrackerSpec(name="From the web", email="new@example.org"), now=CREATED, confirmed=False
        )
    send_confirmation_mail(tracker, settings=make_settings(smtp_url=smtp_server.url))
    [message] = smtp_server.messages
    text = message.get_body(("plain",)).get_content()
    confirm = next(w for w in text.split() if "/trackers/confirm/" in w)
    manage = next(w for w in text.split() if "/trackers/manage/" in w)
    assert manage == f"https://hemewatch.example.org/trackers/manage/{tracker.manage_token}"
    assert email.utils.parseaddr(message["To"])[1] == "new@example.org"
    with engine.begin() as conn:
        confirmed = confirm_tracker(conn, confirm.rsplit("/", 1)[1])
        assert confirmed is not None and confirmed.active
        loaded = get_tracker(conn, tracker.id)
    assert loaded is not None and loaded.active


def test_the_feed_lists_the_tracker_changes(engine: Engine, make_settings: MakeSettings) -> None:
    tracker, nct_ids = setup(engine, email_enabled=False)
    with engine.connect() as conn:
        atom = render_tracker_feed(conn, tracker, settings=make_settings())
    feed = feedparser.parse(atom)
    assert not feed.bozo and len(feed.entries) == 2
    assert {e.link for e in feed.entries} == {
        f"https://hemewatch.example.org/trials/{n}" for n in nct_ids[:2]
    }
    assert all("&lt;script&gt;" not in e.title for e in feed.entries)
    evil = next(e for e in feed.entries if e.link.endswith(nct_ids[0]))
    assert "<script>" not in evil.content[0].value


# One SMTP connection for a run: each delivery keeps its own outcome.


def several_trackers(engine: Engine, count: int) -> list[Tracker]:
    """`count` trackers following every trial, each with its own address, and a day with two changes."""
    with engine.begin() as conn:
        nct_ids = seed_trials(conn)
        found = [add_tracker(conn, f"Watch {n}") for n in range(count)]
        store_and_enqueue(
            conn, [make_event(nct_ids[0]), make_event(nct_ids[1], summary="Enrollment reached 80")]
        )
    return found


def attempts(engine: Engine) -> list[tuple[str, str, int, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(deliveries.c.target, deliveries.c.status, deliveries.c.attempts, deliveries.c.last_error)
            .where(deliveries.c.channel == "email")
            .order_by(deliveries.c.target)
        )
        return [(row.target, row.status, row.attempts, row.last_error) for row in rows]


def test_a_run_sends_every_mail_over_one_connection(
    engine: Engine, smtp_server: SmtpServer, make_settings: MakeSettings
) -> None:
    several_trackers(engine, 7)
    settings = make_settings(smtp_url=smtp_server.url)
    report = send_due(engine, settings, clock=Clock(NOW + timedelta(minutes=1)), batch=3)  # three batches
    assert (report.sent, report.failed) == (7, 0)
    assert smtp_server.connections == 1
    assert sorted(rcpt for _, [rcpt] in smtp_server.envelopes) == sorted(
        f"watch-{n}@example.org" for n in range(7)
    )
    assert all(status == "sent" and tries == 1 for _, status, tries, _ in attempts(engine))
    # Non-ASCII bodies go as base64 and read back intact.
    message = smtp_server.messages[0]
    assert {part["Content-Transfer-Encoding"] for part in message.iter_parts()} == {"base64"}
    assert "Enrollment reached 80" in message.get_body(("plain",)).get_content()


def test_a_dropped_connection_is_opened_again_and_no_mail_is_lost_or_doubled(
    engine: Engine, smtp_server: SmtpServer, make_settings: MakeSettings
) -> None:
    several_trackers(engine, 5)
    smtp_server.drop_after = 2  # the server hangs up after every second message

    class Slow(Clock):
        def __call__(self) -> datetime:
            time.sleep(0.02)  # leave the server time to hang up between two mails
            return self.now

    report = send_due(engine, make_settings(smtp_url=smtp_server.url), clock=Slow(NOW + timedelta(minutes=1)))
    assert (report.sent, report.failed, report.errors) == (5, 0, [])
    assert smtp_server.connections == 3
    assert len(smtp_server.messages) == 5
    assert len({m["Message-ID"] for m in smtp_server.messages}) == 5
    assert all(status == "sent" and tries == 1 for _, status, tries, _ in attempts(engine))


def test_a_refused_recipient_fails_only_its_own_delivery(
    engine: Engine, smtp_server: SmtpServer, make_settings: MakeSettings
) -> None:
    several_trackers(engine, 3)
    smtp_server.refuse_recipients = {"watch-1@example.org"}
    settings = make_settings(smtp_url=smtp_server.url, delivery_backoff_seconds=60)
    clock = Clock(NOW + timedelta(minutes=1))
    report = send_due(engine, settings, clock=clock)
    assert (report.sent, report.retrying, report.dead) == (2, 1, 0)
    assert "watch-1@example.org: 550 5.1.1 No such user" in report.errors[0]
    assert smtp_server.connections == 1  # the refusal did not cost the connection
    assert [(target, status, tries) for target, status, tries, _ in attempts(engine)] == [
        ("watch-0@example.org", "sent", 1),
        ("watch-1@example.org", "pending", 1),
        ("watch-2@example.org", "sent", 1),
    ]
    assert "refused the recipient" in (attempts(engine)[1][3] or "")
    smtp_server.refuse_recipients = set()
    clock.now += timedelta(seconds=61)
    again = send_due(engine, settings, clock=clock)
    assert (again.sent, again.failed) == (1, 0)
    assert attempts(engine)[1][1:3] == ("sent", 2)
    assert sorted(rcpt for _, [rcpt] in smtp_server.envelopes) == [
        "watch-0@example.org",
        "watch-1@example.org",
        "watch-2@example.org",
    ]


def test_refused_messages_each_count_an_attempt_and_back_off_as_before(
    engine: Engine, smtp_server: SmtpServer, make_settings: MakeSettings
) -> None:
    several_trackers(engine, 3)
    smtp_server.refuse = "451 4.3.0 Mailbox busy, try again later"
    settings = make_settings(smtp_url=smtp_server.url, delivery_max_attempts=2, delivery_backoff_seconds=10)
    clock = Clock(NOW + timedelta(minutes=1))
    first = send_due(engine, settings, clock=clock)
    assert (first.sent, first.retrying, first.dead) == (0, 3, 0)
    assert smtp_server.connections == 1
    assert [(status, tries) for _, status, tries, _ in attempts(engine)] == [("pending", 1)] * 3
    clock.now += timedelta(seconds=9)
    assert send_due(engine, settings, clock=clock).failed == 0  # backing off
    clock.now += timedelta(seconds=2)
    second = send_due(engine, settings, clock=clock)
    assert second.dead == 3 and all(error.endswith("gave up") for error in second.errors)
    assert [(status, tries) for _, status, tries, _ in attempts(engine)] == [("dead", 2)] * 3


def test_plain_smtp_builds_no_ssl_context(
    engine: Engine, smtp_server: SmtpServer, make_settings: MakeSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    several_trackers(engine, 2)
    built: list[ssl.SSLContext] = []
    original = ssl.create_default_context

    def counting(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        built.append(original(*args, **kwargs))
        return built[-1]

    monkeypatch.setattr(ssl, "create_default_context", counting)
    assert send_due(engine, make_settings(smtp_url=smtp_server.url), clock=Clock(NOW)).sent == 2
    assert built == []
