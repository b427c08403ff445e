"""Double opt-in: the mail that asks the owner of a web-created tracker to confirm it."""

from __future__ import annotations

from hemewatch.alerts.channels.smtp import parse_smtp_url, send_mail
from hemewatch.alerts.errors import InvalidTracker, MailNotConfigured
from hemewatch.alerts.renderers.mail import message_domain, render_confirmation_mail
from hemewatch.alerts.trackers import Tracker
from hemewatch.settings import Settings
from hemewatch.storage.runs import utc_now


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
