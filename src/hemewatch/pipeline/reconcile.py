"""`hemewatch reconcile`: check that every followed trial still exists upstream, under its id, in scope.

Syncs read what changed within a window of update dates; what falls outside every window is never
seen: a record deleted from the registry, an NCT id merged into another record (it becomes one of
that record's `nctIdAliases`), a trial that no longer matches the scope, or an update a failed or
skipped window missed. Reconciliation asks the registry about each followed trial by NCT id
(`filter.ids`, 100 to a query, with a `fields` projection of a few small fields), so a check costs
a few dozen requests, not a download of the registry:

- an id now listed only as an alias of another record: a `merged_into` event, `trials.merged_into`
  set, no longer followed under that id; the new record is followed instead (stored at once, without
  a new_trial alert) when it is in scope or the old id was watched (the watch moves to it);
- an id the registry no longer has (confirmed by GET /studies/{id} answering 404): a `record_removed`
  event, `trials.removed_at` set, no longer followed; a removed record that comes back is restored;
- a record that no longer matches the scope (and is not watched), or that was updated upstream since
  the mirror's copy: its full record is fetched and stored like a sync would, so the usual events
  (`left_scope`, the diff) come out.

A rerun finds nothing new to say: merged trials are no longer checked, removed ones only for a
return, and fetched records are stored once (content hash).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from hemewatch.alerts import enqueue_deliveries
from hemewatch.errors import HemewatchError, StudyNotFound
from hemewatch.history import ChangeEvent, left_scope_event
from hemewatch.history.dates import registry_date
from hemewatch.history.scope import merged_into_event, record_removed_event
from hemewatch.pipeline.ingest import ingest_batch
from hemewatch.pipeline.progress import Progress, SilentProgress
from hemewatch.pipeline.watching import fetch_study
from hemewatch.registry.client import RegistryClient
from hemewatch.registry.records import StudyRecord, parse_study
from hemewatch.registry.scope import Scope
from hemewatch.storage.events import store_events
from hemewatch.storage.reconciliation import (
    RECONCILE_KIND,
    FollowedTrial,
    describe_run,
    followed_trials,
    last_reconcile_run,
    mark_merged,
    mark_removed,
    trial_in_scope,
)
from hemewatch.storage.runs import (
    abandon_stale_runs,
    add_counts,
    finish_run,
    get_run,
    is_baseline,
    start_run,
    utc_now,
)
from hemewatch.storage.states import RunStatus
from hemewatch.storage.versions import load_current_study
from hemewatch.storage.watchlist import move_watch, set_in_scope

__all__ = ["IDS_PER_QUERY", "ReconcileChange", "ReconcileReport", "last_reconciled", "reconcile"]

# NCT ids per filter.ids query: about 1,200 characters of URL.
IDS_PER_QUERY: Final = 100
NCT_ID_FIELD: Final = "protocolSection.identificationModule.nctId"
ALIASES_FIELD: Final = "protocolSection.identificationModule.nctIdAliases"
UPDATED_FIELD: Final = "protocolSection.statusModule.lastUpdatePostDateStruct"
OUTCOMES: Final = ("updated", "left_scope", "merged", "removed", "restored")


@dataclass(frozen=True)
class ReconcileChange:
    """One trial whose state upstream differed from the mirror's."""

    nct_id: str
    outcome: str  # one of OUTCOMES
    into: str | None = None  # the record a merged id now belongs to

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"nct_id": self.nct_id, "outcome": self.outcome, "into": self.into}


