"""The run log: when each sync, import or cycle started and finished, what it saw, and how it ended.

Also the schedulers' heartbeats: one row per scheduler process, saying what it did last and plans next.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Final

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection

from hemewatch.storage.states import RunStatus
from hemewatch.storage.tables import (
    change_events,
    classifications,
    scheduler_heartbeats,
    study_versions,
    sync_runs,
    trial_tags,
    trials,
)

RUN_COUNTERS = ("fetched", "stored", "unchanged", "new_trials", "out_of_scope", "rejected", "events")
SYNC_KINDS = ("full", "incremental")
# The runs that fill the mirror: once one of them has completed, later ones detect changes.
MIRROR_KINDS = (*SYNC_KINDS, "import")
# The daily cycle (sync, re-tag, send what is due): `hemewatch run` and the scheduler record one each time.
CYCLE_KIND = "cycle"
ABANDONED = "the process stopped before the run finished"
COMPLETED_STATUSES = (RunStatus.COMPLETED, RunStatus.COMPLETED_ISSUES)
# A run that ended without completing: it raised, or it was killed (found still running later).
FAILED_STATUSES = (RunStatus.FAILED, RunStatus.ABANDONED)


@dataclass(frozen=True)
class SyncRun:
    """A row of sync_runs."""

    id: int
    kind: str
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None
    data_timestamp: str | None
    since: date | None
    baseline: bool
    counts: dict[str, int]
    error: str | None
    source: str | None
    details: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "data_timestamp": self.data_timestamp,
            "since": self.since.isoformat() if self.since else None,
            "baseline": self.baseline,
            "counts": self.counts,
            "error": self.error,
            "source": self.source,
            "details": self.details,
        }


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def _as_utc(value: datetime | None) -> datetime | None:
    # SQLite returns naive datetimes; everything stored is UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _row_to_run(row: Any) -> SyncRun:
    started = _as_utc(row.started_at)
    assert started is not None
    return SyncRun(
        id=row.id,
        kind=row.kind,
        status=RunStatus(row.status),
        started_at=started,
        finished_at=_as_utc(row.finished_at),
        data_timestamp=row.data_timestamp,
        since=row.since,
        baseline=bool(row.baseline),
        counts={name: int(getattr(row, name)) for name in RUN_COUNTERS},
        error=row.error,
        source=row.source,
        details=row.details,
    )


def start_run(
    conn: Connection,
    *,
    kind: str,
    source: str | None = None,
    data_timestamp: str | None = None,
    since: date | None = None,
    baseline: bool = False,
) -> int:
    """Record a run as started and return its id (commit it so a crash leaves a trace)."""
    values: dict[str, Any] = dict.fromkeys(RUN_COUNTERS, 0)
    values.update(
        kind=kind,
        status=RunStatus.RUNNING,
        started_at=utc_now(),
        source=source,
        data_timestamp=data_timestamp,
        since=since,
        baseline=baseline,
    )
    result = conn.execute(insert(sync_runs).values(**values).returning(sync_runs.c.id))
    return int(result.scalar_one())


def add_counts(conn: Connection, run_id: int, counts: dict[str, int]) -> None:
    """Add to a run's counters (called in the same transaction as the work counted)."""
    changes = {name: sync_runs.c[name] + amount for name, amount in counts.items() if amount}
    if changes:
        conn.execute(update(sync_runs).where(sync_runs.c.id == run_id).values(**changes))


