"""The run log: when each sync or import started and finished, what it saw, and how it ended."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from hemewatch.storage.tables import study_versions, sync_runs, trials

RUN_COUNTERS = ("fetched", "stored", "unchanged", "new_trials", "out_of_scope", "rejected", "events")
SYNC_KINDS = ("full", "incremental")
# The runs that fill the mirror: once one of them has completed, later ones detect changes.
MIRROR_KINDS = (*SYNC_KINDS, "import")
ABANDONED = "the process stopped before the run finished"
# A run that stored everything it could but set records aside (quarantine) or rejected input.
# (sync_runs.status holds 16 characters.)
COMPLETED_WITH_ISSUES = "completed_issues"
COMPLETED_STATUSES = ("completed", COMPLETED_WITH_ISSUES)


@dataclass(frozen=True)
class SyncRun:
    """A row of sync_runs."""

    id: int
    kind: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    data_timestamp: str | None
    since: date | None
    baseline: bool
    counts: dict[str, int]
    error: str | None
    source: str | None

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
        status=row.status,
        started_at=started,
        finished_at=_as_utc(row.finished_at),
        data_timestamp=row.data_timestamp,
        since=row.since,
        baseline=bool(row.baseline),
        counts={name: int(getattr(row, name)) for name in RUN_COUNTERS},
        error=row.error,
        source=row.source,
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
        status="running",
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


def finish_run(conn: Connection, run_id: int, *, status: str, error: str | None = None) -> None:
    """Mark a run completed, failed or skipped."""
    conn.execute(
        update(sync_runs)
        .where(sync_runs.c.id == run_id)
        .values(status=status, error=error, finished_at=utc_now())
    )


def abandon_stale_runs(conn: Connection, *, kinds: tuple[str, ...]) -> int:
    """Mark runs of these kinds still `running` as `abandoned`; call it when a new run of the kind starts.

    A run still marked running when the next one of its kind starts was killed (kill -9, power
    loss): what it stored is committed per batch, and the next run re-reads from the last
    completed one. Returns how many runs were abandoned.
    """
    result = conn.execute(
        update(sync_runs)
        .where(sync_runs.c.status == "running", sync_runs.c.kind.in_(kinds))
        .values(status="abandoned", finished_at=utc_now(), error=ABANDONED)
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
    conn: Connection, *, kinds: tuple[str, ...], status: str | tuple[str, ...] | None = None
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