@dataclass
class ReconcileReport:
    """What one reconciliation found and did."""

    run_id: int
    status: RunStatus = RunStatus.RUNNING
    checked: int = 0  # followed (or removed) trials asked about
    unchanged: int = 0
    fetched: int = 0  # full records fetched and stored (when new)
    stored: int = 0  # new versions
    events: int = 0  # alertable events
    changes: list[ReconcileChange] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        """How many trials had this outcome."""
        return sum(1 for change in self.changes if change.outcome == outcome)

    def summary(self) -> str:
        """One line for the run log and the terminal."""
        found = ", ".join(f"{self.count(o)} {o.replace('_', ' ')}" for o in OUTCOMES)
        return f"checked {self.checked} followed trials: {found}; {self.unchanged} unchanged"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "run_id": self.run_id,
            "status": self.status,
            "checked": self.checked,
            "unchanged": self.unchanged,
            **{outcome: self.count(outcome) for outcome in OUTCOMES},
            "fetched": self.fetched,
            "stored": self.stored,
            "events": self.events,
            "changes": [change.to_dict() for change in self.changes],
        }


def last_reconciled(conn: Connection) -> datetime | None:
    """When the last completed reconciliation finished (None if none has)."""
    run = last_reconcile_run(conn)
    if run is None:
        return None
    return run.finished_at or run.started_at


def reconcile(
    engine: Engine,
    client: RegistryClient,
    scope: Scope,
    *,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> ReconcileReport:
    """Check every followed trial upstream and record what changed (see the module docstring).

    The caller holds the sync lock (storage.locks.job_lock), as for run_sync. The run is recorded in
    sync_runs (kind "reconcile"); each batch of 100 trials commits on its own, so a failure keeps
    what was settled and the run is marked failed (the error is raised).
    """
    progress = progress or SilentProgress()
    now = now or utc_now()
    with engine.begin() as conn:
        abandon_stale_runs(conn, kinds=(RECONCILE_KIND,))
        followed = followed_trials(conn)
        baseline = is_baseline(conn)
        run_id = start_run(
            conn,
            kind=RECONCILE_KIND,
            baseline=baseline,
            source=f"filter.ids for {len(followed)} followed trials",
        )
    report = ReconcileReport(run_id=run_id, checked=len(followed))
    checking = _Checking(engine, client, scope, report, baseline, now, projection_fields(scope), progress)
    progress.start("Reconciling", len(followed))
    try:
        for start in range(0, len(followed), IDS_PER_QUERY):
            batch = followed[start : start + IDS_PER_QUERY]
            _check_batch(checking, batch)
            progress.advance(len(batch))
    except BaseException as exc:
        message = exc.message if isinstance(exc, HemewatchError) else f"interrupted ({type(exc).__name__})"
        with engine.begin() as conn:
            describe_run(conn, run_id, f"{report.summary()} before it failed")
            finish_run(conn, run_id, status=RunStatus.FAILED, error=message)
        report.status = RunStatus.FAILED
        raise
    with engine.begin() as conn:
        rejected = get_run(conn, run_id).counts.get("rejected", 0)
        report.status = RunStatus.COMPLETED_ISSUES if rejected else RunStatus.COMPLETED
        describe_run(conn, run_id, report.summary())
        finish_run(conn, run_id, status=report.status)
    return report


def projection_fields(scope: Scope) -> list[str]:
    """The fields a check asks for: ids, aliases, the update date, and what the scope's local check reads."""
    fields = [NCT_ID_FIELD, ALIASES_FIELD, UPDATED_FIELD]
    paths = (*scope.fields, *scope.acronym_fields, *scope.generic_fields, *scope.generic_exclude_fields)
    for path in paths:
        dotted = path.replace("[]", "")
        if dotted not in fields:
            fields.append(dotted)
    return fields


@dataclass(frozen=True)
class _Checking:
    """What every batch of one reconciliation is checked with."""

    engine: Engine
    client: RegistryClient
    scope: Scope
    report: ReconcileReport
    baseline: bool
    now: datetime
    fields: list[str]
    progress: Progress


@dataclass
class _Findings:
    """What the registry says about one batch, before anything is written."""

    present: dict[str, str] = field(default_factory=dict)  # NCT id -> updated | left_scope | restored
    merged: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)  # id -> (into, its study)
    removed: list[str] = field(default_factory=list)
    records: dict[str, StudyRecord] = field(default_factory=dict)  # full records to store
    follow_new: set[str] = field(default_factory=set)  # merged records to store without new_trial


