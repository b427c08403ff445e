"""`hemewatch sync`: mirror the watch scope from ClinicalTrials.gov, incrementally after the first run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine, update

from hemewatch.errors import HemewatchError
from hemewatch.pipeline.ingest import ingest_batch
from hemewatch.pipeline.progress import Progress, SilentProgress
from hemewatch.registry.client import RegistryClient
from hemewatch.registry.records import StudyRecord, parse_study
from hemewatch.registry.scope import Scope
from hemewatch.storage.runs import SyncRun, add_counts, finish_run, get_run, last_run, start_run, utc_now
from hemewatch.storage.tables import sync_runs

SYNC_KINDS = ("full", "incremental")
# The registry's update dates are calendar days in US Eastern time and the daily release
# lands mid-morning: re-reading one day before the last release misses nothing.
OVERLAP = timedelta(days=1)


@dataclass(frozen=True)
class SyncPlan:
    """What the next sync will do."""

    kind: str  # full | incremental
    since: date | None
    baseline: bool


def plan_sync(last_completed: SyncRun | None, *, force_full: bool) -> SyncPlan:
    """Decide between a full and an incremental run from the last completed one."""
    baseline = last_completed is None
    if last_completed is None or force_full:
        return SyncPlan(kind="full", since=None, baseline=baseline)
    return SyncPlan(kind="incremental", since=_data_date(last_completed) - OVERLAP, baseline=False)


def _data_date(run: SyncRun) -> date:
    if run.data_timestamp:
        try:
            return date.fromisoformat(run.data_timestamp[:10])
        except ValueError:
            pass
    return run.started_at.date()


def build_queries(scope: Scope, since: date | None) -> list[dict[str, str]]:
    """The /studies parameters for each scope query, limited to updates since `since`."""
    queries = []
    for query in scope.queries:
        params = dict(query)
        if since is not None:
            window = f"AREA[LastUpdatePostDate]RANGE[{since.isoformat()},MAX]"
            existing = params.get("filter.advanced")
            params["filter.advanced"] = f"({existing}) AND {window}" if existing else window
        queries.append(params)
    return queries


def _abandon_stale_runs(engine: Engine) -> None:
    # A run still marked running was killed (kill -9, power loss): what it stored is
    # committed and complete per batch; the next run re-reads from the last completed one.
    with engine.begin() as conn:
        conn.execute(
            update(sync_runs)
            .where(sync_runs.c.status == "running", sync_runs.c.kind.in_(SYNC_KINDS))
            .values(
                status="abandoned", finished_at=utc_now(), error="the process stopped before the run finished"
            )
        )


def run_sync(
    engine: Engine,
    client: RegistryClient,
    scope: Scope,
    *,
    page_size: int = 1000,
    force_full: bool = False,
    progress: Progress | None = None,
) -> SyncRun:
    """Fetch what changed since the last completed run and store it; return the run record."""
    progress = progress or SilentProgress()
    _abandon_stale_runs(engine)
    with engine.connect() as conn:
        last_completed = last_run(conn, kinds=SYNC_KINDS, status="completed")
    version = client.get_version()
    plan = plan_sync(last_completed, force_full=force_full)
    if (
        plan.kind == "incremental"
        and last_completed is not None
        and last_completed.data_timestamp == version.data_timestamp
    ):
        with engine.begin() as conn:
            run_id = start_run(
                conn, kind="incremental", data_timestamp=version.data_timestamp, since=plan.since
            )
            finish_run(conn, run_id, status="skipped", error=None)
            return get_run(conn, run_id)
    queries = build_queries(scope, plan.since)
    with engine.begin() as conn:
        run_id = start_run(
            conn,
            kind=plan.kind,
            data_timestamp=version.data_timestamp,
            since=plan.since,
            baseline=plan.baseline,
            source=" | ".join(_describe(q) for q in queries)[:2000],
        )
    try:
        for params in queries:
            _sync_query(
                engine,
                client,
                scope,
                params,
                run_id=run_id,
                page_size=page_size,
                baseline=plan.baseline,
                progress=progress,
            )
    except BaseException as exc:
        message = exc.message if isinstance(exc, HemewatchError) else f"interrupted ({type(exc).__name__})"
        with engine.begin() as conn:
            finish_run(conn, run_id, status="failed", error=message)
        raise
    with engine.begin() as conn:
        finish_run(conn, run_id, status="completed")
        return get_run(conn, run_id)


def _describe(params: dict[str, Any]) -> str:
    return "&".join(f"{key}={value}" for key, value in params.items())


def _sync_query(
    engine: Engine,
    client: RegistryClient,
    scope: Scope,
    params: dict[str, str],
    *,
    run_id: int,
    page_size: int,
    baseline: bool,
    progress: Progress,
) -> None:
    progress.start("Syncing", None)
    for page in client.iter_study_pages(params, page_size=page_size):
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
                scope=scope,
                source="sync",
                run_id=run_id,
                now=utc_now(),
                keep_out_of_scope=False,
                baseline=baseline,
            )
        progress.advance(len(page.studies))
