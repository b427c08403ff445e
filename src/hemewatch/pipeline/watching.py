"""Watch a trial by NCT id, inside or outside the scope (`hemewatch add` / `remove`, the web form).

A watched trial is stored as soon as it is added (fetched when the mirror does not hold it) and is
followed like any trial in scope from then on: classified, read by every sync, diffed and alerted.
Its first stored version alerts nobody (someone asked for it); later changes alert as usual.
The callers hold the sync lock while these functions write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from hemewatch.classification import default_lexicon
from hemewatch.errors import HemewatchError, InvalidRecord, RegistryError
from hemewatch.pipeline.ingest import ingest_batch
from hemewatch.pipeline.tagging import tag_versions
from hemewatch.registry.client import RegistryClient
from hemewatch.registry.records import StudyRecord, parse_study
from hemewatch.registry.scope import Scope
from hemewatch.storage.runs import (
    abandon_stale_runs,
    finish_run,
    is_baseline,
    start_run,
    utc_now,
)
from hemewatch.storage.states import RunStatus
from hemewatch.storage.versions import load_current_study, load_version
from hemewatch.storage.watchlist import (
    add_watch,
    remove_watch,
    set_in_scope,
    unclassified_current_version,
    watch_status,
)

# What sync_runs calls the writes of `add` and of the web form (storage.runs; 16 characters at most).
WATCH_KIND = "watch"


@dataclass(frozen=True)
class WatchOutcome:
    """What watching one NCT id did."""

    requested: str  # the id as asked for (normalised)
    nct_id: str  # the record's current id, the one watched
    added: bool  # False when it was watched already
    new_to_mirror: bool  # the trial was not mirrored before
    stored: bool  # a new version was stored now
    matches_scope: bool  # the watch scope would follow it anyway
    title: str | None
    overall_status: str | None

    @property
    def followed_alias(self) -> bool:
        """The id asked for is an old id of the record watched (merged, or an alias upstream)."""
        return self.requested != self.nct_id

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "requested": self.requested,
            "nct_id": self.nct_id,
            "outcome": "added" if self.added else "already_watched",
            "alias_of": self.nct_id if self.followed_alias else None,
            "new_to_mirror": self.new_to_mirror,
            "stored": self.stored,
            "in_scope": self.matches_scope,
            "title": self.title,
            "overall_status": self.overall_status,
        }


@dataclass(frozen=True)
class UnwatchOutcome:
    """What `remove` did for one NCT id."""

    nct_id: str
    was_watched: bool
    mirrored: bool
    followed: bool  # still followed after it (the scope matches it)
    merged_into: str | None  # set when the id is an old id of another record

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "nct_id": self.nct_id,
            "outcome": "removed" if self.was_watched else "not_watched",
            "mirrored": self.mirrored,
            "in_scope": self.followed,
            "merged_into": self.merged_into,
        }


def watch_target(engine: Engine, nct_id: str) -> tuple[str, bool]:
    """The id to watch for `nct_id` (its record's id if it was merged) and whether it is mirrored."""
    with engine.connect() as conn:
        state = watch_status(conn, nct_id)
        if state.merged_into is None:
            return nct_id, state.mirrored
        return state.merged_into, watch_status(conn, state.merged_into).mirrored


def fetch_study(client: RegistryClient, nct_id: str) -> StudyRecord:
    """The study's current record (an alias answers with its current id); StudyNotFound when there is none."""
    study = client.get_study(nct_id)
    try:
        return parse_study(study)
    except HemewatchError as exc:  # InvalidRecord, InvalidNctId: nothing hemewatch can store
        raise RegistryError(
            f"ClinicalTrials.gov answered for {nct_id} with a record hemewatch cannot read: {exc.message}"
        ) from exc


def store_watched(
    engine: Engine,
    scope: Scope,
    record: StudyRecord,
    *,
    requested: str,
    added_by: str,
    note: str | None = None,
    now: datetime | None = None,
) -> WatchOutcome:
    """Watch the trial of a fetched record and store the record, in one transaction (nothing on failure)."""
    now = now or utc_now()
    nct_id = record.nct_id
    with engine.begin() as conn:
        abandon_stale_runs(conn, kinds=(WATCH_KIND,))
        mirrored = watch_status(conn, nct_id).mirrored
        run_id = start_run(conn, kind=WATCH_KIND, source=f"{added_by}: GET /studies/{requested}")
        added = add_watch(conn, nct_id, added_by=added_by, note=note, now=now)
        outcome, result = ingest_batch(
            conn,
            [record],
            scope=scope,
            source=WATCH_KIND,
            run_id=run_id,
            now=now,
            keep_out_of_scope=False,
            baseline=is_baseline(conn),
            silent_new={nct_id},
        )
        if outcome.quarantined and not mirrored:
            # Leaving the block by the exception rolls back the watch as well: nothing is kept.
            raise InvalidRecord(
                f"ClinicalTrials.gov's record of {nct_id} cannot be stored: {outcome.quarantined[0].reason}. "
                "Nothing was stored."
            )
        _follow(conn, nct_id, now=now)
        status = RunStatus.COMPLETED_ISSUES if outcome.quarantined else RunStatus.COMPLETED
        finish_run(conn, run_id, status=status)
    return WatchOutcome(
        requested=requested,
        nct_id=nct_id,
        added=added,
        new_to_mirror=bool(result.new_trials),
        stored=bool(result.stored),
        matches_scope=scope.matches(record.study),
        title=_text(record.study, "identificationModule", "briefTitle"),
        overall_status=_text(record.study, "statusModule", "overallStatus"),
    )


def follow_mirrored(
    engine: Engine,
    scope: Scope,
    nct_id: str,
    *,
    requested: str,
    added_by: str,
    note: str | None = None,
    now: datetime | None = None,
) -> WatchOutcome:
    """Watch a trial the mirror holds, without asking the registry (sync and reconcile keep it current)."""
    now = now or utc_now()
    with engine.begin() as conn:
        study = load_current_study(conn, nct_id)
        if study is None:
            raise ValueError(f"{nct_id} is not mirrored")
        added = add_watch(conn, nct_id, added_by=added_by, note=note, now=now)
        _follow(conn, nct_id, now=now)
    return WatchOutcome(
        requested=requested,
        nct_id=nct_id,
        added=added,
        new_to_mirror=False,
        stored=False,
        matches_scope=scope.matches(study),
        title=_text(study, "identificationModule", "briefTitle"),
        overall_status=_text(study, "statusModule", "overallStatus"),
    )


def unwatch_trial(engine: Engine, scope: Scope, nct_id: str) -> UnwatchOutcome:
    """Stop watching a trial; it stays mirrored, and followed only when the scope matches it (no alert)."""
    with engine.begin() as conn:
        state = watch_status(conn, nct_id)
        was_watched = remove_watch(conn, nct_id)
        followed = False
        if state.mirrored and state.removed_at is None and state.merged_into is None:
            study = load_current_study(conn, nct_id)
            followed = study is not None and scope.matches(study)
            if was_watched:
                set_in_scope(conn, nct_id, followed)
    return UnwatchOutcome(
        nct_id=nct_id,
        was_watched=was_watched,
        mirrored=state.mirrored,
        followed=followed,
        merged_into=state.merged_into,
    )


def _follow(conn: Connection, nct_id: str, *, now: datetime) -> None:
    # A trial mirrored out of scope was stored without tags, and an unchanged record does not
    # update its flag: both are set here. A record removed upstream stays unfollowed until it
    # comes back (the watch brings it back in then).
    state = watch_status(conn, nct_id)
    if state.removed_at is not None or state.merged_into is not None:
        return
    set_in_scope(conn, nct_id, True)
    version_id = unclassified_current_version(conn, nct_id)
    if version_id is not None:
        study = load_version(conn, version_id)
        tag_versions(conn, [(version_id, nct_id, study)], lexicon=default_lexicon(), now=now)


def _text(study: dict[str, Any], module: str, field: str) -> str | None:
    value = (study.get("protocolSection") or {}).get(module, {}).get(field)
    return value if isinstance(value, str) else None
