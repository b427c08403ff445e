"""Store study versions: a new row only when a trial's content hash is new; keep `trials` current."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from hemewatch.registry.records import StudyRecord
from hemewatch.storage import text_index
from hemewatch.storage.bulk import BulkWriter, bind
from hemewatch.storage.codec import compress_json, decompress_json
from hemewatch.storage.prepared import SUMMARY_COLUMNS, PreparedRecord, summary_row
from hemewatch.storage.tables import chunks, study_versions, trials

# A record parsed here (a sync) or prepared by an import's worker process.
Record = StudyRecord | PreparedRecord

# Keeps IN (...) lists well under SQLite's bound-parameter limit.


@dataclass(frozen=True, slots=True)
class StoredVersion:
    """A version that was new and has been stored."""

    nct_id: str
    version_id: int
    previous_version_id: int | None  # the trial's current version just before this one was stored
    advanced: bool  # newer than every version stored before it (False for a late, older capture)
    is_current: bool  # the trial's current version at the end of the batch
    is_new_trial: bool
    was_in_scope: bool | None  # the trial's scope flag before the batch; None for a new trial
    record: Record


@dataclass
class StoreResult:
    """What one call to store_records did."""

    stored: list[StoredVersion] = field(default_factory=list)
    unchanged: int = 0
    new_trials: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _TrialState:
    current_id: int | None
    order_key: tuple[date, date, int]
    version_count: int
    exists: bool
    in_scope: bool


def _order_key(posted: date | None, holder: date | None, version_id: int) -> tuple[date, date, int]:
    # The current version is the newest by registry update date, then capture date, then arrival.
    return (posted or date.min, holder or date.min, version_id)


def _existing_hashes(conn: Connection, nct_ids: Sequence[str]) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for chunk in chunks(nct_ids):
        rows = conn.execute(
            select(study_versions.c.nct_id, study_versions.c.content_hash).where(
                study_versions.c.nct_id.in_(chunk)
            )
        )
        found.update((r.nct_id, r.content_hash) for r in rows)
    return found


def _trial_states(conn: Connection, nct_ids: Sequence[str]) -> dict[str, _TrialState]:
    states: dict[str, _TrialState] = {}
    for chunk in chunks(nct_ids):
        rows = conn.execute(
            select(
                trials.c.nct_id,
                trials.c.current_version_id,
                trials.c.version_count,
                trials.c.in_scope,
                study_versions.c.last_update_post_date,
                study_versions.c.version_holder,
            )
            .select_from(trials.outerjoin(study_versions, study_versions.c.id == trials.c.current_version_id))
            .where(trials.c.nct_id.in_(chunk))
        )
        for r in rows:
            states[r.nct_id] = _TrialState(
                current_id=r.current_version_id,
                order_key=_order_key(r.last_update_post_date, r.version_holder, r.current_version_id or 0),
                version_count=r.version_count,
                exists=True,
                in_scope=bool(r.in_scope),
            )
    return states


def _stored_form(record: Record) -> tuple[int, bytes]:
    # Prepared records were compressed by a worker process.
    if isinstance(record, PreparedRecord):
        return record.raw_size, record.raw_zstd
    return len(record.canonical), compress_json(record.canonical)


def _summary(record: Record) -> tuple[Any, ...]:
    if isinstance(record, PreparedRecord):
        return record.summary
    return summary_row(record.study, record.last_update_post_date)


def store_records(
    conn: Connection,
    records: Sequence[Record],
    *,
    source: str,
    now: datetime,
    sync_run_id: int | None = None,
    in_scope: Mapping[str, bool] | None = None,
) -> StoreResult:
    """Store the records whose content is new, in the caller's transaction; idempotent."""
    result = StoreResult()
    unique: dict[tuple[str, str], Record] = {}
    for record in records:
        unique.setdefault((record.nct_id, record.content_hash), record)
    nct_ids = sorted({key[0] for key in unique})
    if not nct_ids:
        return result
    existing = _existing_hashes(conn, nct_ids)
    states = _trial_states(conn, nct_ids)
    # Oldest first, so that versions of one trial stored together chain in registry order.
    fresh = sorted(
        (rec for key, rec in unique.items() if key not in existing),
        key=lambda r: (r.nct_id, r.last_update_post_date or date.min, r.version_holder or date.min),
    )
    result.unchanged = len(records) - len(fresh)
    writer = _BulkWriter(conn)
    result.new_trials = _insert_new_trials(writer, nct_ids, states, fresh, now=now, in_scope=in_scope)

    latest: dict[str, Record] = {}
    if fresh:
        inserted = _insert_versions(writer, fresh, source=source, now=now, sync_run_id=sync_run_id)
        for rec, version_id in zip(fresh, inserted, strict=True):
            state = states[rec.nct_id]
            state.version_count += 1
            key = _order_key(rec.last_update_post_date, rec.version_holder, version_id)
            predecessor = state.current_id
            advanced = key > state.order_key
            if advanced:
                state.order_key = key
                state.current_id = version_id
                latest[rec.nct_id] = rec
            result.stored.append(
                StoredVersion(
                    nct_id=rec.nct_id,
                    version_id=version_id,
                    previous_version_id=predecessor,
                    advanced=advanced,
                    is_current=False,
                    is_new_trial=not state.exists,
                    was_in_scope=state.in_scope if state.exists else None,
                    record=rec,
                )
            )
        result.stored = [
            replace(s, is_current=states[s.nct_id].current_id == s.version_id) for s in result.stored
        ]
    _update_trials(writer, nct_ids, states, latest, now=now, in_scope=in_scope)
    # The full-text index follows each trial's current version.
    text_index.refresh(conn, latest)
    return result


