"""Store and list typed change events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Select, and_, func, insert, or_, select
from sqlalchemy.engine import Connection

from hemewatch.history import SEVERITY_RANK, ChangeEvent, EventType, Severity
from hemewatch.storage.tables import change_events, chunks, trials


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """A change event with its database id."""

    id: int
    event: ChangeEvent
    sync_run_id: int | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: the event's fields plus its id."""
        return {"id": self.id, **self.event.to_dict()}


def store_events(
    conn: Connection, events: Sequence[ChangeEvent], *, sync_run_id: int | None
) -> list[StoredEvent]:
    """Insert events in the caller's transaction and return them with their ids."""
    if not events:
        return []
    rows = [
        {
            "nct_id": e.nct_id,
            "type": e.type.value,
            "severity": e.severity.value,
            "alertable": e.alertable,
            "path": e.path,
            "before": e.before,
            "after": e.after,
            "summary": e.summary,
            "old_version_id": e.old_version_id,
            "new_version_id": e.new_version_id,
            "registry_date": e.registry_date,
            "detected_at": e.detected_at,
            "sync_run_id": sync_run_id,
        }
        for e in events
    ]
    ids = (
        conn.execute(insert(change_events).returning(change_events.c.id, sort_by_parameter_order=True), rows)
        .scalars()
        .all()
    )
    return [StoredEvent(int(i), e, sync_run_id) for i, e in zip(ids, events, strict=True)]


def stored_event_from_row(row: Any) -> StoredEvent:
    """A change_events row as a StoredEvent."""
    detected = row.detected_at if row.detected_at.tzinfo else row.detected_at.replace(tzinfo=UTC)
    event = ChangeEvent(
        nct_id=row.nct_id,
        type=EventType(row.type),
        severity=Severity(row.severity),
        path=row.path,
        before=row.before,
        after=row.after,
        summary=row.summary,
        old_version_id=row.old_version_id,
        new_version_id=row.new_version_id,
        registry_date=row.registry_date,
        detected_at=detected,
    )
    return StoredEvent(int(row.id), event, row.sync_run_id)


@dataclass(frozen=True)
class EventFilter:
    """Which events to list; empty fields do not filter."""

    since: date | None = None  # registry_date on or after
    types: tuple[str, ...] = ()
    nct_ids: tuple[str, ...] = ()
    include_administrative: bool = False
    min_severity: str | None = None
    after_id: int | None = None  # only events with a larger id (for cursors)
    detected_since: datetime | None = None
    until: date | None = None  # registry_date on or before
    # What the trial's current version is tagged with, and where it has sites (values are alternatives;
    # a target and a modality given together ask for one therapy with both, as trial search does).
    diseases: tuple[str, ...] = ()
    modalities: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()

    @property
    def by_trial(self) -> bool:
        """Whether the filter reads the trials' tags or sites."""
        return bool(self.diseases or self.modalities or self.targets or self.countries)


def _filtered(query: Select[Any], where: EventFilter) -> Select[Any]:
    if where.since is not None:
        query = query.where(change_events.c.registry_date >= where.since)
    if where.types:
        query = query.where(change_events.c.type.in_(where.types))
    if where.nct_ids:
        query = query.where(change_events.c.nct_id.in_(where.nct_ids))
    if not where.include_administrative:
        query = query.where(change_events.c.alertable.is_(True))
    if where.min_severity is not None:
        allowed = [name for name, rank in SEVERITY_RANK.items() if rank <= SEVERITY_RANK[where.min_severity]]
        query = query.where(change_events.c.severity.in_(allowed))
    if where.after_id is not None:
        query = query.where(change_events.c.id > where.after_id)
    if where.detected_since is not None:
        query = query.where(change_events.c.detected_at >= where.detected_since)
    if where.until is not None:
        query = query.where(change_events.c.registry_date <= where.until)
    if where.by_trial:
        # The catalog's own filters over each trial's current version (imported here: most readers
        # of events never filter by trial, and the catalog loads the lexicon module).
        from hemewatch.storage.catalog import TrialQuery, trial_conditions

        trial_filter = TrialQuery(
            disease=where.diseases,
            modality=where.modalities,
            target=where.targets,
            country=where.countries,
            in_scope_only=False,
        )
        chosen = select(trials.c.nct_id).where(*trial_conditions(trial_filter))
        query = query.where(change_events.c.nct_id.in_(chosen))
    return query


def count_events(conn: Connection, where: EventFilter | None = None) -> int:
    """How many change events match the filter (the count of what list_events lists)."""
    matching = _filtered(select(change_events.c.id), where or EventFilter()).subquery()
    return int(conn.scalar(select(func.count()).select_from(matching)) or 0)


def list_events(
    conn: Connection,
    where: EventFilter | None = None,
    *,
    limit: int | None = None,
    offset: int = 0,
    newest_first: bool = True,
    by_registry_date: bool = False,
) -> list[StoredEvent]:
    """Events matching the filter, newest first by default: in id (detection) order, or by registry date.

    A trial's timeline reads them by registry date: events found later from the record history
    (`hemewatch backfill`) have larger ids than the ones the sync found, but older dates.
    """
    query = _filtered(select(change_events), where or EventFilter())
    order = change_events.c.id.desc() if newest_first else change_events.c.id.asc()
    if by_registry_date:
        posted = change_events.c.registry_date
        query = query.order_by(posted.desc().nulls_last() if newest_first else posted.asc().nulls_first())
    query = query.order_by(order)
    if limit is not None:
        query = query.limit(limit)
    if offset:
        query = query.offset(offset)
    return [stored_event_from_row(row) for row in conn.execute(query)]


@dataclass(frozen=True)
class LatestChange:
    """The newest alertable event of a trial, as a one-line summary."""

    nct_id: str
    type: str
    severity: str
    summary: str
    registry_date: date | None


def latest_changes(conn: Connection, nct_ids: Sequence[str]) -> dict[str, LatestChange]:
    """The newest alertable change of each trial that has one: the last of its newest registry date.

    By date, not id: events found later in the record history (`hemewatch backfill`) are older.
    """
    found: dict[str, LatestChange] = {}
    for chunk in chunks(nct_ids):
        alertable = and_(change_events.c.nct_id.in_(list(chunk)), change_events.c.alertable.is_(True))
        newest_day = (
            select(change_events.c.nct_id, func.max(change_events.c.registry_date).label("day"))
            .where(alertable)
            .group_by(change_events.c.nct_id)
            .subquery()
        )
        newest = (
            select(func.max(change_events.c.id))
            .join(newest_day, newest_day.c.nct_id == change_events.c.nct_id)
            .where(
                alertable,
                or_(newest_day.c.day.is_(None), change_events.c.registry_date == newest_day.c.day),
            )
            .group_by(change_events.c.nct_id)
        )
        rows = conn.execute(select(change_events).where(change_events.c.id.in_(newest)))
        for row in rows:
            found[row.nct_id] = LatestChange(
                row.nct_id, row.type, row.severity, row.summary, row.registry_date
            )
    return found
