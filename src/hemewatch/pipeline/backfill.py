"""`hemewatch backfill`: store a trial's past versions from the registry's record history, with their dates.

For each trial: list its versions (registry.history), record the list (table record_history), fetch
every version not fetched yet and store it as a study version of source "history", classify it, and
compute the change events between consecutive versions, registration first, up to the junction with
the first version the mirror stored itself. The events carry the registry's own dates.

What it never does:

- change a trial's current version: a listed version is stored only when it is older than the
  current one; one posted the same day as a mirrored version is that version (linked, not stored
  again), and one newer than the mirror is left for the next sync;
- alert: the events are stored for the timeline and never queued for delivery, and no new_trial
  event is made (the registration is the first version of the record history, not news);
- diff twice: the changes the sync saw between its own versions stay as they are; versions that
  fall between two mirrored versions are stored without events of their own.

Every version is committed with its events in one transaction, holding the sync lock only while
writing: an interrupted backfill resumes at the first version not fetched, and a rerun stores nothing.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from hemewatch.classification import default_lexicon
from hemewatch.errors import HemewatchError, RecordHistoryChanged, TrialNotFound
from hemewatch.history import ChangeEvent, diff_versions
from hemewatch.pipeline.progress import Progress, SilentProgress
from hemewatch.pipeline.tagging import tag_versions
from hemewatch.registry.client import RegistryClient
from hemewatch.registry.history import fetch_history, fetch_version
from hemewatch.registry.records import StudyRecord, normalise_nct_id, validate_study
from hemewatch.storage.events import store_events
from hemewatch.storage.locks import job_lock
from hemewatch.storage.record_history import (
    HISTORY_SOURCE,
    MirroredVersion,
    current_version_id,
    has_diff_events,
    has_events,
    history_rows,
    is_classified_trial,
    mark_fetched,
    mirrored_versions,
    save_listing,
)
from hemewatch.storage.runs import (
    abandon_stale_runs,
    add_counts,
    finish_run,
    start_run,
    utc_now,
)
from hemewatch.storage.states import RunStatus
from hemewatch.storage.versions import load_version, store_records

RUN_KIND = "backfill"
# The lock a backfill takes while writing: the sync's, so the two never write one trial at once.
LOCK_KIND = "sync"


@dataclass
class TrialBackfill:
    """What the backfill did for one trial."""

    nct_id: str
    listed: int = 0  # versions the registry lists
    new_listed: int = 0  # of which first listed by this run
    fetched: int = 0
    stored: int = 0  # new study versions of source "history"
    linked: int = 0  # fetched versions that were a stored version already
    newer: int = 0  # listed versions newer than the mirror: left for the next sync
    events: Counter[str] = field(default_factory=Counter)  # by type, administrative ones included
    registered: date | None = None  # the registration (version 0) as the registry posted it
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "nct_id": self.nct_id,
            "listed": self.listed,
            "new_listed": self.new_listed,
            "fetched": self.fetched,
            "stored": self.stored,
            "linked": self.linked,
            "newer": self.newer,
            "events": dict(sorted(self.events.items())),
            "registered": self.registered.isoformat() if self.registered else None,
            "error": self.error,
        }


@dataclass
class BackfillReport:
    """What one backfill run did."""

    run_id: int
    trials: list[TrialBackfill] = field(default_factory=list)
    complete: int = 0  # trials of the scope skipped: their record history was complete already
    seconds: float = 0.0

    @property
    def failures(self) -> list[TrialBackfill]:
        """The trials that could not be backfilled (each with its reason)."""
        return [t for t in self.trials if t.error is not None]

    def total(self, name: str) -> int:
        """A count summed over the trials: listed, fetched, stored, linked or newer."""
        return sum(int(getattr(t, name)) for t in self.trials)

    @property
    def events(self) -> Counter[str]:
        """The events stored, by type."""
        found: Counter[str] = Counter()
        for t in self.trials:
            found.update(t.events)
        return found

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "run_id": self.run_id,
            "trials": len(self.trials),
            "complete_skipped": self.complete,
            "listed": self.total("listed"),
            "fetched": self.total("fetched"),
            "stored": self.total("stored"),
            "linked": self.total("linked"),
            "newer": self.total("newer"),
            "events": dict(sorted(self.events.items())),
            "failures": [{"nct_id": t.nct_id, "error": t.error} for t in self.failures],
            "seconds": round(self.seconds, 3),
            "by_trial": [t.to_dict() for t in self.trials],
        }


@dataclass(frozen=True)
class _Backfill:
    """What every trial of one run is backfilled with."""

    engine: Engine
    client: RegistryClient
    run_id: int
    now: datetime
    progress: Progress

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """A transaction under the sync lock, waiting for a running sync to finish first."""
        with job_lock(self.engine, LOCK_KIND, wait=True, on_wait=self._waiting), self.engine.begin() as conn:
            yield conn

    def _waiting(self, holder: str) -> None:
        self.progress.note(f"waiting to write: {holder}")


def backfill(
    engine: Engine,
    client: RegistryClient,
    nct_ids: Sequence[str],
    *,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> BackfillReport:
    """Backfill each trial's record history; one failing trial is reported and the others go on.

    The run is recorded in sync_runs (kind "backfill"): completed, or completed_issues when a
    trial failed; an interruption marks it failed and keeps every version stored so far.
    """
    progress = progress or SilentProgress()
    started = time.monotonic()
    wanted = list(dict.fromkeys(normalise_nct_id(n) for n in nct_ids))
    with engine.begin() as conn:
        abandon_stale_runs(conn, kinds=(RUN_KIND,))
        run_id = start_run(conn, kind=RUN_KIND, source=" ".join(wanted)[:2000] or None)
    run = _Backfill(engine, client, run_id, now or utc_now(), progress)
    report = BackfillReport(run_id)
    progress.start("Backfilling", len(wanted))
    try:
        for nct_id in wanted:
            outcome = TrialBackfill(nct_id)
            try:
                _backfill_trial(run, outcome)
            except HemewatchError as exc:
                outcome.error = exc.message
                progress.note(f"{nct_id}: {exc.message}")
            report.trials.append(outcome)
            progress.advance(1)
    except BaseException as exc:
        message = exc.message if isinstance(exc, HemewatchError) else f"interrupted ({type(exc).__name__})"
        with engine.begin() as conn:
            finish_run(conn, run_id, status=RunStatus.FAILED, error=message)
        raise
    with engine.begin() as conn:
        failed = report.failures
        add_counts(conn, run_id, {"rejected": len(failed)})
        summary = "; ".join(f"{t.nct_id}: {t.error}" for t in failed)[:2000] or None
        status = RunStatus.COMPLETED_ISSUES if failed else RunStatus.COMPLETED
        finish_run(conn, run_id, status=status, error=summary)
    report.seconds = time.monotonic() - started
    return report


def _backfill_trial(run: _Backfill, outcome: TrialBackfill) -> None:
    nct_id = outcome.nct_id
    with run.engine.connect() as conn:
        if current_version_id(conn, nct_id) is None:
            raise TrialNotFound(
                f"{nct_id} is not in the local mirror; run `hemewatch sync` or `hemewatch import` first "
                "(a backfill adds the past of trials the mirror has)."
            )
    history = fetch_history(run.client, nct_id)
    outcome.listed = len(history.versions)
    with run.writing() as conn:
        outcome.new_listed = save_listing(conn, nct_id, history.versions, now=run.now)
        rows = history_rows(conn, nct_id)
    listed = {v.version for v in history.versions}
    for row in rows:
        if row.version not in listed or (row.fetched_at is not None and row.version_id is not None):
            continue
        record = fetch_version(run.client, nct_id, row.version)
        outcome.fetched += 1
        with run.writing() as conn:
            _place(conn, run, outcome, row.version, record)
    with run.writing() as conn:
        _junction(conn, run, outcome)
        rows = history_rows(conn, nct_id)
    first = rows[0] if rows and rows[0].version == 0 else None
    if first is not None and first.version_id is not None:
        with run.engine.connect() as conn:
            posted = {v.id: v.posted for v in mirrored_versions(conn, nct_id)}
        outcome.registered = posted.get(first.version_id) or first.version_date


def _place(
    conn: Connection, run: _Backfill, outcome: TrialBackfill, version: int, record: StudyRecord
) -> None:
    """Store one fetched version, or link it to the stored version it is, with its incoming events."""
    nct_id = outcome.nct_id
    if record.last_update_post_date is None:
        raise RecordHistoryChanged(
            f"Version {version} of the record history of {nct_id} has no usable "
            "statusModule.lastUpdatePostDateStruct.date; nothing was stored from it."
        )
    mirror = mirrored_versions(conn, nct_id)
    current = _current(conn, nct_id, mirror)
    synced = [v for v in mirror if v.source != HISTORY_SOURCE]
    posted = record.last_update_post_date
    known = next((v for v in mirror if v.content_hash == record.content_hash), None) or next(
        (v for v in synced if v.posted == posted), None
    )
    if known is not None:
        # The mirror has this version already: the same content, or a capture of the same posting.
        outcome.linked += 1
        add_counts(conn, run.run_id, {"fetched": 1, "unchanged": 1})
        mark_fetched(conn, nct_id, version, version_id=known.id, now=run.now)
        return
    if current.posted is None or posted >= current.posted:
        # Newer than the mirror's current version: storing it would make it current. The sync
        # will store the registry's record; a later backfill links this version to it.
        outcome.newer += 1
        add_counts(conn, run.run_id, {"fetched": 1})
        mark_fetched(conn, nct_id, version, version_id=None, now=run.now)
        return
    validate_study(record.study, nct_id)
    result = store_records(conn, [record], source=HISTORY_SOURCE, now=run.now, sync_run_id=run.run_id)
    (stored,) = result.stored
    if stored.advanced or stored.is_current:
        # Never reached (the version is older than the current one); rolls the transaction back if it is.
        raise RuntimeError(f"version {version} of {nct_id} would have become the trial's current version")
    if is_classified_trial(conn, nct_id):
        tag_versions(
            conn, [(stored.version_id, nct_id, record.study)], lexicon=default_lexicon(), now=run.now
        )
    mark_fetched(conn, nct_id, version, version_id=stored.version_id, now=run.now)
    outcome.stored += 1
    events: list[ChangeEvent] = []
    first_synced = synced[0] if synced else current
    if first_synced.posted is None or posted < first_synced.posted:
        previous = _previous(conn, nct_id, version)
        if (
            previous is not None
            and previous != stored.version_id
            and not has_events(conn, previous, stored.version_id)
        ):
            events = _diff(conn, run, previous, stored.version_id, record.study)
    _store(conn, run, outcome, events, counts={"fetched": 1, "stored": 1})


def _junction(conn: Connection, run: _Backfill, outcome: TrialBackfill) -> None:
    """The events from the last version before the mirror began to the mirror's first own version."""
    nct_id = outcome.nct_id
    mirror = mirrored_versions(conn, nct_id)
    synced = [v for v in mirror if v.source != HISTORY_SOURCE]
    if not synced:
        return
    first = synced[0]
    by_id = {v.id: v for v in mirror}
    leading = [
        row.version_id
        for row in history_rows(conn, nct_id)
        if row.version_id is not None
        and by_id[row.version_id].source == HISTORY_SOURCE
        and _before(by_id[row.version_id], first)
    ]
    if not leading or has_diff_events(conn, first.id):
        return
    events = _diff(conn, run, leading[-1], first.id, load_version(conn, first.id))
    _store(conn, run, outcome, events, counts={})