class _BulkWriter(BulkWriter):
    """The bulk writes of versions and trials (see storage/bulk.py), with their values' converters."""

    def __init__(self, conn: Connection) -> None:
        super().__init__(conn)
        dialect = conn.dialect
        self.date = bind(study_versions.c.last_update_post_date, dialect)
        self.timestamp = bind(study_versions.c.fetched_at, dialect)
        self.boolean = bind(trials.c.in_scope, dialect)
        self._summary_binds = tuple(bind(trials.c[column], dialect) for column in SUMMARY_COLUMNS)

    def update_trials(self, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        """UPDATE trials rows: each row is the values of `columns`, then the NCT id."""
        assignments = ", ".join(f"{trials.c[column].name} = {self.mark}" for column in columns)
        sql = f"UPDATE trials SET {assignments} WHERE nct_id = {self.mark}"  # noqa: S608 - as in insert
        self.connection.exec_driver_sql(sql, rows)

    def version_ids(self, nct_ids: Sequence[str]) -> dict[tuple[str, str], int]:
        """The id of every stored version of these trials, by (NCT id, content hash)."""
        found: dict[tuple[str, str], int] = {}
        for chunk in chunks(nct_ids):
            marks = ", ".join([self.mark] * len(chunk))
            sql = f"SELECT nct_id, content_hash, id FROM study_versions WHERE nct_id IN ({marks})"  # noqa: S608
            rows = self.connection.exec_driver_sql(sql, tuple(chunk))
            found.update(((nct, digest), int(id_)) for nct, digest, id_ in rows)
        return found

    def summary(self, values: tuple[Any, ...]) -> tuple[Any, ...]:
        """A summary_row converted for the database."""
        return tuple(convert(value) for convert, value in zip(self._summary_binds, values, strict=True))


def _insert_new_trials(
    writer: _BulkWriter,
    nct_ids: Sequence[str],
    states: dict[str, _TrialState],
    fresh: Sequence[Record],
    *,
    now: datetime,
    in_scope: Mapping[str, bool] | None,
) -> list[str]:
    # Every version of a new trial is fresh and stored oldest first, so its last one becomes
    # current: the row is inserted complete, and only its current_version_id is set later.
    last: dict[str, Record] = {}
    counts: dict[str, int] = {}
    for rec in fresh:
        last[rec.nct_id] = rec
        counts[rec.nct_id] = counts.get(rec.nct_id, 0) + 1
    stamp = writer.timestamp(now)
    rows = []
    new = []
    for nct_id in nct_ids:
        if nct_id in states:
            continue
        inside = True if in_scope is None else in_scope.get(nct_id, True)
        states[nct_id] = _TrialState(None, (date.min, date.min, 0), 0, exists=False, in_scope=inside)
        new.append(nct_id)
        summary = writer.summary(_summary(last[nct_id]))
        rows.append((nct_id, counts[nct_id], writer.boolean(inside), stamp, stamp, *summary))
    if rows:
        columns = ("nct_id", "version_count", "in_scope", "first_seen_at", "last_checked_at")
        writer.insert(trials, (*columns, *SUMMARY_COLUMNS), rows)
    return new


_VERSION_COLUMNS = (
    "nct_id",
    "content_hash",
    "last_update_post_date",
    "version_holder",
    "fetched_at",
    "source",
    "sync_run_id",
    "raw_size",
    "raw_zstd",
)


def _insert_versions(
    writer: _BulkWriter, fresh: Sequence[Record], *, source: str, now: datetime, sync_run_id: int | None
) -> list[int]:
    stamp = writer.timestamp(now)
    rows = []
    for rec in fresh:
        raw_size, blob = _stored_form(rec)
        rows.append(
            (
                rec.nct_id,
                rec.content_hash,
                writer.date(rec.last_update_post_date),
                writer.date(rec.version_holder),
                stamp,
                source,
                sync_run_id,
                raw_size,
                blob,
            )
        )
    writer.insert(study_versions, _VERSION_COLUMNS, rows)
    # (nct_id, content_hash) is unique: reading the ids back is exact, and cheaper than
    # RETURNING, which executemany cannot give on every driver.
    ids = writer.version_ids(sorted({rec.nct_id for rec in fresh}))
    return [ids[(rec.nct_id, rec.content_hash)] for rec in fresh]


def _update_trials(
    writer: _BulkWriter,
    nct_ids: Sequence[str],
    states: Mapping[str, _TrialState],
    latest: Mapping[str, Record],
    *,
    now: datetime,
    in_scope: Mapping[str, bool] | None,
) -> None:
    stamp = writer.timestamp(now)
    current_only = []
    changed_rows = []
    for nct_id, rec in latest.items():
        state = states[nct_id]
        if not state.exists:
            current_only.append((state.current_id, nct_id))
            continue
        inside = True if in_scope is None else in_scope.get(nct_id, True)
        changed_rows.append(
            (
                state.current_id,
                state.version_count,
                stamp,
                *writer.summary(_summary(rec)),
                writer.boolean(inside),
                nct_id,
            )
        )
    if current_only:
        writer.update_trials(("current_version_id",), current_only)
    if changed_rows:
        columns = ("current_version_id", "version_count", "last_checked_at", *SUMMARY_COLUMNS, "in_scope")
        writer.update_trials(columns, changed_rows)
    counted = [(states[n].version_count, stamp, n) for n in nct_ids if n not in latest]
    if counted:
        writer.update_trials(("version_count", "last_checked_at"), counted)


def load_version(conn: Connection, version_id: int) -> dict[str, Any]:
    """Return the stored study JSON of one version."""
    blob = conn.execute(
        select(study_versions.c.raw_zstd).where(study_versions.c.id == version_id)
    ).scalar_one()
    return decompress_json(blob)


def load_current_study(conn: Connection, nct_id: str) -> dict[str, Any] | None:
    """Return the current version of a trial's study JSON, or None when the trial is unknown."""
    return load_current_studies(conn, [nct_id]).get(nct_id)


def load_current_studies(conn: Connection, nct_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The current version's study JSON of each trial (trials not stored are left out)."""
    found: dict[str, dict[str, Any]] = {}
    for ids in chunks(nct_ids):
        rows = conn.execute(
            select(trials.c.nct_id, study_versions.c.raw_zstd)
            .select_from(trials.join(study_versions, study_versions.c.id == trials.c.current_version_id))
            .where(trials.c.nct_id.in_(list(ids)))
        )
        for nct_id, blob in rows:
            found[nct_id] = decompress_json(blob)
    return found
