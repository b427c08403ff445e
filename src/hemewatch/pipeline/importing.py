"""`hemewatch import`: store every valid record found in files, name every bad one."""

from __future__ import annotations

import gc
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from hemewatch.pipeline.ingest import ingest_batch
from hemewatch.pipeline.pool import PreparePool, worker_count
from hemewatch.pipeline.progress import Progress, SilentProgress
from hemewatch.registry.bulk import InputItem, Rejection, iter_frames, list_input_files, total_input_bytes
from hemewatch.registry.scope import Scope
from hemewatch.storage.prepared import PreparedRecord, Quarantined
from hemewatch.storage.runs import (
    abandon_stale_runs,
    add_counts,
    finish_run,
    is_baseline,
    start_run,
    utc_now,
)
from hemewatch.storage.states import RunStatus
from hemewatch.storage.text_index import update_statistics

# A batch is committed when it holds this many records or this many bytes of study JSON,
# which bounds memory whatever the size of the input (the largest study is ~4 MB).
BATCH_RECORDS = 500
BATCH_BYTES = 8 * 1024 * 1024
KEPT_REJECTIONS = 1000
# Cyclic garbage is collected after every batch (young generations) and after this many in full.
FULL_COLLECT_BATCHES = 50
# The run status of an import or sync that stored everything it could and set some input aside.


@dataclass
class ImportReport:
    """What an import did."""

    run_id: int
    files: int = 0
    read: int = 0
    stored: int = 0
    unchanged: int = 0
    new_trials: int = 0
    out_of_scope: int = 0
    events: int = 0
    rejected: int = 0
    quarantined: int = 0
    rejections: list[Rejection] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "run_id": self.run_id,
            "files": self.files,
            "read": self.read,
            "stored": self.stored,
            "unchanged": self.unchanged,
            "new_trials": self.new_trials,
            "out_of_scope": self.out_of_scope,
            "events": self.events,
            "rejected": self.rejected,
            "quarantined": self.quarantined,
            "rejections": [{"location": r.location, "reason": r.reason} for r in self.rejections],
        }


