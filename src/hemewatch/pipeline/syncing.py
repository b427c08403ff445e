"""`hemewatch sync`: mirror the watch scope from ClinicalTrials.gov, incrementally after the first run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Engine

from hemewatch.errors import HemewatchError, IncompleteResults
from hemewatch.pipeline.ingest import ingest_batch
from hemewatch.pipeline.progress import Progress, SilentProgress
from hemewatch.registry.client import RegistryClient, RegistryVersion, describe_query
from hemewatch.registry.records import StudyRecord, parse_study
from hemewatch.registry.scope import Scope
from hemewatch.storage.runs import (
    COMPLETED_STATUSES,
    SYNC_KINDS,
    SyncRun,
    abandon_stale_runs,
    add_counts,
    finish_run,
    get_run,
    is_baseline,
    last_run,
    start_run,
    utc_now,
)
from hemewatch.storage.states import RunStatus
from hemewatch.storage.text_index import update_statistics
from hemewatch.storage.watchlist import watched_ids

__all__ = [
    "IDS_PER_QUERY",
    "OVERLAP",
    "QUERY_ATTEMPTS",
    "SYNC_KINDS",
    "SyncPlan",
    "build_queries",
    "build_watched_queries",
    "plan_sync",
    "run_sync",
]

# The registry's update dates are calendar days in US Eastern time and the daily release
# lands mid-morning: re-reading one day before the last release misses nothing.
OVERLAP = timedelta(days=1)
# How many times one query is read from its first page before a short list fails the run.
QUERY_ATTEMPTS = 3
# Watched trials are read by NCT id, this many to a query: about 1,200 characters of URL.
IDS_PER_QUERY = 100


@dataclass(frozen=True)
class SyncPlan:
    """What the next sync will do."""

    kind: str  # full | incremental
    since: date | None
    baseline: bool


def plan_sync(last_completed: SyncRun | None, *, force_full: bool, baseline: bool) -> SyncPlan:
    """Decide between a full and an incremental run from the last completed one.

    ``baseline`` comes from the run log (storage.runs.is_baseline), not from what is stored:
    a first run killed half-way leaves trials behind, and its rerun is still a baseline.
    """
    if last_completed is None or force_full:
        return SyncPlan(kind="full", since=None, baseline=baseline)
    return SyncPlan(kind="incremental", since=_data_date(last_completed) - OVERLAP, baseline=baseline)


def _data_date(run: SyncRun) -> date:
    if run.data_timestamp:
        try:
            return date.fromisoformat(run.data_timestamp[:10])
        except ValueError:
            pass
    return run.started_at.date()


def build_queries(scope: Scope, since: date | None) -> list[dict[str, str]]:
    """The /studies parameters for each scope query, limited to updates since `since`."""
    return [_windowed(dict(query), since) for query in scope.queries]


def build_watched_queries(nct_ids: Sequence[str], since: date | None) -> list[dict[str, str]]:
    """The /studies parameters reading watched trials by NCT id (filter.ids), in the same update window."""
    return [
        _windowed({"filter.ids": ",".join(nct_ids[start : start + IDS_PER_QUERY])}, since)
        for start in range(0, len(nct_ids), IDS_PER_QUERY)
    ]


def _windowed(params: dict[str, str], since: date | None) -> dict[str, str]:
    if since is not None:
        window = f"AREA[LastUpdatePostDate]RANGE[{since.isoformat()},MAX]"
        existing = params.get("filter.advanced")
        params["filter.advanced"] = f"({existing}) AND {window}" if existing else window
    return params


def run_sync(
    engine: Engine,
    client: RegistryClient,
    scope: Scope,
    *,
    page_size: int = 1000,
    force_full: bool = False,
    progress: Progress | None = None,
) -> SyncRun:
    """Fetch what changed since the last completed run and store it; return the run record.

    The run completes only when every query returned every study the registry counted for
    it; otherwise it is recorded as failed and the error is raised (IncompleteResults for a
    list that stayed short). The next run starts again from the last completed one.
    """
    progress = progress or SilentProgress()
    with engine.begin() as conn:
        abandon_stale_runs(conn, kinds=SYNC_KINDS)
        last_completed = last_run(conn, kinds=SYNC_KINDS, status=COMPLETED_STATUSES)
        plan = plan_sync(last_completed, force_full=force_full, baseline=is_baseline(conn))
    version = _registry_version(engine, client, plan)
    if (
        plan.kind == "incremental"
        and last_completed is not None
        and last_completed.data_timestamp == version.data_timestamp
    ):
        with engine.begin() as conn:
            run_id = start_run(
                conn, kind="incremental", data_timestamp=version.data_timestamp, since=plan.since
            )
            finish_run(conn, run_id, status=RunStatus.SKIPPED, error=None)
            return get_run(conn, run_id)
    queries = build_queries(scope, plan.since)
    with engine.begin() as conn:
        # Watched trials are read whether or not the scope queries find them: a duplicate is
        # stored once (same content hash), and a few ids cost one request.
        watched = build_watched_queries(watched_ids(conn), plan.since)
        described = [describe_query(q) for q in queries]
        if watched:
            described.append(f"filter.ids=… ({len(watched)} queries for the watched trials)")
        run_id = start_run(
            conn,
            kind=plan.kind,
            data_timestamp=version.data_timestamp,
            since=plan.since,
            baseline=plan.baseline,
            source=" | ".join(described)[:2000],
        )
    reading = _Reading(engine, client, scope, run_id, page_size, plan.baseline, progress)
    try:
        for params in [*queries, *watched]:
            _sync_query(reading, params)
    except BaseException as exc:
        message = exc.message if isinstance(exc, HemewatchError) else f"interrupted ({type(exc).__name__})"
        with engine.begin() as conn:
            finish_run(conn, run_id, status=RunStatus.FAILED, error=message)
        raise
    with engine.begin() as conn:
        # Records set aside (quarantine) or refused leave the run complete but not clean.
        counts = get_run(conn, run_id).counts
        issues = counts.get("rejected", 0)
        finish_run(conn, run_id, status=RunStatus.COMPLETED_ISSUES if issues else RunStatus.COMPLETED)
        if plan.kind == "full" and counts.get("stored", 0):
            # A first or full sync fills the tables: without fresh statistics PostgreSQL plans the
            # first pages as if they were empty.
            update_statistics(conn)
        return get_run(conn, run_id)  # with its finish time and status


def _registry_version(engine: Engine, client: RegistryClient, plan: SyncPlan) -> RegistryVersion:
    """GET /version; when it fails, the planned run is recorded as failed so `status` shows why."""
    try:
        return client.get_version()
    except HemewatchError as exc:
        with engine.begin() as conn:
            run_id = start_run(
                conn, kind=plan.kind, since=plan.since, baseline=plan.baseline, source="/version"
            )
            finish_run(conn, run_id, status=RunStatus.FAILED, error=exc.message)
        raise


@dataclass(frozen=True)
class _Reading:
    """What every query of one run is read with."""

    engine: Engine
    client: RegistryClient
    scope: Scope
    run_id: int
    page_size: int
    baseline: bool
    progress: Progress


def _sync_query(reading: _Reading, params: dict[str, str]) -> None:
    """Read one query until the registry has sent every study it counted, or fail loudly."""
    for attempt in range(1, QUERY_ATTEMPTS + 1):
        try:
            _read_query(reading, params)
            return
        except IncompleteResults as short:
            # Read again from the first page, not from the last good token: a list that ends
            # early may come from a release landing mid-paging, which makes old tokens and the
            # old count stale; a fresh read has one count and one snapshot. Stored pages come
            # back unchanged (same content hash), so the cost is requests, not writes.
            if attempt == QUERY_ATTEMPTS:
                raise IncompleteResults(
                    f"{short.message}, on each of {QUERY_ATTEMPTS} attempts; the run is marked failed. "
                    "The studies received are stored; the next sync reads this query again.",
                    received=short.received,
                    expected=short.expected,
                ) from None
            reading.progress.note(
                f"{short.message}; reading the query again ({attempt + 1} of {QUERY_ATTEMPTS})"
            )


def _read_query(reading: _Reading, params: dict[str, str]) -> None:
    engine, client, progress, run_id = reading.engine, reading.client, reading.progress, reading.run_id
    progress.start("Syncing", None)
    for page in client.iter_study_pages(params, page_size=reading.page_size):
        if page.total_count is not None:
            progress.set_total(page.total_count)
        records: list[StudyRecord] = []
        rejected = 0
        for index, obj in enumerate(page.studies):
            try:
                records.append(parse_study(obj))
            except HemewatchError as exc:
                rejected += 1
                progress.note(f"skipped study {index} of page {page.page_number}: {exc.message}")
        # One transaction per page: a crash loses at most the page in flight, and the
        # content hash makes re-reading it harmless.
        with engine.begin() as conn:
            add_counts(conn, run_id, {"fetched": len(page.studies), "rejected": rejected})
            ingest_batch(
                conn,
                records,
                scope=reading.scope,
                source="sync",
                run_id=run_id,
                now=utc_now(),
                keep_out_of_scope=False,
                baseline=reading.baseline,
            )
        progress.advance(len(page.studies))
