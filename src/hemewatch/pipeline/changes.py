"""Turn newly stored versions into change events (diff against each trial's previous version)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from hemewatch.history import ChangeEvent, diff_versions, left_scope_event, new_trial_event
from hemewatch.storage.versions import StoredVersion, load_version


def detect_changes(
    conn: Connection,
    stored: Sequence[StoredVersion],
    *,
    in_scope: Mapping[str, bool],
    baseline: bool,
    now: datetime,
) -> list[ChangeEvent]:
    """The events for a batch of stored versions; none for a baseline run.

    Every version that advanced a trial's history is diffed against its predecessor (loaded
    from the database, or taken from this batch when stored together). A late, older capture
    changes no one's view of the trial and yields nothing. Administrative events are kept:
    they are recorded for the timeline and never alerted.
    """
    if baseline:
        return []
    events: list[ChangeEvent] = []
    studies: dict[int, dict[str, Any]] = {s.version_id: s.record.study for s in stored}
    for version in stored:
        if not version.advanced:
            continue
        inside = in_scope.get(version.nct_id, True)
        study = version.record.study
        if version.previous_version_id is None:
            if inside:
                events.append(new_trial_event(study, version_id=version.version_id, detected_at=now))
            continue
        previous = studies.get(version.previous_version_id)
        if previous is None:
            previous = load_version(conn, version.previous_version_id)
        events.extend(
            diff_versions(
                previous,
                study,
                old_version_id=version.previous_version_id,
                new_version_id=version.version_id,
                detected_at=now,
                include_administrative=True,
            )
        )
        if version.was_in_scope and not inside:
            events.append(left_scope_event(study, version_id=version.version_id, detected_at=now))
    return events
