"""What reconciliation reads and records: followed trials, records removed or merged upstream, its runs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from sqlalchemy import or_, select, update
from sqlalchemy.engine import Connection

from hemewatch.storage.runs import COMPLETED_STATUSES, SyncRun, last_run
from hemewatch.storage.tables import sync_runs, trials, watched_trials

RECONCILE_KIND: Final = "reconcile"
_CHUNK: Final = 500


@dataclass(frozen=True)
class FollowedTrial:
    """A mirrored trial reconciliation checks: followed (in scope or watched), or removed upstream."""

    nct_id: str
    version_id: int | None
    last_update_post_date: date | None
    in_scope: bool
    watched: bool
    removed: bool  # the registry had no record of it at the last check


def followed_trials(conn: Connection) -> list[FollowedTrial]:
    """Trials in scope or watched that are not merged into another record, and those removed upstream."""
    watched = select(watched_trials.c.nct_id).scalar_subquery()
    rows = conn.execute(
        select(
            trials.c.nct_id,
            trials.c.current_version_id,
            trials.c.last_update_post_date,
            trials.c.in_scope,
            trials.c.removed_at,
            watched_trials.c.nct_id.label("watched_id"),
        )
        .select_from(trials.outerjoin(watched_trials, watched_trials.c.nct_id == trials.c.nct_id))
        .where(
            trials.c.merged_into.is_(None),
            or_(trials.c.in_scope.is_(True), trials.c.nct_id.in_(watched), trials.c.removed_at.is_not(None)),
        )
        .order_by(trials.c.nct_id)
    )
    return [
        FollowedTrial(
            nct_id=row.nct_id,
            version_id=row.current_version_id,
            last_update_post_date=row.last_update_post_date,
            in_scope=bool(row.in_scope),
            watched=row.watched_id is not None,
            removed=row.removed_at is not None,
        )
        for row in rows
    ]


def mark_removed(conn: Connection, nct_id: str, *, now: datetime) -> None:
    """The registry no longer has this record: no longer followed (its versions and events are kept)."""
    conn.execute(update(trials).where(trials.c.nct_id == nct_id).values(removed_at=now, in_scope=False))


def mark_merged(conn: Connection, nct_id: str, into: str) -> None:
    """This NCT id is now an alias of the record `into`: no longer followed under this id."""
    conn.execute(
        update(trials)
        .where(trials.c.nct_id == nct_id)
        .values(merged_into=into, removed_at=None, in_scope=False)
    )


def restore_trials(conn: Connection, in_scope: Mapping[str, bool]) -> list[str]:
    """Clear the removed or merged mark of these trials, whose record the registry sent again.

    Each restored trial's followed flag becomes the given one. Returns the ids restored.
    """
    wanted = sorted(in_scope)
    restored: list[str] = []
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        rows = conn.execute(
            select(trials.c.nct_id).where(
                trials.c.nct_id.in_(chunk),
                or_(trials.c.removed_at.is_not(None), trials.c.merged_into.is_not(None)),
            )
        )
        restored.extend(row.nct_id for row in rows)
    for nct_id in restored:
        conn.execute(
            update(trials)
            .where(trials.c.nct_id == nct_id)
            .values(removed_at=None, merged_into=None, in_scope=in_scope[nct_id])
        )
    return restored


def trial_in_scope(conn: Connection, nct_id: str) -> bool | None:
    """A mirrored trial's followed flag; None when it is not mirrored."""
    value = conn.execute(select(trials.c.in_scope).where(trials.c.nct_id == nct_id)).scalar_one_or_none()
    return None if value is None else bool(value)


def describe_run(conn: Connection, run_id: int, text: str) -> None:
    """Replace what the run log says a run read (`source`), e.g. with its outcome once known."""
    conn.execute(update(sync_runs).where(sync_runs.c.id == run_id).values(source=text[:2000]))


def last_reconcile_run(conn: Connection) -> SyncRun | None:
    """The most recent completed reconciliation."""
    return last_run(conn, kinds=(RECONCILE_KIND,), status=COMPLETED_STATUSES)
