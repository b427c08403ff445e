"""Trackers: the stored value and the repository functions the CLI and the web app call."""

from __future__ import annotations

import hmac
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from hemewatch.alerts.errors import AmbiguousTracker, InvalidTracker, TrackerNotFound
from hemewatch.alerts.spec import TrackerSpec, spec_from_stored, validate_spec
from hemewatch.alerts.tokens import hash_token, new_token, new_uid
from hemewatch.storage.deliveries import cancel_pending_of_tracker
from hemewatch.storage.runs import utc_now
from hemewatch.storage.states import TrackerStatus
from hemewatch.storage.trackers import (
    TokenKind,
    delete_tracker_row,
    insert_tracker,
    name_taken,
    tracker_row,
    tracker_row_by_owner,
    tracker_row_by_token_hash,
    tracker_rows,
    tracker_rows_named,
    update_tracker_row,
)


@dataclass(frozen=True)
class Tracker:
    """A stored tracker. manage_token and confirm_token are set only right after they were issued."""

    id: int
    uid: str
    spec: TrackerSpec
    created_at: datetime
    updated_at: datetime
    confirmed_at: datetime | None
    unsubscribed_at: datetime | None
    webhook_secret: str
    unsubscribe_token: str
    feed_token: str
    manage_token: str | None = None
    confirm_token: str | None = None

    @property
    def name(self) -> str:
        """The tracker's name."""
        return self.spec.name

    @property
    def email(self) -> str:
        """The owner's e-mail address."""
        return self.spec.email

    @property
    def status(self) -> TrackerStatus:
        """active, unconfirmed (double opt-in pending) or unsubscribed."""
        if self.unsubscribed_at is not None:
            return TrackerStatus.UNSUBSCRIBED
        return TrackerStatus.ACTIVE if self.confirmed_at is not None else TrackerStatus.UNCONFIRMED

    @property
    def active(self) -> bool:
        """True when the tracker receives events."""
        return self.status == TrackerStatus.ACTIVE

    def feed_url(self, public_url: str) -> str:
        """Address of the tracker's Atom feed."""
        return f"{public_url.rstrip('/')}/feeds/{self.feed_token}.atom"

    def unsubscribe_url(self, public_url: str) -> str:
        """Address that unsubscribes the tracker (GET shows a page, POST unsubscribes at once)."""
        return f"{public_url.rstrip('/')}/trackers/unsubscribe/{self.unsubscribe_token}"

    def to_dict(self, *, public_url: str) -> dict[str, Any]:
        """JSON-ready form, with the feed address and the webhook secret."""
        spec = self.spec
        return {
            "id": self.id,
            "name": spec.name,
            "email": spec.email,
            "status": self.status,
            "filters": {
                k: v for k, v in spec.criteria_dict().items() if k not in ("event_types", "min_severity")
            },
            "event_types": list(spec.event_types),
            "min_severity": spec.min_severity,
            "cadence": spec.cadence,
            "channels": {
                "email": spec.email_enabled,
                "webhook": spec.webhook_url,
                "apprise": list(spec.apprise_urls),
                "feed": self.feed_url(public_url) if spec.feed_enabled else None,
            },
            "webhook_secret": self.webhook_secret if spec.webhook_url else None,
            "created_at": self.created_at.isoformat(),
            "confirmed_at": self.confirmed_at.isoformat() if self.confirmed_at else None,
            "unsubscribed_at": self.unsubscribed_at.isoformat() if self.unsubscribed_at else None,
        }


