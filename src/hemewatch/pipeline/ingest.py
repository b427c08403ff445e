"""Store one batch of records and everything that must happen in the same transaction."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Connection

from hemewatch.classification import default_lexicon
from hemewatch.errors import RecordFieldError
from hemewatch.history import EventType
from hemewatch.pipeline.changes import detect_changes
from hemewatch.pipeline.tagging import store_tagged, tag_versions
from hemewatch.registry.records import StudyRecord, validate_study
from hemewatch.registry.scope import Scope
from hemewatch.storage import text_index
from hemewatch.storage.events import store_events
from hemewatch.storage.prepared import PreparedRecord, Quarantined
from hemewatch.storage.quarantine import quarantine_records, resolve_quarantine
from hemewatch.storage.reconciliation import restore_trials
from hemewatch.storage.runs import add_counts
from hemewatch.storage.tags import ClassifiedVersion
from hemewatch.storage.trial_view import mirrored_trials
from hemewatch.storage.versions import Record, StoredVersion, StoreResult, store_records
from hemewatch.storage.watchlist import watched_among


@dataclass(frozen=True)
class BatchOutcome:
    """Counts for one stored batch."""

    events: int
    stored: int
    unchanged: int
    new_trials: int
    out_of_scope: int
    # Records set aside instead of stored (each names its trial, field and why).
    quarantined: tuple[Quarantined, ...] = field(default=())


def ingest_batch(
    conn: Connection,
    records: Sequence[Record],
    *,
    scope: Scope,
    source: str,
    run_id: int,
    now: datetime,
    keep_out_of_scope: bool,
    baseline: bool,
    quarantined: Sequence[Quarantined] = (),
    silent_new: Collection[str] = (),
) -> tuple[BatchOutcome, StoreResult]:
    """Store a batch (new content only) and update the run's counters, in the caller's transaction.

    Records outside the scope are stored when keep_out_of_scope is set or when the trial is
    already mirrored (so a trial that leaves the scope keeps its history); otherwise skipped.
    A record with a field hemewatch cannot store (see validate_study) is quarantined with the
    ones the caller set aside already, and the rest are stored: one bad record never blocks a
    page. What is quarantined for a trial is resolved when the trial stores cleanly.

    A watched trial (storage.watchlist) is in scope whatever the scope says. A trial in `silent_new`
    gets no new_trial event (a trial someone asked for by NCT id, or a merged record's new id). A
    trial marked removed or merged upstream whose record arrives again is restored.
    """
    records, invalid = _validate(records, location=f"{source} run #{run_id}")
    set_aside = (*quarantined, *invalid)
    if set_aside:
        quarantine_records(conn, set_aside, source=source, now=now, run_id=run_id)
    resolve_quarantine(conn, {rec.nct_id for rec in records}, now=now)
    watched = watched_among(conn, {rec.nct_id for rec in records}) if records else set()
    in_scope = {rec.nct_id: rec.nct_id in watched or _matches(rec, scope) for rec in records}
    outside = sorted({nct for nct, inside in in_scope.items() if not inside})
    mirrored = set() if keep_out_of_scope or not outside else mirrored_trials(conn, outside)
    wanted = [rec for rec in records if keep_out_of_scope or in_scope[rec.nct_id] or rec.nct_id in mirrored]
    # The versions and then their tags are stored; each trial's text-index row is rebuilt once, at the end.
    with text_index.deferred(conn):
        result = store_records(conn, wanted, source=source, now=now, sync_run_id=run_id, in_scope=in_scope)
        restore_trials(conn, {rec.nct_id: in_scope[rec.nct_id] for rec in wanted})
        # Versions of watched trials are classified; the rest of a bulk import is only mirrored.
        _tag(conn, [v for v in result.stored if in_scope.get(v.nct_id, False)], now=now)
    events = detect_changes(conn, result.stored, in_scope=in_scope, baseline=baseline, now=now)
    if silent_new:
        events = [e for e in events if not (e.type is EventType.NEW_TRIAL and e.nct_id in silent_new)]
    stored_events = store_events(conn, events, sync_run_id=run_id)
    if stored_events:
        # Imported only when there are events to deliver: the alerts package (mail, feeds, webhooks)
        # costs an import with none (a baseline, unchanged records) a third of a second to load.
        from hemewatch.alerts import enqueue_deliveries

        # Deliveries are queued in the same transaction as the events they carry: a crash
        # loses neither, and a rerun finds the versions stored and queues nothing twice.
        enqueue_deliveries(conn, stored_events, now=now)
    outcome = BatchOutcome(
        events=sum(1 for e in stored_events if e.event.alertable),
        stored=len(result.stored),
        unchanged=result.unchanged,
        new_trials=len(result.new_trials),
        out_of_scope=sum(1 for rec in records if not in_scope[rec.nct_id]),
        quarantined=set_aside,
    )
    add_counts(
        conn,
        run_id,
        {
            "stored": outcome.stored,
            "unchanged": outcome.unchanged,
            "new_trials": outcome.new_trials,
            "out_of_scope": outcome.out_of_scope,
            "events": outcome.events,
            # The caller counts what it set aside itself (an import counts every rejection).
            "rejected": len(invalid),
        },
    )
    return outcome, result


def _validate(records: Sequence[Record], *, location: str) -> tuple[list[Record], list[Quarantined]]:
    valid: list[Record] = []
    invalid: list[Quarantined] = []
    for record in records:
        # An import's worker processes validated their records already.
        if isinstance(record, StudyRecord):
            try:
                validate_study(record.study, record.nct_id)
            except RecordFieldError as exc:
                invalid.append(Quarantined(location, record.nct_id, exc.field, exc.message, record.canonical))
                continue
        valid.append(record)
    return valid, invalid


def _tag(conn: Connection, versions: Sequence[StoredVersion], *, now: datetime) -> None:
    ready = []
    unclassified = []
    for version in versions:
        record = version.record
        # An import's worker processes classify the records in scope as they prepare them.
        if isinstance(record, PreparedRecord) and record.classified is not None:
            classification, labels = record.classified
            ready.append(ClassifiedVersion(version.version_id, version.nct_id, classification, labels))
        else:
            unclassified.append(version)
    if unclassified:
        tag_versions(
            conn,
            ((v.version_id, v.nct_id, v.record.study) for v in unclassified),
            lexicon=default_lexicon(),
            now=now,
        )
    store_tagged(conn, ready, now=now)


def _matches(record: Record, scope: Scope) -> bool:
    # An import's worker process checked its records against the import's scope already.
    return record.in_scope if isinstance(record, PreparedRecord) else scope.matches(record.study)
