"""Trials followed by NCT id (`hemewatch add`, the web's "watch this trial") and their state upstream.

A watched trial counts as in the watch scope everywhere: `trials.in_scope` is kept true for it by
whoever stores it (pipeline.ingest), so listings, classification, events and alerts need no special
case. This module only keeps the list, in the caller's transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from hemewatch.errors import HemewatchError
from hemewatch.storage.quota import WINDOW, window_start
from hemewatch.storage.tables import classifications, mail_quota, trials, watched_trials

ADDED_BY: Final = ("cli", "web")
# Keeps IN (...) lists well under SQLite's bound-parameter limit.
_CHUNK: Final = 500
# Rows of mail_quota that count the registry fetches the web form causes (the scope column holds 16).
FETCH_CLIENT_SCOPE: Final = "fetch_client"
FETCH_TOTAL_SCOPE: Final = "fetch_total"


class FetchLimitReached(HemewatchError):
    """Too many trials were fetched from ClinicalTrials.gov for this site within the hour; try again later."""

    http_status = 429


_LIMIT_MESSAGES: Final = {
    FETCH_CLIENT_SCOPE: "You asked for several trials new to this site within the hour, and each one is "
    "fetched from ClinicalTrials.gov; try again later.",
    FETCH_TOTAL_SCOPE: "This site has fetched as many trials from ClinicalTrials.gov as it may this hour; "
    "try again later.",
}


def _as_utc(value: datetime | None) -> datetime | None:
    # SQLite returns naive datetimes; everything stored is UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


@dataclass(frozen=True)
class WatchedTrial:
    """One watched trial with what the mirror holds of it (title and status are None if not mirrored)."""

    nct_id: str
    added_at: datetime
    added_by: str
    note: str | None
    mirrored: bool
    title: str | None
    overall_status: str | None
    last_update_post_date: date | None
    removed_at: datetime | None
    merged_into: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "nct_id": self.nct_id,
            "added_at": self.added_at.isoformat(),
            "added_by": self.added_by,
            "note": self.note,
            "mirrored": self.mirrored,
            "title": self.title,
            "overall_status": self.overall_status,
            "last_update_post_date": (
                self.last_update_post_date.isoformat() if self.last_update_post_date else None
            ),
            "removed_at": self.removed_at.isoformat() if self.removed_at else None,
            "merged_into": self.merged_into,
        }


@dataclass(frozen=True)
class TrialWatch:
    """What the trial page shows about following a mirrored trial and its state upstream."""

    nct_id: str
    mirrored: bool
    watched: bool
    added_at: datetime | None
    note: str | None
    removed_at: datetime | None
    merged_into: str | None
    merged_into_mirrored: bool = False  # the mirror holds the record `merged_into` names


def add_watch(
    conn: Connection, nct_id: str, *, added_by: str, now: datetime, note: str | None = None
) -> bool:
    """Watch a trial; True when it was not watched yet (a new note replaces the old one either way)."""
    if added_by not in ADDED_BY:
        raise ValueError(f"added_by must be one of {ADDED_BY}, not {added_by!r}")
    existing = conn.execute(select(watched_trials.c.nct_id).where(watched_trials.c.nct_id == nct_id)).first()
    if existing is not None:
        if note:
            conn.execute(update(watched_trials).where(watched_trials.c.nct_id == nct_id).values(note=note))
        return False
    conn.execute(insert(watched_trials).values(nct_id=nct_id, added_at=now, added_by=added_by, note=note))
    return True


def remove_watch(conn: Connection, nct_id: str) -> bool:
    """Stop watching a trial; True when it was watched."""
    result = conn.execute(delete(watched_trials).where(watched_trials.c.nct_id == nct_id))
    return bool(result.rowcount)


def move_watch(conn: Connection, old: str, new: str) -> bool:
    """Carry the watch of `old` over to `new` (its record's current NCT id); True when `old` was watched."""
    row = conn.execute(select(watched_trials).where(watched_trials.c.nct_id == old)).first()
    if row is None:
        return False
    conn.execute(delete(watched_trials).where(watched_trials.c.nct_id == old))
    note = f"{row.note} (watched as {old})" if row.note else f"watched as {old}"
    if not is_watched(conn, new):
        conn.execute(
            insert(watched_trials).values(nct_id=new, added_at=row.added_at, added_by=row.added_by, note=note)
        )
    return True


def is_watched(conn: Connection, nct_id: str) -> bool:
    """Whether this trial is watched."""
    found = conn.execute(select(watched_trials.c.nct_id).where(watched_trials.c.nct_id == nct_id)).first()
    return found is not None


def watched_among(conn: Connection, nct_ids: Iterable[str]) -> set[str]:
    """The ids of this set that are watched."""
    wanted = sorted(set(nct_ids))
    found: set[str] = set()
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        rows = conn.execute(select(watched_trials.c.nct_id).where(watched_trials.c.nct_id.in_(chunk)))
        found.update(row.nct_id for row in rows)
    return found


def watched_ids(conn: Connection) -> list[str]:
    """Every watched NCT id, in order."""
    rows = conn.execute(select(watched_trials.c.nct_id).order_by(watched_trials.c.nct_id))
    return [row.nct_id for row in rows]


def list_watched(conn: Connection) -> list[WatchedTrial]:
    """Every watched trial with its title and status in the mirror, by NCT id."""
    rows = conn.execute(
        select(
            watched_trials,
            trials.c.nct_id.label("mirrored_id"),
            trials.c.brief_title,
            trials.c.overall_status,
            trials.c.last_update_post_date,
            trials.c.removed_at,
            trials.c.merged_into,
        )
        .select_from(watched_trials.outerjoin(trials, trials.c.nct_id == watched_trials.c.nct_id))
        .order_by(watched_trials.c.nct_id)
    )
    found = []
    for row in rows:
        added_at = _as_utc(row.added_at)
        assert added_at is not None
        found.append(
            WatchedTrial(
                nct_id=row.nct_id,
                added_at=added_at,
                added_by=row.added_by,
                note=row.note,
                mirrored=row.mirrored_id is not None,
                title=row.brief_title,
                overall_status=row.overall_status,
                last_update_post_date=row.last_update_post_date,
                removed_at=_as_utc(row.removed_at),
                merged_into=row.merged_into,
            )
        )
    return found


def watch_status(conn: Connection, nct_id: str) -> TrialWatch:
    """Whether a trial is watched, and whether the registry removed or merged its record."""
    row = conn.execute(
        select(
            trials.c.removed_at,
            trials.c.merged_into,
            watched_trials.c.nct_id.label("watched_id"),
            watched_trials.c.added_at,
            watched_trials.c.note,
        )
        .select_from(trials.outerjoin(watched_trials, watched_trials.c.nct_id == trials.c.nct_id))
        .where(trials.c.nct_id == nct_id)
    ).first()
    if row is None:
        return TrialWatch(nct_id, False, is_watched(conn, nct_id), None, None, None, None)
    merged_into = row.merged_into
    into_mirrored = merged_into is not None and (
        conn.execute(select(trials.c.nct_id).where(trials.c.nct_id == merged_into)).first() is not None
    )
    return TrialWatch(
        nct_id=nct_id,
        mirrored=True,
        watched=row.watched_id is not None,
        added_at=_as_utc(row.added_at),
        note=row.note,
        removed_at=_as_utc(row.removed_at),
        merged_into=merged_into,
        merged_into_mirrored=into_mirrored,
    )


def set_in_scope(conn: Connection, nct_id: str, in_scope: bool) -> None:
    """Set a mirrored trial's followed flag (trials.in_scope)."""
    conn.execute(update(trials).where(trials.c.nct_id == nct_id).values(in_scope=in_scope))


def unclassified_current_version(conn: Connection, nct_id: str) -> int | None:
    """The id of the trial's current version when it has no classification (a trial mirrored out of scope)."""
    row = conn.execute(
        select(trials.c.current_version_id, classifications.c.version_id.label("classified"))
        .select_from(
            trials.outerjoin(classifications, classifications.c.version_id == trials.c.current_version_id)
        )
        .where(trials.c.nct_id == nct_id)
    ).first()
    if row is None or row.current_version_id is None or row.classified is not None:
        return None
    return int(row.current_version_id)


def _key_hash(scope: str, key: str) -> str:
    return hashlib.sha256(f"{scope}\x00{key.strip().casefold()}".encode("utf-8", "surrogatepass")).hexdigest()


def _take(conn: Connection, scope: str, key: str, limit: int, window: datetime) -> bool:
    key_hash = _key_hash(scope, key)
    values = {"scope": scope, "key_hash": key_hash, "window_start": window, "sent": 0}
    upsert = postgresql.insert(mail_quota) if conn.dialect.name == "postgresql" else sqlite.insert(mail_quota)
    conn.execute(upsert.values(**values).on_conflict_do_nothing())
    taken = conn.execute(
        update(mail_quota)
        .where(
            and_(
                mail_quota.c.scope == scope,
                mail_quota.c.key_hash == key_hash,
                mail_quota.c.window_start == window,
                mail_quota.c.sent < limit,
            )
        )
        .values(sent=mail_quota.c.sent + 1)
    )
    return bool(taken.rowcount)


def take_fetch_quota(conn: Connection, *, client: str, per_client: int, total: int, now: datetime) -> None:
    """Count one registry fetch caused by a web client; FetchLimitReached when a limit is used up.

    Counted in the hourly rows of the mail quota table under scopes of their own (as storage.quota
    counts mails), so every process and thread shares one count. Leaving the caller's transaction
    by the exception rolls back what was counted, so a refused fetch counts against nothing.
    """
    window = window_start(now)
    for scope, key, limit in ((FETCH_CLIENT_SCOPE, client, per_client), (FETCH_TOTAL_SCOPE, "all", total)):
        if not _take(conn, scope, key, limit, window):
            raise FetchLimitReached(_LIMIT_MESSAGES[scope])
    conn.execute(
        delete(mail_quota).where(
            mail_quota.c.scope.in_((FETCH_CLIENT_SCOPE, FETCH_TOTAL_SCOPE)),
            mail_quota.c.window_start < window - WINDOW,
        )
    )


def fetches_counted(conn: Connection, *, client: str, now: datetime) -> int:
    """How many registry fetches this client caused in the current hour."""
    row = conn.execute(
        select(mail_quota.c.sent).where(
            mail_quota.c.scope == FETCH_CLIENT_SCOPE,
            mail_quota.c.key_hash == _key_hash(FETCH_CLIENT_SCOPE, client),
            mail_quota.c.window_start == window_start(now),
        )
    ).first()
    return int(row.sent) if row is not None else 0
