"""What the pre-screen reads: open trials in scope with their disease tags, and their current records."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Connection

from hemewatch.storage.codec import split_pipes
from hemewatch.storage.tables import trials
from hemewatch.storage.tags import current_tags


@dataclass(frozen=True, slots=True)
class ScreenableTrial:
    """One trial the pre-screen considers: its listing fields and its current version's disease tags."""

    nct_id: str
    title: str | None
    overall_status: str | None
    study_type: str | None
    phases: tuple[str, ...]
    countries: tuple[str, ...]
    version_id: int
    diseases: tuple[str, ...]


def load_screenable_trials(conn: Connection, statuses: Sequence[str]) -> list[ScreenableTrial]:
    """The trials in scope with one of these statuses and a current version, with their disease tags."""
    rows = conn.execute(
        select(
            trials.c.nct_id,
            trials.c.brief_title,
            trials.c.overall_status,
            trials.c.study_type,
            trials.c.phases,
            trials.c.countries,
            trials.c.current_version_id,
        )
        .where(
            trials.c.in_scope.is_(True),
            trials.c.overall_status.in_(list(statuses)),
            trials.c.current_version_id.is_not(None),
            trials.c.removed_at.is_(None),
        )
        .order_by(trials.c.nct_id)
    ).all()
    tags = current_tags(conn, [row.nct_id for row in rows], kinds=("disease",))
    return [
        ScreenableTrial(
            nct_id=row.nct_id,
            title=row.brief_title,
            overall_status=row.overall_status,
            study_type=row.study_type,
            phases=tuple(split_pipes(row.phases)),
            countries=tuple(split_pipes(row.countries)),
            version_id=int(row.current_version_id),
            diseases=tuple(tags[row.nct_id].get("disease", ())),
        )
        for row in rows
    ]
