"""The registry's record history of each trial (table record_history): what was listed, what became of it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import and_, exists, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from hemewatch.registry.history import ListedVersion
from hemewatch.storage.events import StoredEvent
from hemewatch.storage.tables import change_events, record_history, study_versions, trials, watched_trials

HISTORY_SOURCE = "history"  # study_versions.source of a version read from the record history
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One listed version of a trial and the stored version it became (None while not fetched)."""

    nct_id: str
    version: int
    version_date: date | None
    overall_status: str | None
    module_labels: tuple[str, ...]
    version_id: int | None
    listed_at: datetime
    fetched_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "nct_id": self.nct_id,
            "version": self.version,
            "version_date": self.version_date.isoformat() if self.version_date else None,
            "overall_status": self.overall_status,
            "module_labels": list(self.module_labels),
            "version_id": self.version_id,
            "listed_at": self.listed_at.isoformat(),
            "fetched_at": self.fetched_at.isoformat() if self.fetched_at else None,
        }


@dataclass(frozen=True, slots=True)
class MirroredVersion:
    """A stored version of a trial, as the backfill places it among the listed ones."""

    id: int
    posted: date | None
    holder: date | None
    source: str
    content_hash: str

    @property
    def order_key(self) -> tuple[date, date, int]:
        """The order the mirror keeps versions in (storage.versions): update date, capture date, arrival."""
        return (self.posted or date.min, self.holder or date.min, self.id)


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _row(row: Any) -> HistoryRow:
    listed = _utc(row.listed_at)
    assert listed is not None
    return HistoryRow(
        nct_id=row.nct_id,
        version=int(row.version),
        version_date=row.version_date,
        overall_status=row.overall_status,
        module_labels=tuple(row.module_labels or ()),
        version_id=int(row.version_id) if row.version_id is not None else None,
        listed_at=listed,
        fetched_at=_utc(row.fetched_at),
    )


def save_listing(conn: Connection, nct_id: str, versions: Sequence[ListedVersion], *, now: datetime) -> int:
    """Record what the registry lists for a trial; return how many versions are new to the table.

    A version listed before keeps what became of it; its date, status and labels follow the list.
    """
    known = {row.version: row for row in history_rows(conn, nct_id)}
    fresh = [v for v in versions if v.version not in known]
    if fresh:
        conn.execute(
            insert(record_history),
            [
                {
                    "nct_id": nct_id,
                    "version": v.version,
                    "version_date": v.date,
                    "overall_status": v.status,
                    "module_labels": list(v.module_labels),
                    "listed_at": now,
                }
                for v in fresh
            ],
        )
    for v in versions:
        row = known.get(v.version)
        if row is None:
            continue
        if (row.version_date, row.overall_status, row.module_labels) != (v.date, v.status, v.module_labels):
            conn.execute(
                update(record_history)
                .where(record_history.c.nct_id == nct_id, record_history.c.version == v.version)
                .values(version_date=v.date, overall_status=v.status, module_labels=list(v.module_labels))
            )
    return len(fresh)


def history_rows(conn: Connection, nct_id: str) -> list[HistoryRow]:
    """A trial's listed versions, oldest first."""
    rows = conn.execute(
        select(record_history).where(record_history.c.nct_id == nct_id).order_by(record_history.c.version)
    )
    return [_row(row) for row in rows]


def mark_fetched(
    conn: Connection, nct_id: str, version: int, *, version_id: int | None, now: datetime
) -> None:
    """Record that a listed version was fetched and which stored version it is (None: left to the sync)."""
    conn.execute(
        update(record_history)
        .where(record_history.c.nct_id == nct_id, record_history.c.version == version)
        .values(version_id=version_id, fetched_at=now if version_id is not None else None)
    )


def mirrored_versions(conn: Connection, nct_id: str) -> list[MirroredVersion]:
    """Every stored version of a trial, in the mirror's order (oldest first)."""
    rows = conn.execute(
        select(
            study_versions.c.id,
            study_versions.c.last_update_post_date,
            study_versions.c.version_holder,
            study_versions.c.source,
            study_versions.c.content_hash,
        ).where(study_versions.c.nct_id == nct_id)
    )
    found = [
        MirroredVersion(int(r.id), r.last_update_post_date, r.version_holder, r.source, r.content_hash)
        for r in rows
    ]
    return sorted(found, key=lambda v: v.order_key)