def _utc(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything stored is UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def tracker_from_row(row: Row[Any]) -> Tracker:
    """Build a Tracker from a trackers row."""
    spec = spec_from_stored(
        name=row.name,
        email=row.email,
        criteria=dict(row.criteria),
        cadence=row.cadence,
        channels={
            "email_enabled": row.email_enabled,
            "webhook_url": row.webhook_url,
            "apprise_urls": row.apprise_urls,
            "feed_enabled": row.feed_enabled,
        },
    )
    created = _utc(row.created_at)
    updated = _utc(row.updated_at)
    assert created is not None and updated is not None
    return Tracker(
        id=int(row.id),
        uid=row.uid,
        spec=spec,
        created_at=created,
        updated_at=updated,
        confirmed_at=_utc(row.confirmed_at),
        unsubscribed_at=_utc(row.unsubscribed_at),
        webhook_secret=row.webhook_secret,
        unsubscribe_token=row.unsubscribe_token,
        feed_token=row.feed_token,
    )


def _spec_columns(spec: TrackerSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "email": spec.email,
        "criteria": spec.criteria_dict(),
        "cadence": spec.cadence,
        "email_enabled": spec.email_enabled,
        "webhook_url": spec.webhook_url,
        "apprise_urls": list(spec.apprise_urls),
        "feed_enabled": spec.feed_enabled,
    }


def _check_name_free(conn: Connection, spec: TrackerSpec, *, other_than: int | None = None) -> None:
    if name_taken(conn, spec.email, spec.name, other_than=other_than):
        raise InvalidTracker(f"{spec.email} already has a tracker named {spec.name!r}; choose another name.")


def create_tracker(conn: Connection, spec: TrackerSpec, *, now: datetime, confirmed: bool) -> Tracker:
    """Validate and store a tracker; unconfirmed ones receive nothing until confirm_tracker."""
    spec = validate_spec(spec)
    _check_name_free(conn, spec)
    manage, confirm, unsubscribe, feed = new_token(), new_token(), new_token(), new_token()
    values = {
        **_spec_columns(spec),
        "uid": new_uid(),
        "webhook_secret": new_token(),
        "created_at": now,
        "updated_at": now,
        "confirmed_at": now if confirmed else None,
        "manage_token_hash": hash_token(manage),
        "confirm_token_hash": None if confirmed else hash_token(confirm),
        "unsubscribe_token": unsubscribe,
        "unsubscribe_token_hash": hash_token(unsubscribe),
        "feed_token": feed,
        "feed_token_hash": hash_token(feed),
    }
    try:
        tracker_id = insert_tracker(conn, values)
    except IntegrityError as exc:
        raise InvalidTracker(f"{spec.email} already has a tracker named {spec.name!r}.") from exc
    stored = get_tracker(conn, tracker_id)
    assert stored is not None
    return _with_tokens(stored, manage=manage, confirm=None if confirmed else confirm)


def _with_tokens(tracker: Tracker, *, manage: str | None, confirm: str | None) -> Tracker:
    return replace(tracker, manage_token=manage, confirm_token=confirm)


def get_tracker(conn: Connection, tracker_id: int) -> Tracker | None:
    """The tracker with that id, or None."""
    row = tracker_row(conn, tracker_id)
    return tracker_from_row(row) if row else None


def _by_token(
    conn: Connection, kind: TokenKind, token: str, *, kept_in_clear: bool = False
) -> Tracker | None:
    """The tracker whose token of that kind this is; a token kept in clear must also match itself."""
    if not token or len(token) > 100:
        return None
    row = tracker_row_by_token_hash(conn, kind, hash_token(token))
    if row is None:
        return None
    if kept_in_clear and not hmac.compare_digest(getattr(row, f"{kind}_token"), token):
        return None
    return tracker_from_row(row)


def get_tracker_by_manage_token(conn: Connection, token: str) -> Tracker | None:
    """The tracker a manage link belongs to, or None."""
    return _by_token(conn, "manage", token)


def get_tracker_by_feed_token(conn: Connection, token: str) -> Tracker | None:
    """The tracker whose Atom feed this token opens, or None (also when its feed is switched off)."""
    tracker = _by_token(conn, "feed", token, kept_in_clear=True)
    return tracker if tracker is not None and tracker.spec.feed_enabled else None


def get_tracker_by_owner(conn: Connection, email: str, name: str) -> Tracker | None:
    """The tracker of that address with that name (as a validated spec spells them), or None."""
    row = tracker_row_by_owner(conn, email, name)
    return tracker_from_row(row) if row else None


def list_trackers(conn: Connection) -> list[Tracker]:
    """Every tracker, by name then e-mail address."""
    return [tracker_from_row(row) for row in tracker_rows(conn)]


def find_tracker(conn: Connection, name: str, *, email: str | None = None) -> Tracker:
    """The one tracker with that name (and owner), or TrackerNotFound / AmbiguousTracker."""
    rows = tracker_rows_named(conn, " ".join(name.split()), email=email.strip() if email else None)
    if not rows:
        raise TrackerNotFound(f"No tracker is named {name!r}; `hemewatch trackers list` shows them.")
    if len(rows) > 1:
        owners = ", ".join(sorted(row.email for row in rows))
        raise AmbiguousTracker(f"{len(rows)} trackers are named {name!r} ({owners}); add --email to choose.")
    return tracker_from_row(rows[0])


def update_tracker(
    conn: Connection, tracker_id: int, spec: TrackerSpec, *, now: datetime | None = None
) -> Tracker:
    """Replace a tracker's spec; a new e-mail address must be confirmed again (confirm_token is set)."""
    current = get_tracker(conn, tracker_id)
    if current is None:
        raise TrackerNotFound(f"No tracker has the id {tracker_id}.")
    spec = validate_spec(spec)
    _check_name_free(conn, spec, other_than=tracker_id)
    values: dict[str, Any] = {**_spec_columns(spec), "updated_at": now or utc_now()}
    confirm = None
    if spec.email.casefold() != current.email.casefold():
        confirm = new_token()
        values.update(confirmed_at=None, confirm_token_hash=hash_token(confirm))
    update_tracker_row(conn, tracker_id, values)
    stored = get_tracker(conn, tracker_id)
    assert stored is not None
    return _with_tokens(stored, manage=None, confirm=confirm)


def delete_tracker(conn: Connection, tracker_id: int) -> bool:
    """Delete a tracker with its queued deliveries and history; False when there was none."""
    return delete_tracker_row(conn, tracker_id)


def confirm_tracker(conn: Connection, confirm_token: str, *, now: datetime | None = None) -> Tracker | None:
    """Confirm a tracker from its confirm link (idempotent); None for an unknown token."""
    tracker = _by_token(conn, "confirm", confirm_token)
    if tracker is None:
        return None
    if tracker.confirmed_at is None:
        update_tracker_row(conn, tracker.id, {"confirmed_at": now or utc_now()})
        tracker = get_tracker(conn, tracker.id)
    return tracker


def unsubscribe_tracker(conn: Connection, token: str, *, now: datetime | None = None) -> Tracker | None:
    """Stop a tracker from its unsubscribe link and cancel what it still had queued; None if unknown."""
    tracker = _by_token(conn, "unsubscribe", token, kept_in_clear=True)
    if tracker is None:
        return None
    if tracker.unsubscribed_at is None:
        update_tracker_row(conn, tracker.id, {"unsubscribed_at": now or utc_now()})
        cancel_pending_of_tracker(conn, tracker.id, reason="the tracker was unsubscribed")
        tracker = get_tracker(conn, tracker.id)
    return tracker


def reissue_manage_token(conn: Connection, tracker_id: int) -> Tracker:
    """Replace a tracker's manage token (the old link stops working) and return it with the new one."""
    token = new_token()
    if not update_tracker_row(conn, tracker_id, {"manage_token_hash": hash_token(token)}):
        raise TrackerNotFound(f"No tracker has the id {tracker_id}.")
    stored = get_tracker(conn, tracker_id)
    assert stored is not None
    return _with_tokens(stored, manage=token, confirm=None)
