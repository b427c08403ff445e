"""Alert-specific failures, each with a message a person can act on."""

from __future__ import annotations

from hemewatch.errors import HemewatchError


class InvalidTracker(HemewatchError):
    """The tracker is invalid; check its name, e-mail address, filters and channels."""

    exit_code = 2
    http_status = 422


class TrackerNotFound(HemewatchError):
    """No tracker has that name; `hemewatch trackers list` shows them."""

    http_status = 404


class AmbiguousTracker(HemewatchError):
    """Several trackers have that name; add --email to say whose tracker it is."""

    exit_code = 2


class DeliveryFailed(HemewatchError):
    """A delivery could not be made; it will be retried."""

    http_status = 503


class UnsafeTarget(DeliveryFailed):
    """The delivery target resolves to a private, loopback or reserved address and is refused."""


class MailNotConfigured(HemewatchError):
    """E-mail is not configured: set HEMEWATCH_SMTP_URL (e.g. smtp://mail.example.org:25)."""

    exit_code = 2
    http_status = 503
