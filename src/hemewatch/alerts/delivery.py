"""`hemewatch alerts send`: claim what is due, render it for its channel, send it, record the outcome.

Each delivery is claimed and read in one short transaction, sent outside any transaction, then
recorded in another. E-mail goes over one SMTP connection per run, opened on first use and
reopened if the server drops it; each delivery's outcome is still its own. A process killed
at any point leaves either an unclaimed delivery or a claim that the next run releases; a
delivery re-sent after such a kill carries the same idempotency key (Message-ID,
X-Hemewatch-Delivery), so receivers can drop the duplicate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from hemewatch.alerts.channels.apprise import notify_apprise, service_name
from hemewatch.alerts.channels.smtp import SmtpSession, parse_smtp_url
from hemewatch.alerts.channels.webhook import post_webhook, shown_url
from hemewatch.alerts.digest import Digest, TrialInfo, build_digest
from hemewatch.alerts.errors import DeliveryFailed
from hemewatch.alerts.notifications import load_notification, load_trial_info
from hemewatch.alerts.queue import (
    LOST,
    Claim,
    cancel_delivery,
    claim_deliveries,
    complete_delivery,
    count_waiting,
    release_orphaned_claims,
    worker_identity,
)
from hemewatch.alerts.renderers.chat import render_chat
from hemewatch.alerts.renderers.mail import message_domain, render_digest_mail
from hemewatch.alerts.renderers.webhook import render_webhook_body
from hemewatch.alerts.trackers import Tracker
from hemewatch.settings import Settings
from hemewatch.storage.events import StoredEvent
from hemewatch.storage.runs import utc_now
from hemewatch.storage.states import ChannelKind, DeliveryStatus

Clock = Callable[[], datetime]
WEBHOOK_TIMEOUT = 15.0
SMTP_TIMEOUT = 30.0


@dataclass
class SendReport:
    """What one run of the sender did."""

    sent: int = 0
    retrying: int = 0
    dead: int = 0
    cancelled: int = 0
    lost: int = 0  # claims taken over by another worker after their lease ran out
    released: int = 0  # claims of stopped workers put back in the queue
    waiting_for_smtp: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def failed(self) -> int:
        """Attempts that failed in this run."""
        return self.retrying + self.dead

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "sent": self.sent,
            "retrying": self.retrying,
            "dead": self.dead,
            "cancelled": self.cancelled,
            "lost": self.lost,
            "released": self.released,
            "waiting_for_smtp": self.waiting_for_smtp,
            "errors": self.errors,
        }


@dataclass(frozen=True)
class _Payload:
    tracker: Tracker
    digest: Digest
    events: list[StoredEvent]


def _prepare(conn: Connection, claim: Claim, settings: Settings) -> _Payload | str:
    """What to send for a claim, or why it should be cancelled instead."""
    loaded = load_notification(conn, claim.notification_id)
    if loaded is None:
        return "the tracker no longer exists"
    tracker, period, key, events = loaded
    if not tracker.active:
        return f"the tracker is {tracker.status}"
    if not _still_a_target(tracker, claim):
        return f"the tracker no longer sends to this {claim.channel} target"
    if not events:
        return "nothing to send"
    trials: dict[str, TrialInfo] = load_trial_info(conn, [s.event.nct_id for s in events])
    digest = build_digest(
        tracker=tracker,
        period=period,
        idempotency_key=key,
        events=events,
        trials=trials,
        public_url=settings.public_url,
    )
    return _Payload(tracker, digest, events)


def _still_a_target(tracker: Tracker, claim: Claim) -> bool:
    spec = tracker.spec
    if claim.channel == ChannelKind.EMAIL:
        return spec.email_enabled and spec.email == claim.target
    if claim.channel == ChannelKind.WEBHOOK:
        return spec.webhook_url == claim.target
    return claim.target in spec.apprise_urls


def _describe(claim: Claim) -> str:
    if claim.channel == ChannelKind.WEBHOOK:
        where = shown_url(claim.target)
    elif claim.channel == ChannelKind.APPRISE:
        where = f"{service_name(claim.target)}://…"
    else:
        where = claim.target
    return f"delivery {claim.delivery_id} ({claim.channel} to {where}, attempt {claim.attempt})"


def _send(
    claim: Claim, payload: _Payload, settings: Settings, smtp: SmtpSession | None, now: datetime
) -> None:
    if claim.channel == ChannelKind.EMAIL:
        if smtp is None:
            raise DeliveryFailed("e-mail is not configured: set HEMEWATCH_SMTP_URL")
        message = render_digest_mail(
            payload.digest,
            sender=settings.mail_from,
            recipient=claim.target,
            now=now,
            max_changes=settings.digest_max_changes,
        )
        smtp.send(message)
    elif claim.channel == ChannelKind.WEBHOOK:
        body = render_webhook_body(payload.digest, payload.events, sent_at=now)
        post_webhook(
            claim.target,
            body,
            secret=payload.tracker.webhook_secret,
            delivery_id=claim.idempotency_key,
            allow_private=settings.webhook_allow_private,
            timeout=WEBHOOK_TIMEOUT,
            now=now,
        )
    else:
        title, text = render_chat(payload.digest)
        notify_apprise(claim.target, title, text, allow_private=settings.webhook_allow_private)


def _attempt(
    claim: Claim, payload: _Payload, settings: Settings, smtp: SmtpSession | None, now: datetime
) -> str | None:
    """Send once; the error message, or None when it was delivered."""
    try:
        _send(claim, payload, settings, smtp, now)
    except DeliveryFailed as exc:
        return exc.message
    except Exception as exc:
        # A rendering or library bug must not stop every other delivery: record it, retry later.
        return f"unexpected error: {exc!r}"
    return None


def send_due(
    engine: Engine,
    settings: Settings,
    *,
    clock: Clock = utc_now,
    limit: int | None = None,
    worker: str | None = None,
    batch: int = 5,
) -> SendReport:
    """Deliver everything due (at most `limit` deliveries), retrying failures later with backoff."""
    server = parse_smtp_url(settings.smtp_url) if settings.smtp_url else None
    channels = [ChannelKind.WEBHOOK, ChannelKind.APPRISE, *([ChannelKind.EMAIL] if server else [])]
    worker = worker or worker_identity()
    report = SendReport()
    with engine.begin() as conn:
        report.released = release_orphaned_claims(
            conn, now=clock(), max_attempts=settings.delivery_max_attempts, worker=worker
        )
    smtp = (
        SmtpSession(server, helo=message_domain(settings.mail_from), timeout=SMTP_TIMEOUT) if server else None
    )
    handled = 0
    try:
        while limit is None or handled < limit:
            size = batch if limit is None else min(batch, limit - handled)
            with engine.begin() as conn:
                claims = claim_deliveries(conn, worker=worker, now=clock(), limit=size, channels=channels)
                prepared = [(claim, _prepare(conn, claim, settings)) for claim in claims]
            if not claims:
                break
            handled += len(claims)
            for claim, payload in prepared:
                _deliver(engine, claim, payload, settings, smtp, clock, worker, report)
    finally:
        if smtp is not None:
            smtp.close()
    if server is None:
        with engine.connect() as conn:
            report.waiting_for_smtp = count_waiting(conn, ChannelKind.EMAIL, now=clock())
    return report


def _deliver(
    engine: Engine,
    claim: Claim,
    payload: _Payload | str,
    settings: Settings,
    smtp: SmtpSession | None,
    clock: Clock,
    worker: str,
    report: SendReport,
) -> None:
    if isinstance(payload, str):
        with engine.begin() as conn:
            cancel_delivery(conn, claim, reason=payload)
        report.cancelled += 1
        return
    error = _attempt(claim, payload, settings, smtp, clock())
    with engine.begin() as conn:
        status = complete_delivery(
            conn,
            claim,
            now=clock(),
            error=error,
            max_attempts=settings.delivery_max_attempts,
            backoff_seconds=settings.delivery_backoff_seconds,
            worker=worker,
        )
    if status == DeliveryStatus.SENT:
        report.sent += 1
    elif status == LOST:
        report.lost += 1
    else:
        if status == DeliveryStatus.DEAD:
            report.dead += 1
        else:
            report.retrying += 1
        report.errors.append(
            f"{_describe(claim)}: {error}" + (" — gave up" if status == DeliveryStatus.DEAD else "")
        )