def _before(version: MirroredVersion, first: MirroredVersion) -> bool:
    return first.posted is None or (version.posted is not None and version.posted < first.posted)


def _current(conn: Connection, nct_id: str, mirror: list[MirroredVersion]) -> MirroredVersion:
    current_id = current_version_id(conn, nct_id)
    found = next((v for v in mirror if v.id == current_id), None)
    if found is None:
        raise TrialNotFound(
            f"{nct_id} is not in the local mirror; run `hemewatch sync` or `hemewatch import` first."
        )
    return found


def _previous(conn: Connection, nct_id: str, version: int) -> int | None:
    """The stored version the closest earlier listed version became."""
    earlier = [
        row for row in history_rows(conn, nct_id) if row.version < version and row.version_id is not None
    ]
    return earlier[-1].version_id if earlier else None


def _diff(
    conn: Connection, run: _Backfill, old_id: int, new_id: int, new_study: dict[str, Any]
) -> list[ChangeEvent]:
    return diff_versions(
        load_version(conn, old_id),
        new_study,
        old_version_id=old_id,
        new_version_id=new_id,
        detected_at=run.now,
        include_administrative=True,
    )


def _store(
    conn: Connection,
    run: _Backfill,
    outcome: TrialBackfill,
    events: list[ChangeEvent],
    *,
    counts: dict[str, int],
) -> None:
    # Stored for the timeline with the registry's dates; never handed to alerts.enqueue_deliveries.
    store_events(conn, events, sync_run_id=run.run_id)
    outcome.events.update(e.type.value for e in events)
    add_counts(conn, run.run_id, {**counts, "events": sum(1 for e in events if e.alertable)})
