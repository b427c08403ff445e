"""The daily cycle: sync → re-tag → send what is due, recorded in the run log as one `cycle` run.

Change events and their deliveries are made while the sync stores versions (in the same
transaction as each page: see pipeline.ingest), so after the sync the outbox holds everything the
new registry release means for the trackers. Re-tagging brings versions tagged with an older
lexicon up to date (after an upgrade). Sending then delivers what is due: immediate and daily
notifications at once, weekly ones when their week ends, retries when their backoff is over.

A failed sync does not hold back what is due: re-tagging and sending still run, the cycle is
recorded as failed with the sync's error, and the report carries the error for the caller
(`hemewatch run` exits with it). An interruption (Ctrl-C, a scheduler asked to stop) ends the
cycle at once; every step is resumable, so the next cycle picks up where it stopped.

`daily_cycle` is the whole of it with what it needs — the sync lock, the watch scope, a registry
client — and what the records the sync set aside were: `hemewatch run` and the scheduler
(`hemewatch worker`, `hemewatch serve`) call it. `run_cycle` is the cycle itself, for a caller that
holds the lock.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from hemewatch.alerts import SendReport, send_due
from hemewatch.classification import Lexicon, default_lexicon
from hemewatch.errors import HemewatchError, JobAlreadyRunning
from hemewatch.pipeline.progress import Progress, SilentProgress
from hemewatch.pipeline.reclassify import reclassify
from hemewatch.pipeline.syncing import run_sync
from hemewatch.registry.client import RegistryClient
from hemewatch.registry.scope import Scope, load_scope
from hemewatch.settings import USER_AGENT, Settings
from hemewatch.storage.locks import OnWait, job_lock
from hemewatch.storage.quarantine import QuarantinedRecord, list_quarantined
from hemewatch.storage.runs import (
    CYCLE_KIND,
    SYNC_KINDS,
    SyncRun,
    abandon_stale_runs,
    finish_run,
    get_run,
    last_run,
    start_run,
    utc_now,
)
from hemewatch.storage.states import RunStatus

Clock = Callable[[], datetime]


def registry_client(settings: Settings, *, sleep: Callable[[float], None] = time.sleep) -> RegistryClient:
    """A registry client as the settings say (`sleep` is how it waits: rate limit, retries)."""
    return RegistryClient(
        settings.registry_url,
        user_agent=USER_AGENT,
        requests_per_minute=settings.requests_per_minute,
        timeout=settings.request_timeout,
        max_retries=settings.max_retries,
        sleep=sleep,
    )


def who_runs(role: str) -> str:
    """How a cycle names what ran it in the run log: "scheduler 4242@worker-1"."""
    return f"{role} {os.getpid()}@{socket.gethostname()}"


@dataclass
class CycleReport:
    """What one cycle did."""

    run: SyncRun  # the cycle's own row of the run log, finished
    sync: SyncRun | None  # the sync's row (None when it failed before recording one)
    sync_error: Exception | None
    retagged: int
    retag_skipped: str | None  # why re-tagging was skipped (a `hemewatch reclassify` runs)
    deliveries: SendReport = field(default_factory=SendReport)
    set_aside: list[QuarantinedRecord] = field(default_factory=list)  # the records the sync quarantined

    @property
    def problems(self) -> bool:
        """The sync completed but set records aside, or a delivery attempt failed."""
        synced_with_issues = self.sync is not None and self.sync.status == RunStatus.COMPLETED_ISSUES
        return synced_with_issues or self.deliveries.failed > 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return self.run.to_dict()


def daily_cycle(
    engine: Engine,
    settings: Settings,
    *,
    who: str,
    wait: bool = False,
    on_wait: OnWait | None = None,
    client: RegistryClient | None = None,
    scope: Scope | None = None,
    full: bool = False,
    progress: Progress | None = None,
    lexicon: Lexicon | None = None,
    clock: Clock = utc_now,
) -> CycleReport:
    """The daily cycle under the sync lock: sync, re-tag, send what is due (see `run_cycle`).

    Another process holding the sync lock: JobAlreadyRunning, or with `wait` a wait (`on_wait` is
    told who holds it). The watch scope and a registry client are made from the settings unless
    given (the scheduler keeps its own). The report names the records the sync set aside.
    """
    with job_lock(engine, "sync", wait=wait, on_wait=on_wait), ExitStack() as stack:
        if client is None:
            client = stack.enter_context(registry_client(settings))
        report = run_cycle(
            engine,
            settings,
            client,
            scope if scope is not None else load_scope(settings.scope_file),
            who=who,
            full=full,
            progress=progress,
            lexicon=lexicon,
            clock=clock,
        )
    report.set_aside = set_aside(engine, report.sync)
    return report


def set_aside(engine: Engine, synced: SyncRun | None) -> list[QuarantinedRecord]:
    """The records a sync quarantined (none unless it completed with issues)."""
    if synced is None or synced.status != RunStatus.COMPLETED_ISSUES:
        return []
    with engine.connect() as conn:
        return list_quarantined(conn, run_id=synced.id)


def run_cycle(
    engine: Engine,
    settings: Settings,
    client: RegistryClient,
    scope: Scope,
    *,
    who: str,
    full: bool = False,
    progress: Progress | None = None,
    lexicon: Lexicon | None = None,
    clock: Clock = utc_now,
) -> CycleReport:
    """Sync, re-tag, send what is due; record it all as one `cycle` run. The caller holds the sync lock.

    `who` names the caller in the run log (see `who_runs`). An exception from the sync is kept in
    the report (the cycle is then `failed`); an interruption (BaseException) marks the cycle failed
    and propagates.
    """
    progress = progress or SilentProgress()
    with engine.begin() as conn:
        # Cycles run under the sync lock: one left running was killed.
        abandon_stale_runs(conn, kinds=(CYCLE_KIND,))
        cycle_id = start_run(conn, kind=CYCLE_KIND, source=who[:2000])
    synced: SyncRun | None = None
    sync_error: Exception | None = None
    try:
        try:
            synced = run_sync(
                engine, client, scope, page_size=settings.page_size, force_full=full, progress=progress
            )
        except Exception as exc:  # kept for the caller, once what is due is delivered
            sync_error = exc
        retagged, retag_skipped = _retag(engine, lexicon, progress)
        deliveries = send_due(engine, settings, clock=clock)
    except BaseException as exc:
        message = exc.message if isinstance(exc, HemewatchError) else f"interrupted ({type(exc).__name__})"
        with engine.begin() as conn:
            finish_run(conn, cycle_id, status=RunStatus.FAILED, error=message)
        raise
    with engine.begin() as conn:
        if synced is None:
            # run_sync records a failed run before it raises (unless the database itself failed).
            latest = last_run(conn, kinds=SYNC_KINDS)
            synced = latest if latest is not None and latest.id > cycle_id else None
        status, error = _outcome(synced, sync_error, deliveries)
        details = {
            "sync": _sync_details(synced),
            "retagged": retagged,
            "retag_skipped": retag_skipped,
            "deliveries": deliveries.to_dict(),
        }
        finish_run(conn, cycle_id, status=status, error=error, details=details)
        run = get_run(conn, cycle_id)
    return CycleReport(
        run=run,
        sync=synced,
        sync_error=sync_error,
        retagged=retagged,
        retag_skipped=retag_skipped,
        deliveries=deliveries,
    )


def _retag(engine: Engine, lexicon: Lexicon | None, progress: Progress) -> tuple[int, str | None]:
    # After an upgrade that changed the lexicons, bring stored tags up to date, unless a
    # `hemewatch reclassify` is doing just that.
    try:
        with job_lock(engine, "reclassify"):
            return reclassify(engine, lexicon=lexicon or default_lexicon(), progress=progress), None
    except JobAlreadyRunning as exc:
        return 0, exc.message


def _outcome(
    synced: SyncRun | None, sync_error: Exception | None, deliveries: SendReport
) -> tuple[RunStatus, str | None]:
    if sync_error is not None:
        message = sync_error.message if isinstance(sync_error, HemewatchError) else repr(sync_error)
        return RunStatus.FAILED, f"sync: {message}"
    problems = []
    if synced is not None and synced.status == RunStatus.COMPLETED_ISSUES:
        problems.append(f"sync #{synced.id} set {synced.counts.get('rejected', 0)} records aside")
    if deliveries.failed:
        problems.append(
            f"{deliveries.failed} delivery attempts failed ({deliveries.retrying} will be retried, "
            f"{deliveries.dead} gave up)"
        )
    if problems:
        return RunStatus.COMPLETED_ISSUES, "; ".join(problems)
    return RunStatus.COMPLETED, None


def _sync_details(synced: SyncRun | None) -> dict[str, Any] | None:
    if synced is None:
        return None
    return {
        "id": synced.id,
        "kind": synced.kind,
        "status": synced.status,
        "data_timestamp": synced.data_timestamp,
        "counts": synced.counts,
        "error": synced.error,
    }
