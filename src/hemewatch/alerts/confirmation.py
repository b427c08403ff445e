"""Double opt-in: the mail that asks the owner of a web-created tracker to confirm it.

When the form asks for a tracker that the address already has, the answer on the page is the same
("check your mail") and the owner gets a notice instead, so the form never tells a visitor who
follows what.
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

from hemewatch.alerts.channels.smtp import parse_smtp_url, send_mail
from hemewatch.alerts.errors import InvalidTracker, MailNotConfigured
from hemewatch.alerts.renderers.mail import message_domain, message_id, render_confirmation_mail
from hemewatch.alerts.trackers import Tracker
from hemewatch.settings import Settings
from hemewatch.storage.runs import utc_now
from hemewatch.storage.states import TrackerStatus


def send_confirmation_mail(tracker: Tracker, *, settings: Settings) -> None:
    """Send the confirm and manage links of a tracker just returned by create_tracker or update_tracker.

    Raises MailNotConfigured without HEMEWATCH_SMTP_URL, DeliveryFailed when the server refuses.
    """
    if not settings.smtp_url:
        raise MailNotConfigured()
    if tracker.confirm_token is None:
        raise InvalidTracker("This tracker has no confirmation pending (it is confirmed already).")
    if tracker.manage_token is None:
        raise InvalidTracker("The manage link is only known right after the tracker was created.")
    message = render_confirmation_mail(
        tracker,
        sender=settings.mail_from,
        public_url=settings.public_url,
        confirm_token=tracker.confirm_token,
        manage_token=tracker.manage_token,
        now=utc_now(),
    )
    send_mail(parse_smtp_url(settings.smtp_url), message, helo=message_domain(settings.mail_from))


def render_existing_tracker_notice(
    tracker: Tracker, *, sender: str, public_url: str, now: datetime
) -> EmailMessage:
    """The mail telling an owner that the form was asked for a tracker they already have."""
    state = {
        TrackerStatus.ACTIVE: "It is active.",
        TrackerStatus.UNCONFIRMED: "It is waiting for you to confirm it with the link of the first mail.",
        TrackerStatus.UNSUBSCRIBED: "It is unsubscribed: nothing is sent for it.",
    }[tracker.status]
    body = (
        f"Someone (perhaps you) asked {public_url} for a tracker named “{tracker.name}” for this address.\n\n"
        f"This address already has a tracker of that name, created {tracker.created_at:%Y-%m-%d}. {state}\n"
        "Change or delete it with the manage link of the mail you received when it was created; "
        "to create another tracker, choose another name.\n\n"
        "If you did not ask for this, ignore this mail: nothing was changed.\n"
    )
    message = EmailMessage()
    message["From"] = sender
    message["To"] = tracker.email
    message["Subject"] = f"[hemewatch] You already have a tracker named “{tracker.name}”"
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(f"hw-{tracker.uid}-exists-{int(now.timestamp())}", sender)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body)
    return message


def send_existing_tracker_notice(tracker: Tracker, *, settings: Settings) -> None:
    """Tell the owner of a tracker that the form was asked for it again (no link changes)."""
    if not settings.smtp_url:
        raise MailNotConfigured()
    message = render_existing_tracker_notice(
        tracker, sender=settings.mail_from, public_url=settings.public_url, now=utc_now()
    )
    send_mail(parse_smtp_url(settings.smtp_url), message, helo=message_domain(settings.mail_from))