def import_files(
    engine: Engine,
    paths: Sequence[Path],
    *,
    scope: Scope,
    in_scope_only: bool = False,
    source: str = "import",
    progress: Progress | None = None,
    baseline: bool | None = None,
    workers: int | None = None,
) -> ImportReport:
    """Import every record in the paths; each batch commits on its own, so a rerun resumes cheaply.

    An import into an empty mirror is a baseline (no change events); later imports detect
    changes against the stored versions like a sync does. `baseline` overrides that.
    Records are decoded, hashed and compressed on `workers` processes (by default one per
    core for large inputs, none for small ones, where starting them would cost more).
    """
    progress = progress or SilentProgress()
    files = list_input_files(paths)
    input_bytes = total_input_bytes(files)
    with engine.begin() as conn:
        abandon_stale_runs(conn, kinds=("import",))
        if baseline is None:
            baseline = is_baseline(conn)
        run_id = start_run(
            conn, kind="import", source=" ".join(str(p) for p in paths)[:2000], baseline=baseline
        )
    report = ImportReport(run_id=run_id, files=len(files))
    progress.start("Importing", input_bytes)
    batch: list[PreparedRecord] = []
    aside: list[Quarantined] = []
    batch_bytes = 0
    # Parsed JSON holds no reference cycles, yet allocating millions of dicts keeps
    # triggering the cycle collector; pausing it speeds the import up by a quarter.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    # Worker processes decode and prepare the records; one writer thread stores batch N
    # (SQLite runs outside the GIL) while this thread gathers batch N+1: at most two batches,
    # and a few chunks of input per worker, are in memory.
    pool = PreparePool(scope, workers=worker_count(input_bytes) if workers is None else workers)
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hemewatch-writer")
    pending: Future[None] | None = None

    flushed = 0

    def flush(records: list[PreparedRecord], quarantined: list[Quarantined]) -> None:
        nonlocal pending, flushed
        if pending is not None:
            pending.result()
            flushed += 1
            # Storing a batch leaves reference cycles behind (SQLAlchemy's statements and their
            # parameters, the batch's NCT ids among them): with the collector paused they would
            # pile up, one batch's worth at a time, for the whole import. Collect them now, while
            # the writer is idle: the young generations at every batch, everything now and then.
            gc.collect(2 if flushed % FULL_COLLECT_BATCHES == 0 else 1)
        pending = (
            writer.submit(
                _flush,
                engine,
                records,
                quarantined,
                report,
                scope=scope,
                in_scope_only=in_scope_only,
                source=source,
                baseline=bool(baseline),
            )
            if records or quarantined
            else None
        )

    try:
        for frame, outcomes in pool.prepare(iter_frames(files)):
            progress.advance(frame.consumed)
            if isinstance(frame, InputItem) and frame.rejection is not None:
                _reject(report, frame.rejection, progress)
            for outcome in outcomes:
                if isinstance(outcome, Rejection):
                    _reject(report, outcome, progress)
                    continue
                if isinstance(outcome, Quarantined):
                    # Named like any rejection, and kept with its JSON for `hemewatch quarantine`.
                    report.quarantined += 1
                    _reject(report, Rejection(outcome.location, f"{outcome.reason} (quarantined)"), progress)
                    aside.append(outcome)
                    continue
                report.read += 1
                batch.append(outcome)
                batch_bytes += outcome.raw_size
                if len(batch) >= BATCH_RECORDS or batch_bytes >= BATCH_BYTES:
                    flush(batch, aside)
                    batch, aside, batch_bytes = [], [], 0
        flush(batch, aside)
        flush([], [])
    except BaseException as exc:
        pool.close()
        if pending is not None:
            # Let the batch in flight finish or fail on its own: it is one transaction.
            pending.exception()
        writer.shutdown(wait=True)
        with engine.begin() as conn:
            finish_run(conn, run_id, status=RunStatus.FAILED, error=f"interrupted: {exc!r}")
        raise
    finally:
        pool.close()
        writer.shutdown(wait=True)
        if gc_was_enabled:
            gc.enable()
    with engine.begin() as conn:
        add_counts(conn, run_id, {"rejected": report.rejected})
        errors = "\n".join(str(r) for r in report.rejections[:50]) or None
        finish_run(
            conn,
            run_id,
            status=RunStatus.COMPLETED_ISSUES if report.rejected else RunStatus.COMPLETED,
            error=errors,
        )
    if report.stored:
        analyze(engine)
    return report


def analyze(engine: Engine) -> None:
    """Refresh the planner's statistics after a bulk load (PostgreSQL's autovacuum would take its time)."""
    with engine.begin() as conn:
        update_statistics(conn)


def _reject(report: ImportReport, rejection: Rejection, progress: Progress) -> None:
    report.rejected += 1
    if len(report.rejections) < KEPT_REJECTIONS:
        report.rejections.append(rejection)
    progress.note(f"skipped {rejection}")


def _flush(
    engine: Engine,
    batch: list[PreparedRecord],
    quarantined: list[Quarantined],
    report: ImportReport,
    *,
    scope: Scope,
    in_scope_only: bool,
    source: str,
    baseline: bool,
) -> None:
    if not batch and not quarantined:
        return
    with engine.begin() as conn:
        add_counts(conn, report.run_id, {"fetched": len(batch) + len(quarantined)})
        outcome, _ = ingest_batch(
            conn,
            batch,
            scope=scope,
            source=source,
            run_id=report.run_id,
            now=utc_now(),
            keep_out_of_scope=not in_scope_only,
            baseline=baseline,
            quarantined=quarantined,
        )
    report.stored += outcome.stored
    report.unchanged += outcome.unchanged
    report.new_trials += outcome.new_trials
    report.out_of_scope += outcome.out_of_scope
    report.events += outcome.events