def current_version_id(conn: Connection, nct_id: str) -> int | None:
    """The trial's current version, or None when the trial is not mirrored."""
    value = conn.execute(select(trials.c.current_version_id).where(trials.c.nct_id == nct_id)).first()
    return int(value[0]) if value is not None and value[0] is not None else None


def is_classified_trial(conn: Connection, nct_id: str) -> bool:
    """Whether the mirror classifies this trial's versions: in the watch scope, or watched by NCT id."""
    inside = conn.execute(select(trials.c.in_scope).where(trials.c.nct_id == nct_id)).scalar_one_or_none()
    if inside:
        return True
    watched = conn.execute(select(watched_trials.c.nct_id).where(watched_trials.c.nct_id == nct_id)).first()
    return watched is not None


def has_events(conn: Connection, old_version_id: int, new_version_id: int) -> bool:
    """Whether change events were stored between these two versions."""
    found = conn.execute(
        select(change_events.c.id)
        .where(
            change_events.c.old_version_id == old_version_id, change_events.c.new_version_id == new_version_id
        )
        .limit(1)
    ).first()
    return found is not None


def has_diff_events(conn: Connection, version_id: int) -> bool:
    """Whether this version was already diffed against an earlier one (a sync's events, or a backfill's)."""
    found = conn.execute(
        select(change_events.c.id)
        .where(change_events.c.new_version_id == version_id, change_events.c.old_version_id.is_not(None))
        .limit(1)
    ).first()
    return found is not None


def history_version_ids(conn: Connection, version_ids: Iterable[int | None]) -> set[int]:
    """Those of the versions that were read from the record history (source "history")."""
    wanted = sorted({v for v in version_ids if v is not None})
    found: set[int] = set()
    for start in range(0, len(wanted), _CHUNK):
        rows = conn.execute(
            select(study_versions.c.id).where(
                study_versions.c.id.in_(wanted[start : start + _CHUNK]),
                study_versions.c.source == HISTORY_SOURCE,
            )
        )
        found.update(int(row.id) for row in rows)
    return found


def history_events(conn: Connection, events: Sequence[StoredEvent]) -> set[int]:
    """The ids of those events that are between versions read from the record history (either side)."""
    versions = history_version_ids(
        conn, [v for e in events for v in (e.event.old_version_id, e.event.new_version_id)]
    )
    return {e.id for e in events if {e.event.old_version_id, e.event.new_version_id} & versions}


def registration(conn: Connection, nct_id: str) -> tuple[date, int | None] | None:
    """When the trial was registered, per its record history (version 0 once fetched), and that version."""
    row = conn.execute(
        select(
            record_history.c.version_date, record_history.c.version_id, study_versions.c.last_update_post_date
        )
        .select_from(
            record_history.outerjoin(study_versions, study_versions.c.id == record_history.c.version_id)
        )
        .where(record_history.c.nct_id == nct_id, record_history.c.version == 0)
    ).first()
    if row is None or row.version_id is None:
        return None
    posted = row.last_update_post_date or row.version_date
    return (posted, int(row.version_id)) if posted is not None else None


def trials_to_backfill(conn: Connection, *, limit: int | None = None) -> tuple[list[str], int]:
    """The mirrored trials in scope whose record history is not complete, and how many are complete.

    Complete: every listed version fetched, one of them posted no earlier than the trial's current
    version — the registry has posted nothing since the last backfill that the mirror knows of. A
    trial the sync updated since, or one never backfilled, is not complete.
    """
    unfetched = exists().where(
        record_history.c.nct_id == trials.c.nct_id,
        or_(record_history.c.fetched_at.is_(None), record_history.c.version_id.is_(None)),
    )
    reaches_current = exists().where(
        record_history.c.nct_id == trials.c.nct_id,
        study_versions.c.id == record_history.c.version_id,
        study_versions.c.last_update_post_date >= trials.c.last_update_post_date,
    )
    complete = and_(reaches_current, ~unfetched)
    query = select(trials.c.nct_id).where(trials.c.in_scope.is_(True), ~complete).order_by(trials.c.nct_id)
    if limit is not None:
        query = query.limit(limit)
    pending = [row.nct_id for row in conn.execute(query)]
    done = conn.execute(
        select(func.count()).select_from(trials).where(trials.c.in_scope.is_(True), complete)
    ).scalar_one()
    return pending, int(done)
