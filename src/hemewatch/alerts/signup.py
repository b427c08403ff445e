"""Sign-up for trackers from the web forms: create with double opt-in, change, delete, confirm,
unsubscribe, read a tracker's feed.

Every mail the forms send is first counted against the hourly quotas kept in the database (per
address, per client, in total), in the transaction that stores the tracker. No mail is sent inside a
transaction: SMTP may be slow, and SQLite has one writer, which an open write transaction would hold
for as long as the mail server takes. The change is committed first, the mail sent after it; when the
mail cannot be sent, the change is undone (a tracker just created is deleted again, a changed address
is set back, confirmed as it was). The form answers "check your mail" whether or not the address
already had a tracker of that name: its owner then gets a notice instead of a confirmation.

Without a mail server, the form makes feed-only trackers instead: active at once, shown with their private
feed and manage addresses (there is no mail to carry them), and bounded per client and hour.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlalchemy import Engine

from hemewatch.alerts.confirmation import send_confirmation_mail, send_existing_tracker_notice
from hemewatch.alerts.errors import MailNotConfigured, TrackerNotFound
from hemewatch.alerts.feeds import FeedKind, FeedValidator, feed_validator, render_tracker_feed
from hemewatch.alerts.spec import TrackerSpec, validate_spec
from hemewatch.alerts.trackers import (
    Tracker,
    confirm_tracker,
    create_tracker,
    delete_tracker,
    get_tracker_by_feed_token,
    get_tracker_by_manage_token,
    get_tracker_by_owner,
    unsubscribe_tracker,
    update_tracker,
)
from hemewatch.errors import HemewatchError
from hemewatch.settings import Settings
from hemewatch.storage.quota import Quota, take_mail_quota
from hemewatch.storage.runs import utc_now
from hemewatch.storage.states import TrackerStatus


class LinkNotValid(TrackerNotFound):
    """This link is not valid any more: the tracker was deleted, or the link was mistyped."""


@dataclass(frozen=True)
class TrackerChange:
    """What saving a manage form did: the stored tracker, what the form shows, where a mail went."""

    tracker: Tracker
    shown: TrackerSpec
    mailed_to: str | None


def mail_quotas(settings: Settings, *, address: str, client: str) -> list[Quota]:
    """The quotas one mail from the forms counts against: its address, the client and the whole site."""
    return [
        Quota("address", address, settings.mails_per_address_per_hour),
        Quota("client", client, settings.mails_per_client_per_hour),
        Quota("total", "", settings.mails_per_hour),
    ]


def start_tracker(engine: Engine, spec: TrackerSpec, *, settings: Settings, client: str) -> TrackerSpec:
    """Store an unconfirmed tracker and mail its links (or tell the owner it exists); within the quotas.

    Returns the validated spec only: what the page may show is the same whether or not it existed.
    """
    spec = validate_spec(spec)
    if not settings.smtp_url:
        raise MailNotConfigured()
    now = utc_now()
    with engine.begin() as conn:
        take_mail_quota(conn, mail_quotas(settings, address=spec.email, client=client), now=now)
        # The quota's total row is held until commit, so no other form post can create this tracker meanwhile.
        existing = get_tracker_by_owner(conn, spec.email, spec.name)
        tracker = None if existing is not None else create_tracker(conn, spec, now=now, confirmed=False)
    if existing is not None:
        send_existing_tracker_notice(existing, settings=settings)
        return spec
    assert tracker is not None
    try:
        send_confirmation_mail(tracker, settings=settings)
    except HemewatchError:
        with engine.begin() as conn:
            delete_tracker(conn, tracker.id)
        raise
    return tracker.spec


def feed_owner() -> str:
    """The owner address of a feed-only tracker made without one: unique, reserved (RFC 2606), unmailed."""
    return f"feed-{secrets.token_hex(6)}@hemewatch.invalid"


def start_feed_tracker(engine: Engine, spec: TrackerSpec, *, settings: Settings, client: str) -> Tracker:
    """Store an active feed-only tracker (for a server without mail); returns it with its manage token.

    The address is optional: without one the tracker gets a reserved address of its own. Nothing is
    ever mailed, so there is nothing to confirm; the page shows the feed and manage links once.
    """
    spec = replace(spec, email=spec.email.strip() or feed_owner(), email_enabled=False, feed_enabled=True)
    spec = validate_spec(spec)
    now = utc_now()
    quota = Quota("feed_tracker", client, settings.mails_per_client_per_hour)
    with engine.begin() as conn:
        take_mail_quota(conn, [quota], now=now)
        return create_tracker(conn, spec, now=now, confirmed=True)


def managed_tracker(engine: Engine, manage_token: str) -> Tracker:
    """The tracker a manage link opens; LinkNotValid otherwise."""
    with engine.connect() as conn:
        tracker = get_tracker_by_manage_token(conn, manage_token)
    if tracker is None:
        raise LinkNotValid()
    return tracker


def change_tracker(
    engine: Engine, manage_token: str, spec: TrackerSpec, *, settings: Settings, client: str
) -> TrackerChange:
    """Save a tracker's new settings; a new e-mail address is confirmed first (a mail within the quotas).

    The mail goes once the change is committed; when it cannot be sent, the tracker is set back to
    its former settings (confirmed as it was) and the error raised.
    """
    spec = validate_spec(spec)
    updated = None
    with engine.begin() as conn:
        tracker = get_tracker_by_manage_token(conn, manage_token)
        if tracker is None:
            raise LinkNotValid()
        clash = None
        if spec.email.casefold() != tracker.email.casefold():
            if not settings.smtp_url:
                raise MailNotConfigured()
            take_mail_quota(conn, mail_quotas(settings, address=spec.email, client=client), now=utc_now())
            clash = get_tracker_by_owner(conn, spec.email, spec.name)
        if clash is None:
            updated = update_tracker(conn, tracker.id, spec, now=utc_now())
    if clash is not None:
        # The new address has a tracker of that name: its owner is told, the page says what it says otherwise.
        send_existing_tracker_notice(clash, settings=settings)
        return TrackerChange(replace(tracker, spec=spec, confirmed_at=None), spec, spec.email)
    assert updated is not None
    if updated.confirm_token is None:
        return TrackerChange(updated, updated.spec, None)
    try:
        send_confirmation_mail(replace(updated, manage_token=manage_token), settings=settings)
    except HemewatchError:
        _restore(engine, tracker)
        raise
    return TrackerChange(updated, updated.spec, updated.email)


def _restore(engine: Engine, former: Tracker) -> None:
    """Set a tracker back to its former settings after its new address could not be mailed."""
    with engine.begin() as conn:
        restored = update_tracker(conn, former.id, former.spec, now=former.updated_at)
        if former.confirmed_at is not None and restored.confirm_token is not None:
            confirm_tracker(conn, restored.confirm_token, now=former.confirmed_at)


def remove_tracker(engine: Engine, manage_token: str) -> Tracker:
    """Delete the tracker a manage link opens."""
    with engine.begin() as conn:
        tracker = get_tracker_by_manage_token(conn, manage_token)
        if tracker is None:
            raise LinkNotValid()
        delete_tracker(conn, tracker.id)
    return tracker


def confirm(engine: Engine, confirm_token: str) -> Tracker:
    """Confirm a tracker from its confirm link (confirming twice is fine)."""
    with engine.begin() as conn:
        tracker = confirm_tracker(conn, confirm_token, now=utc_now())
    if tracker is None:
        raise LinkNotValid()
    return tracker


def unsubscribe(engine: Engine, unsubscribe_token: str) -> Tracker:
    """Stop a tracker from its unsubscribe link (unsubscribing twice is fine)."""
    with engine.begin() as conn:
        tracker = unsubscribe_tracker(conn, unsubscribe_token, now=utc_now())
    if tracker is None:
        raise LinkNotValid()
    return tracker


@dataclass(frozen=True)
class FeedAnswer:
    """A feed's validators, and its document unless the client already has this state of it."""

    validator: FeedValidator
    body: bytes | None


def tracker_feed(
    engine: Engine,
    feed_token: str,
    *,
    settings: Settings,
    kind: FeedKind = "atom",
    unchanged: Callable[[FeedValidator], bool] = lambda _: False,
) -> FeedAnswer:
    """The Atom (or JSON Feed) document of the tracker a feed link belongs to.

    When `unchanged(validator)` says the client holds the current state, nothing is rendered.
    """
    with engine.connect() as conn:
        tracker = get_tracker_by_feed_token(conn, feed_token)
        if tracker is None or tracker.status == TrackerStatus.UNSUBSCRIBED:
            raise LinkNotValid("There is no feed at this address (the tracker was deleted or unsubscribed).")
        validator = feed_validator(conn, tracker, settings=settings, kind=kind)
        if unchanged(validator):
            return FeedAnswer(validator, None)
        return FeedAnswer(validator, render_tracker_feed(conn, tracker, settings=settings, kind=kind))
