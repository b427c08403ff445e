"""The rows behind the analyst exports: matching trials, then their records, therapies, tags and events.

Every reader takes one slice of NCT ids (see `chunks`), so an export of the whole mirror reads it a
slice at a time and never holds a whole table.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from sqlalchemy import and_, select, true
from sqlalchemy.engine import Connection

from hemewatch.classification.model import TAG_KINDS
from hemewatch.storage.catalog import TrialQuery, trial_conditions
from hemewatch.storage.codec import decompress_json, split_pipes
from hemewatch.storage.tables import (
    IN_CHUNK,
    change_events,
    chunks,
    classifications,
    study_versions,
    trial_tags,
    trial_therapies,
    trials,
)

# Trials read per query: one `IN (…)` of NCT ids.
SLICE: Final = IN_CHUNK


def id_slices(nct_ids: Sequence[str], size: int = SLICE) -> Iterator[Sequence[str]]:
    """The NCT ids in consecutive slices of `size`: what each reader below takes."""
    return chunks(nct_ids, size)


def matching_nct_ids(conn: Connection, query: TrialQuery) -> list[str]:
    """The NCT ids of every trial matching the query's filters (its sort and page ignored), in id order."""
    source: Any = trials
    if query.acute_leukemia is not None or query.immunotherapy is not None:
        source = trials.outerjoin(
            classifications, classifications.c.version_id == trials.c.current_version_id
        )
    statement = (
        select(trials.c.nct_id)
        .select_from(source)
        .where(and_(true(), *trial_conditions(query, conn.dialect.name)))
        .order_by(trials.c.nct_id)
    )
    return list(conn.execute(statement).scalars())


@dataclass(frozen=True, slots=True)
class ExportedTrial:
    """A trial's summary columns (the list columns decoded) and its current version's labels."""

    nct_id: str
    brief_title: str | None
    overall_status: str | None
    phases: list[str]
    study_type: str | None
    start_date: str | None
    primary_completion_date: str | None
    enrollment: int | None
    lead_sponsor: str | None
    countries: list[str]
    in_scope: bool
    has_results: bool | None
    last_update_post_date: date | None
    labels: dict[str, Any]


def trial_records(conn: Connection, nct_ids: Sequence[str]) -> Iterator[tuple[ExportedTrial, dict[str, Any]]]:
    """Each trial's summary and labels, with its current version's study JSON, in NCT id order."""
    joined = trials.outerjoin(
        classifications, classifications.c.version_id == trials.c.current_version_id
    ).outerjoin(study_versions, study_versions.c.id == trials.c.current_version_id)
    statement = (
        select(trials, classifications.c.labels, study_versions.c.raw_zstd)
        .select_from(joined)
        .where(trials.c.nct_id.in_(list(nct_ids)))
        .order_by(trials.c.nct_id)
    )
    for row in conn.execute(statement):
        trial = ExportedTrial(
            nct_id=row.nct_id,
            brief_title=row.brief_title,
            overall_status=row.overall_status,
            phases=split_pipes(row.phases),
            study_type=row.study_type,
            start_date=row.start_date,
            primary_completion_date=row.primary_completion_date,
            enrollment=row.enrollment,
            lead_sponsor=row.lead_sponsor,
            countries=split_pipes(row.countries),
            in_scope=bool(row.in_scope),
            has_results=row.has_results,
            last_update_post_date=row.last_update_post_date,
            labels=row.labels if isinstance(row.labels, dict) else {},
        )
        yield trial, decompress_json(row.raw_zstd) if row.raw_zstd is not None else {}


def therapy_rows(conn: Connection, nct_ids: Sequence[str]) -> Iterator[Any]:
    """The therapies of these trials' current versions, in trial and record order."""
    statement = (
        select(trial_therapies)
        .select_from(
            trial_therapies.join(trials, trials.c.current_version_id == trial_therapies.c.version_id)
        )
        .where(trials.c.nct_id.in_(list(nct_ids)))
        .order_by(trial_therapies.c.nct_id, trial_therapies.c.position)
    )
    yield from conn.execute(statement)


def tag_rows(conn: Connection, nct_ids: Sequence[str]) -> Iterator[Any]:
    """The tags of these trials' current versions (the classifier's kinds; pair tags are an index)."""
    statement = (
        select(trial_tags.c.nct_id, trial_tags.c.kind, trial_tags.c.value, trial_tags.c.evidence)
        .select_from(trial_tags.join(trials, trials.c.current_version_id == trial_tags.c.version_id))
        .where(trials.c.nct_id.in_(list(nct_ids)), trial_tags.c.kind.in_(TAG_KINDS))
        .order_by(trial_tags.c.nct_id, trial_tags.c.kind, trial_tags.c.value)
    )
    yield from conn.execute(statement)


def event_rows(conn: Connection, nct_ids: Sequence[str], *, since: date | None = None) -> Iterator[Any]:
    """The change events of these trials (posted on or after `since`), in trial and id order."""
    statement = select(change_events).where(change_events.c.nct_id.in_(list(nct_ids)))
    if since is not None:
        statement = statement.where(change_events.c.registry_date >= since)
    yield from conn.execute(statement.order_by(change_events.c.nct_id, change_events.c.id))