def _check_batch(checking: _Checking, batch: Sequence[FollowedTrial]) -> None:
    current, alias_of = _read_projections(checking, [trial.nct_id for trial in batch])
    found = _Findings()
    for trial in batch:
        nct_id = trial.nct_id
        if nct_id in current:
            _judge(checking, trial, current[nct_id], found)
        elif nct_id in alias_of:
            into = alias_of[nct_id]
            found.merged[nct_id] = (into, current[into])
        else:
            _confirm(checking, trial, found)
    trials = _by_id(batch)
    for nct_id, (into, study) in found.merged.items():
        if trials[nct_id].watched or checking.scope.matches(study):
            found.follow_new.add(into)
    changed = [nct_id for nct_id, verdict in found.present.items() if verdict != "unchanged"]
    wanted = sorted({*changed, *found.follow_new} - found.records.keys())
    found.records.update(_fetch_records(checking, wanted))
    _write(checking, batch, found)


def _by_id(batch: Sequence[FollowedTrial]) -> dict[str, FollowedTrial]:
    return {trial.nct_id: trial for trial in batch}


def _read_projections(
    checking: _Checking, nct_ids: Sequence[str]
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """The projected record of each id the registry has, and the record each alias now belongs to."""
    params = {"filter.ids": ",".join(nct_ids), "fields": ",".join(checking.fields)}
    current: dict[str, dict[str, Any]] = {}
    alias_of: dict[str, str] = {}
    for page in checking.client.iter_study_pages(params):
        for study in page.studies:
            ident = (study.get("protocolSection") or {}).get("identificationModule") or {}
            nct_id = ident.get("nctId")
            if not isinstance(nct_id, str):
                continue
            current[nct_id] = study
            for alias in ident.get("nctIdAliases") or ():
                if isinstance(alias, str) and alias != nct_id:
                    alias_of[alias] = nct_id
    return current, alias_of


def _judge(checking: _Checking, trial: FollowedTrial, study: dict[str, Any], found: _Findings) -> None:
    """Sort a trial the registry still has under its id: unchanged, updated, left scope or back."""
    if trial.removed:
        verdict = "restored"
    elif not trial.watched and trial.in_scope and not checking.scope.matches(study):
        verdict = "left_scope"
    else:
        upstream = registry_date(study)
        mirrored = trial.last_update_post_date
        verdict = (
            "updated" if upstream is not None and (mirrored is None or upstream > mirrored) else "unchanged"
        )
    found.present[trial.nct_id] = verdict


def _confirm(checking: _Checking, trial: FollowedTrial, found: _Findings) -> None:
    """An id the list did not return: GET /studies/{id} tells a deletion from a merge or a lagging index."""
    try:
        record = fetch_study(checking.client, trial.nct_id)
    except StudyNotFound:
        if trial.removed:
            found.present[trial.nct_id] = "unchanged"  # still gone, and said so already
        else:
            found.removed.append(trial.nct_id)
        return
    if record.nct_id != trial.nct_id:
        found.merged[trial.nct_id] = (record.nct_id, record.study)
    else:
        _judge(checking, trial, record.study, found)
    found.records[record.nct_id] = record


def _fetch_records(checking: _Checking, nct_ids: Sequence[str]) -> dict[str, StudyRecord]:
    """The full current records of these ids (one filter.ids query, no projection)."""
    records: dict[str, StudyRecord] = {}
    if not nct_ids:
        return records
    for page in checking.client.iter_study_pages({"filter.ids": ",".join(nct_ids)}):
        for index, study in enumerate(page.studies):
            try:
                record = parse_study(study)
            except HemewatchError as exc:
                checking.progress.note(f"skipped study {index} of page {page.page_number}: {exc.message}")
                continue
            records[record.nct_id] = record
    return records


def _write(checking: _Checking, batch: Sequence[FollowedTrial], found: _Findings) -> None:
    """Record one batch's findings in one transaction: events first (while the trials are followed)."""
    report, now, run_id = checking.report, checking.now, checking.report.run_id
    trials = _by_id(batch)
    with checking.engine.begin() as conn:
        events: list[ChangeEvent] = []
        for nct_id, (into, study) in found.merged.items():
            events.extend(_merge_event(conn, trials[nct_id], into, study, now=now))
        for nct_id in found.removed:
            events.extend(_removal_event(conn, trials[nct_id], now=now))
        report.events += _announce(conn, [] if checking.baseline else events, run_id=run_id, now=now)
        for nct_id, (into, _study) in found.merged.items():
            if trials[nct_id].watched:
                move_watch(conn, nct_id, into)
            mark_merged(conn, nct_id, into)
            report.changes.append(ReconcileChange(nct_id, "merged", into))
        for nct_id in found.removed:
            mark_removed(conn, nct_id, now=now)
            report.changes.append(ReconcileChange(nct_id, "removed"))
        records = list(found.records.values())
        if records:
            add_counts(conn, run_id, {"fetched": len(records)})
            outcome, _ = ingest_batch(
                conn,
                records,
                scope=checking.scope,
                source=RECONCILE_KIND,
                run_id=run_id,
                now=now,
                keep_out_of_scope=False,
                baseline=checking.baseline,
                silent_new=found.follow_new,
            )
            report.fetched += len(records)
            report.stored += outcome.stored
            report.events += outcome.events
        _settle_present(conn, checking, trials, found)


def _settle_present(
    conn: Connection, checking: _Checking, trials: Mapping[str, FollowedTrial], found: _Findings
) -> None:
    report = checking.report
    for nct_id, verdict in found.present.items():
        if verdict == "unchanged":
            report.unchanged += 1
            continue
        if nct_id not in found.records:
            # Gone from the full list between the two queries: the next check settles it.
            report.unchanged += 1
            continue
        if verdict == "left_scope" and trial_in_scope(conn, nct_id):
            # The record is as stored (the scope itself changed): nothing was diffed, so the
            # trial is let go here, with the event a changed record would have given.
            _leave_scope(conn, checking, trials[nct_id])
        report.changes.append(ReconcileChange(nct_id, verdict))


def _leave_scope(conn: Connection, checking: _Checking, trial: FollowedTrial) -> None:
    set_in_scope(conn, trial.nct_id, False)
    study = load_current_study(conn, trial.nct_id)
    if study is None or checking.baseline:
        return
    event = left_scope_event(study, version_id=trial.version_id, detected_at=checking.now)
    checking.report.events += _announce(conn, [event], run_id=checking.report.run_id, now=checking.now)


def _announce(conn: Connection, events: Sequence[ChangeEvent], *, run_id: int, now: datetime) -> int:
    """Store events and queue their deliveries (in the caller's transaction); returns the alertable ones."""
    stored = store_events(conn, events, sync_run_id=run_id)
    enqueue_deliveries(conn, stored, now=now)
    alertable = sum(1 for item in stored if item.event.alertable)
    add_counts(conn, run_id, {"events": alertable})
    return alertable


def _merge_event(
    conn: Connection, trial: FollowedTrial, into: str, study: Mapping[str, Any], *, now: datetime
) -> list[ChangeEvent]:
    mirrored = load_current_study(conn, trial.nct_id)
    if mirrored is None:
        return []
    title = ((study.get("protocolSection") or {}).get("identificationModule") or {}).get("briefTitle")
    return [
        merged_into_event(
            mirrored,
            into,
            version_id=trial.version_id,
            detected_at=now,
            into_title=title if isinstance(title, str) else None,
            registry_date=registry_date(study),
        )
    ]


def _removal_event(conn: Connection, trial: FollowedTrial, *, now: datetime) -> list[ChangeEvent]:
    mirrored = load_current_study(conn, trial.nct_id)
    if mirrored is None:
        return []
    return [record_removed_event(mirrored, version_id=trial.version_id, detected_at=now)]