def finish_run(
    conn: Connection,
    run_id: int,
    *,
    status: RunStatus,
    error: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Mark a run completed, failed or skipped (with its details, when it has any)."""
    values: dict[str, Any] = {"status": status, "error": error, "finished_at": utc_now()}
    if details is not None:
        values["details"] = details
    conn.execute(update(sync_runs).where(sync_runs.c.id == run_id).values(**values))


def abandon_stale_runs(conn: Connection, *, kinds: tuple[str, ...]) -> int:
    """Mark runs of these kinds still `running` as `abandoned`; call it when a new run of the kind starts.

    A run still marked running when the next one of its kind starts was killed (kill -9, power
    loss): what it stored is committed per batch, and the next run re-reads from the last
    completed one. Returns how many runs were abandoned.
    """
    result = conn.execute(
        update(sync_runs)
        .where(sync_runs.c.status == RunStatus.RUNNING, sync_runs.c.kind.in_(kinds))
        .values(status=RunStatus.ABANDONED, finished_at=utc_now(), error=ABANDONED)
    )
    return int(result.rowcount or 0)


def is_baseline(conn: Connection) -> bool:
    """Whether a sync or import starting now is a baseline: no sync or import has ever completed here.

    A baseline stores without detecting changes (everything would be "new"). The answer is
    recorded on the run when it starts and kept until it completes, so a first run that is
    killed or fails leaves the next one a baseline too, whatever it managed to store.
    """
    completed = conn.execute(
        select(sync_runs.c.id)
        .where(sync_runs.c.kind.in_(MIRROR_KINDS), sync_runs.c.status.in_(COMPLETED_STATUSES))
        .limit(1)
    ).first()
    return completed is None


def get_run(conn: Connection, run_id: int) -> SyncRun:
    """Load one run."""
    return _row_to_run(conn.execute(select(sync_runs).where(sync_runs.c.id == run_id)).one())


def last_run(
    conn: Connection, *, kinds: tuple[str, ...], status: RunStatus | tuple[RunStatus, ...] | None = None
) -> SyncRun | None:
    """The most recent run of these kinds (optionally with this status, or one of these)."""
    query = select(sync_runs).where(sync_runs.c.kind.in_(kinds))
    if status is not None:
        query = query.where(sync_runs.c.status.in_([status] if isinstance(status, str) else status))
    row = conn.execute(query.order_by(sync_runs.c.id.desc()).limit(1)).first()
    return _row_to_run(row) if row is not None else None


def mirror_summary(conn: Connection) -> dict[str, Any]:
    """Counts of trials and versions and the last sync, as printed by `hemewatch status`."""
    trial_count = conn.execute(select(func.count()).select_from(trials)).scalar_one()
    in_scope = conn.execute(select(func.count()).select_from(trials).where(trials.c.in_scope)).scalar_one()
    version_count = conn.execute(select(func.count()).select_from(study_versions)).scalar_one()
    last_sync = last_run(conn, kinds=SYNC_KINDS)
    last_completed = last_run(conn, kinds=SYNC_KINDS, status=COMPLETED_STATUSES)
    last_import = last_run(conn, kinds=("import",))
    return {
        "trials": int(trial_count),
        "trials_in_scope": int(in_scope),
        "versions": int(version_count),
        "last_sync": last_sync.to_dict() if last_sync else None,
        "last_completed_sync": last_completed.to_dict() if last_completed else None,
        "last_import": last_import.to_dict() if last_import else None,
    }


def last_sync(conn: Connection) -> dict[str, Any] | None:
    """When the mirror was last brought up to date (sync or import), or None before the first run."""
    row = conn.execute(
        select(sync_runs.c.kind, sync_runs.c.finished_at, sync_runs.c.data_timestamp)
        .where(sync_runs.c.status.in_(COMPLETED_STATUSES))
        .order_by(sync_runs.c.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return {"kind": row.kind, "finished_at": row.finished_at, "data_timestamp": row.data_timestamp}


# Built once: every web request reads the stamp, and SQLAlchemy keeps a statement object's cache key
# (building the statement anew for each read was a tenth of a search page's time).
_DATA_STAMP: Final = select(
    select(func.coalesce(func.max(study_versions.c.id), 0)).scalar_subquery(),
    select(func.coalesce(func.max(change_events.c.id), 0)).scalar_subquery(),
    select(func.coalesce(func.max(trial_tags.c.id), 0)).scalar_subquery(),
    select(func.max(classifications.c.classified_at)).scalar_subquery(),
)


def data_stamp(conn: Connection) -> tuple[Any, ...]:
    """A value that changes whenever versions, events, tags or classifications are stored.

    Each part is one index lookup: the newest id of versions, events and tags, and the time of the
    newest classification (a version classified again with no tag before or after moves only that).
    """
    return tuple(conn.execute(_DATA_STAMP).one())


def last_run_of_each(conn: Connection, kinds: dict[str, tuple[str, ...]]) -> dict[str, SyncRun | None]:
    """For each name, the most recent run of its kinds (`{"sync": SYNC_KINDS, "cycle": ("cycle",)}`)."""
    return {name: last_run(conn, kinds=group) for name, group in kinds.items()}


@dataclass(frozen=True)
class Heartbeat:
    """A row of scheduler_heartbeats: one scheduler process as it last described itself."""

    worker: str
    host: str
    pid: int
    role: str  # active | standby | stopped
    started_at: datetime
    beat_at: datetime
    active_since: datetime | None = None
    next_beat_at: datetime | None = None
    last_poll_at: datetime | None = None
    poll_error: str | None = None
    registry_timestamp: str | None = None
    next_action: str | None = None
    next_action_at: datetime | None = None
    public_url: str | None = None
    warnings: list[str] = field(default_factory=list)
    stopped_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        values: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            values[name] = value.isoformat() if isinstance(value, datetime) else value
        return values


def record_heartbeat(conn: Connection, beat: Heartbeat) -> None:
    """Write a scheduler's heartbeat (each process writes only its own row)."""
    values = {name: getattr(beat, name) for name in beat.__dataclass_fields__}
    done = conn.execute(
        update(scheduler_heartbeats).where(scheduler_heartbeats.c.worker == beat.worker).values(**values)
    )
    if not done.rowcount:
        conn.execute(insert(scheduler_heartbeats).values(**values))


def list_heartbeats(conn: Connection, *, since: datetime | None = None) -> list[Heartbeat]:
    """Schedulers that beat since `since` (all when None), the most recent beat first."""
    query = select(scheduler_heartbeats)
    if since is not None:
        query = query.where(scheduler_heartbeats.c.beat_at >= since)
    rows = conn.execute(query.order_by(scheduler_heartbeats.c.beat_at.desc()))
    return [_row_to_heartbeat(row) for row in rows]


def prune_heartbeats(conn: Connection, *, before: datetime) -> int:
    """Forget schedulers silent since before `before`; returns how many."""
    done = conn.execute(delete(scheduler_heartbeats).where(scheduler_heartbeats.c.beat_at < before))
    return int(done.rowcount or 0)


def _row_to_heartbeat(row: Any) -> Heartbeat:
    started, beat = _as_utc(row.started_at), _as_utc(row.beat_at)
    assert started is not None and beat is not None
    return Heartbeat(
        worker=row.worker,
        host=row.host,
        pid=int(row.pid),
        role=row.role,
        started_at=started,
        beat_at=beat,
        active_since=_as_utc(row.active_since),
        next_beat_at=_as_utc(row.next_beat_at),
        last_poll_at=_as_utc(row.last_poll_at),
        poll_error=row.poll_error,
        registry_timestamp=row.registry_timestamp,
        next_action=row.next_action,
        next_action_at=_as_utc(row.next_action_at),
        public_url=row.public_url,
        warnings=list(row.warnings or []),
        stopped_at=_as_utc(row.stopped_at),
    )
