"""Read queries the web pages need beyond the storage catalog (SQLAlchemy Core, no writes)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.engine import Connection

from hemewatch.storage.runs import COMPLETED_STATUSES
from hemewatch.storage.tables import (
    change_events,
    classifications,
    study_versions,
    sync_runs,
    trial_tags,
    trials,
)
from hemewatch.storage.tags import PAIR_KIND

# Keeps IN (...) lists well under SQLite's bound-parameter limit.
_CHUNK = 500


def data_stamp(conn: Connection) -> tuple[int, ...]:
    """A value that changes whenever versions, events or tags are stored (each part is an index lookup)."""
    row = conn.execute(
        select(
            select(func.coalesce(func.max(study_versions.c.id), 0)).scalar_subquery(),
            select(func.coalesce(func.max(change_events.c.id), 0)).scalar_subquery(),
            select(func.coalesce(func.max(trial_tags.c.id), 0)).scalar_subquery(),
            select(func.count()).select_from(classifications).scalar_subquery(),
        )
    ).one()
    return tuple(int(value) for value in row)


def current_tags(conn: Connection, nct_ids: Sequence[str]) -> dict[str, dict[str, list[str]]]:
    """For each trial, the values of each tag kind of its current version (without evidence or pairs)."""
    found: dict[str, dict[str, list[str]]] = {nct_id: defaultdict(list) for nct_id in nct_ids}
    for start in range(0, len(nct_ids), _CHUNK):
        chunk = list(nct_ids[start : start + _CHUNK])
        rows = conn.execute(
            select(trials.c.nct_id, trial_tags.c.kind, trial_tags.c.value)
            .select_from(trials.join(trial_tags, trial_tags.c.version_id == trials.c.current_version_id))
            .where(trials.c.nct_id.in_(chunk), trial_tags.c.kind != PAIR_KIND)
            .order_by(trials.c.nct_id, trial_tags.c.kind, trial_tags.c.value)
        )
        for row in rows:
            found[row.nct_id][row.kind].append(row.value)
    return {nct_id: dict(kinds) for nct_id, kinds in found.items()}


@dataclass(frozen=True)
class LatestChange:
    """The newest alertable event of a trial, as a one-line summary."""

    nct_id: str
    type: str
    severity: str
    summary: str
    registry_date: date | None


def latest_changes(conn: Connection, nct_ids: Sequence[str]) -> dict[str, LatestChange]:
    """The newest alertable change of each trial that has one: the last of its newest registry date.

    By date, not id: events found later in the record history (`hemewatch backfill`) are older.
    """
    found: dict[str, LatestChange] = {}
    for start in range(0, len(nct_ids), _CHUNK):
        chunk = list(nct_ids[start : start + _CHUNK])
        alertable = and_(change_events.c.nct_id.in_(chunk), change_events.c.alertable.is_(True))
        newest_day = (
            select(change_events.c.nct_id, func.max(change_events.c.registry_date).label("day"))
            .where(alertable)
            .group_by(change_events.c.nct_id)
            .subquery()
        )
        newest = (
            select(func.max(change_events.c.id))
            .join(newest_day, newest_day.c.nct_id == change_events.c.nct_id)
            .where(
                alertable,
                or_(newest_day.c.day.is_(None), change_events.c.registry_date == newest_day.c.day),
            )
            .group_by(change_events.c.nct_id)
        )
        rows = conn.execute(select(change_events).where(change_events.c.id.in_(newest)))
        for row in rows:
            found[row.nct_id] = LatestChange(
                row.nct_id, row.type, row.severity, row.summary, row.registry_date
            )
    return found


@dataclass(frozen=True)
class LandscapeTrial:
    """What the landscape charts need of one trial."""

    phases: tuple[str, ...]
    status: str | None
    start_year: int | None
    modalities: tuple[str, ...]
    # (target, modality) of each studied therapy: what the target x modality chart counts.
    pairs: tuple[tuple[str, str], ...] = ()


def landscape_trials(conn: Connection, diseases: Sequence[str]) -> list[LandscapeTrial]:
    """Every trial in scope (with one of the diseases, when given) with its modalities and therapy pairs."""
    chosen = select(trials.c.current_version_id).where(trials.c.in_scope.is_(True))
    if diseases:
        chosen = chosen.where(
            trials.c.current_version_id.in_(
                select(trial_tags.c.version_id).where(
                    trial_tags.c.kind == "disease", trial_tags.c.value.in_(list(diseases))
                )
            )
        )
    tags: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    tag_rows = conn.execute(
        select(trial_tags.c.version_id, trial_tags.c.kind, trial_tags.c.value).where(
            trial_tags.c.kind.in_(("modality", PAIR_KIND)), trial_tags.c.version_id.in_(chosen)
        )
    )
    for version_id, kind, value in tag_rows:
        tags[version_id][kind].append(value)
    rows = conn.execute(
        select(
            trials.c.current_version_id, trials.c.phases, trials.c.overall_status, trials.c.start_date
        ).where(trials.c.current_version_id.in_(chosen))
    )
    out = []
    for version_id, phases, status, start in rows:
        found = tags.get(version_id, {})
        year = int(start[:4]) if start and start[:4].isdigit() else None
        out.append(
            LandscapeTrial(
                phases=tuple(p for p in (phases or "").split("|") if p),
                status=status,
                start_year=year,
                modalities=tuple(sorted(found.get("modality", ()))),
                pairs=tuple(sorted(_pair(value) for value in found.get(PAIR_KIND, ()))),
            )
        )
    return out


def _pair(value: str) -> tuple[str, str]:
    target, _, modality = value.partition("|")
    return target, modality


def last_sync(conn: Connection) -> dict[str, Any] | None:
    """When the mirror was last brought up to date (sync or import), or None before the first run."""
    row = conn.execute(
        select(sync_runs.c.kind, sync_runs.c.finished_at, sync_runs.c.data_timestamp)
        .where(sync_runs.c.status.in_(COMPLETED_STATUSES))
        .order_by(sync_runs.c.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return {"kind": row.kind, "finished_at": row.finished_at, "data_timestamp": row.data_timestamp}


def trial_exists(conn: Connection, nct_id: str) -> bool:
    """True when the trial is mirrored (in scope or not)."""
    return conn.execute(select(trials.c.nct_id).where(trials.c.nct_id == nct_id)).first() is not None


def trial_titles(conn: Connection, nct_ids: Sequence[str]) -> dict[str, str | None]:
    """The brief title of each trial."""
    found: dict[str, str | None] = {}
    for start in range(0, len(nct_ids), _CHUNK):
        chunk = list(nct_ids[start : start + _CHUNK])
        rows = conn.execute(select(trials.c.nct_id, trials.c.brief_title).where(trials.c.nct_id.in_(chunk)))
        found.update({row.nct_id: row.brief_title for row in rows})
    return found


def ping(conn: Connection) -> None:
    """Raise when the database does not answer or lacks the mirror's tables."""
    conn.execute(select(trials.c.nct_id).limit(1)).all()
