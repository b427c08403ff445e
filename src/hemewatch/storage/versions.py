"""Store study versions: a new row only when a trial's content hash is new; keep `trials` current."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection

from hemewatch.registry.records import StudyRecord
from hemewatch.storage.codec import compress_json, decompress_json
from hemewatch.storage.tables import study_versions, trials

# Keeps IN (...) lists well under SQLite's bound-parameter limit.
_CHUNK = 500


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
    record: StudyRecord


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


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _order_key(posted: date | None, holder: date | None, version_id: int) -> tuple[date, date, int]:
    # The current version is the newest by registry update date, then capture date, then arrival.
    return (posted or date.min, holder or date.min, version_id)


def _existing_hashes(conn: Connection, nct_ids: Sequence[str]) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for chunk in _chunks(nct_ids):
        rows = conn.execute(
            select(study_versions.c.nct_id, study_versions.c.content_hash).where(
                study_versions.c.nct_id.in_(chunk)
            )
        )
        found.update((r.nct_id, r.content_hash) for r in rows)
    return found


def _trial_states(conn: Connection, nct_ids: Sequence[str]) -> dict[str, _TrialState]:
    states: dict[str, _TrialState] = {}
    for chunk in _chunks(nct_ids):
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


def _summary_fields(record: StudyRecord) -> dict[str, Any]:
    protocol = record.protocol
    ident = protocol.get("identificationModule") or {}
    status = protocol.get("statusModule") or {}
    design = protocol.get("designModule") or {}
    sponsor = (protocol.get("sponsorCollaboratorsModule") or {}).get("leadSponsor") or {}
    locations = (protocol.get("contactsLocationsModule") or {}).get("locations") or []
    countries = sorted({loc["country"] for loc in locations if isinstance(loc, dict) and loc.get("country")})
    enrollment = (design.get("enrollmentInfo") or {}).get("count")
    return {
        "brief_title": ident.get("briefTitle"),
        "overall_status": status.get("overallStatus"),
        "last_update_post_date": record.last_update_post_date,
        "phases": "|".join(design.get("phases") or []) or None,
        "study_type": design.get("studyType"),
        "lead_sponsor": sponsor.get("name"),
        "countries": f"|{'|'.join(countries)}|" if countries else None,
        "start_date": _date_text(status.get("startDateStruct")),
        "primary_completion_date": _date_text(status.get("primaryCompletionDateStruct")),
        "enrollment": enrollment if isinstance(enrollment, int) else None,
        "has_results": bool(record.study.get("hasResults")),
    }


def _date_text(struct: object) -> str | None:
    value = struct.get("date") if isinstance(struct, dict) else None
    return value[:10] if isinstance(value, str) else None


def store_records(
    conn: Connection,
    records: Sequence[StudyRecord],
    *,
    source: str,
    now: datetime,
    sync_run_id: int | None = None,
    in_scope: Mapping[str, bool] | None = None,
) -> StoreResult:
    """Store the records whose content is new, in the caller's transaction; idempotent."""
    result = StoreResult()
    unique: dict[tuple[str, str], StudyRecord] = {}
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
    result.new_trials = _insert_new_trials(conn, nct_ids, states, now=now, in_scope=in_scope)

    latest: dict[str, StudyRecord] = {}
    if fresh:
        inserted = _insert_versions(conn, fresh, source=source, now=now, sync_run_id=sync_run_id)
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
    _update_trials(conn, nct_ids, states, latest, now=now, in_scope=in_scope)
    return result


def _insert_new_trials(
    conn: Connection,
    nct_ids: Sequence[str],
    states: dict[str, _TrialState],
    *,
    now: datetime,
    in_scope: Mapping[str, bool] | None,
) -> list[str]:
    rows = []
    for nct_id in nct_ids:
        if nct_id in states:
            continue
        inside = True if in_scope is None else in_scope.get(nct_id, True)
        states[nct_id] = _TrialState(None, (date.min, date.min, 0), 0, exists=False, in_scope=inside)
        rows.append(
            {
                "nct_id": nct_id,
                "version_count": 0,
                "in_scope": inside,
                "first_seen_at": now,
                "last_checked_at": now,
            }
        )
    if rows:
        conn.execute(insert(trials), rows)
    return [str(row["nct_id"]) for row in rows]


def _insert_versions(
    conn: Connection, fresh: Sequence[StudyRecord], *, source: str, now: datetime, sync_run_id: int | None
) -> list[int]:
    rows = [
        {
            "nct_id": rec.nct_id,
            "content_hash": rec.content_hash,
            "last_update_post_date": rec.last_update_post_date,
            "version_holder": rec.version_holder,
            "fetched_at": now,
            "source": source,
            "sync_run_id": sync_run_id,
            "raw_size": len(rec.canonical),
            "raw_zstd": compress_json(rec.canonical),
        }
        for rec in fresh
    ]
    statement = insert(study_versions).returning(study_versions.c.id, sort_by_parameter_order=True)
    return [int(i) for i in conn.execute(statement, rows).scalars().all()]


def _update_trials(
    conn: Connection,
    nct_ids: Sequence[str],
    states: Mapping[str, _TrialState],
    latest: Mapping[str, StudyRecord],
    *,
    now: datetime,
    in_scope: Mapping[str, bool] | None,
) -> None:
    changed_rows = []
    for nct_id, rec in latest.items():
        state = states[nct_id]
        row = {
            "b_nct_id": nct_id,
            "current_version_id": state.current_id,
            "version_count": state.version_count,
            "last_checked_at": now,
            **_summary_fields(rec),
        }
        row["in_scope"] = True if in_scope is None else in_scope.get(nct_id, True)
        changed_rows.append(row)
    if changed_rows:
        conn.execute(
            update(trials).where(trials.c.nct_id == bindparam("b_nct_id")),
            changed_rows,
        )
    counted = [
        {"b_nct_id": n, "version_count": states[n].version_count, "last_checked_at": now}
        for n in nct_ids
        if n not in latest
    ]
    if counted:
        conn.execute(update(trials).where(trials.c.nct_id == bindparam("b_nct_id")), counted)


def load_version(conn: Connection, version_id: int) -> dict[str, Any]:
    """Return the stored study JSON of one version."""
    blob = conn.execute(
        select(study_versions.c.raw_zstd).where(study_versions.c.id == version_id)
    ).scalar_one()
    return decompress_json(blob)


def load_current_study(conn: Connection, nct_id: str) -> dict[str, Any] | None:
    """Return the current version of a trial's study JSON, or None when the trial is unknown."""
    blob = conn.execute(
        select(study_versions.c.raw_zstd)
        .select_from(trials.join(study_versions, study_versions.c.id == trials.c.current_version_id))
        .where(trials.c.nct_id == nct_id)
    ).scalar_one_or_none()
    return decompress_json(blob) if blob is not None else None
