"""E-mail: a multipart (plain text and HTML) digest, and the double opt-in confirmation."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from hemewatch.alerts.digest import Digest
from hemewatch.alerts.renderers.templating import render
from hemewatch.alerts.spec import TrackerSpec
from hemewatch.alerts.trackers import Tracker
from hemewatch.history.wording import shorten

SEVERITY_COLOURS = {
    "critical": "#b3261e",
    "notable": "#9a5b00",
    "minor": "#3d4b5c",
    "administrative": "#5b6675",
}


def message_domain(sender: str) -> str:
    """The domain of the sender address, for Message-IDs ("localhost" when it has none)."""
    address = parseaddr(sender)[1]
    return address.rpartition("@")[2] or "localhost"


def message_id(key: str, sender: str) -> str:
    """The Message-ID of a notification: the same on every re-send, so mail clients drop duplicates."""
    return f"<{key}@{message_domain(sender)}>"


def digest_subject(digest: Digest) -> str:
    """The subject line: how many trials changed, for which tracker and period."""
    if digest.cadence == "immediate" and digest.trial_count == 1 and digest.change_count == 1:
        trial = digest.trials[0]
        return f"[hemewatch] {digest.tracker_name}: {trial.nct_id} {shorten(trial.changes[0].summary, 90)}"
    trials = "1 trial changed" if digest.trial_count == 1 else f"{digest.trial_count} trials changed"
    return f"[hemewatch] {digest.tracker_name}: {trials} ({digest.period_label})"


def _heading(digest: Digest) -> str:
    changes = "1 change" if digest.change_count == 1 else f"{digest.change_count} changes"
    trials = "1 trial" if digest.trial_count == 1 else f"{digest.trial_count} trials"
    return f"{changes} in {trials}"


def render_digest_mail(digest: Digest, *, sender: str, recipient: str, now: datetime) -> EmailMessage:
    """The digest as a multipart e-mail with List-Unsubscribe (one-click) and a stable Message-ID."""
    subject = digest_subject(digest)
    context = {"digest": digest, "subject": subject, "heading": _heading(digest), "colours": SEVERITY_COLOURS}
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(digest.idempotency_key, sender)
    message["List-Id"] = f"hemewatch tracker {digest.tracker_id} <tracker-{digest.tracker_id}.hemewatch>"
    message["List-Unsubscribe"] = f"<{digest.unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    message["X-Hemewatch-Delivery"] = digest.idempotency_key
    message.set_content(render("digest.txt", **context))
    message.add_alternative(render("digest.html", **context), subtype="html")
    return message


def describe_follows(spec: TrackerSpec) -> str:
    """What a tracker follows, in a few words."""
    parts = [*spec.diseases, *spec.modalities, *spec.targets, *spec.settings, *spec.populations, *spec.agents]
    parts += [*spec.phases, *spec.statuses, *spec.countries, *spec.nct_ids]
    if spec.sponsor:
        parts.append(f"sponsor “{spec.sponsor}”")
    if spec.text:
        parts.append(f"“{spec.text}”")
    return "trials matching " + ", ".join(parts) if parts else "every trial in the watch scope"


def render_confirmation_mail(
    tracker: Tracker, *, sender: str, public_url: str, confirm_token: str, manage_token: str, now: datetime
) -> EmailMessage:
    """The double opt-in mail with the confirm link and the manage link."""
    base = public_url.rstrip("/")
    context = {
        "tracker": tracker,
        "cadence": tracker.spec.cadence,
        "follows": describe_follows(tracker.spec),
        "confirm_url": f"{base}/trackers/confirm/{confirm_token}",
        "manage_url": f"{base}/trackers/manage/{manage_token}",
    }
    message = EmailMessage()
    message["From"] = sender
    message["To"] = tracker.email
    message["Subject"] = f"[hemewatch] Confirm the tracker “{tracker.name}”"
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(f"hw-{tracker.uid}-confirm-{int(now.timestamp())}", sender)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(render("confirm.txt", **context))
    message.add_alternative(render("confirm.html", **context), subtype="html")
    return message
