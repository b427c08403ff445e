"""Bare rows the storage tests build on: a trial and a version of it, with no record behind them."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select

from hemewatch.storage.codec import compress_json
from hemewatch.storage.tables import study_versions, trials

STORED_AT = datetime(2026, 12, 7, tzinfo=UTC)


def bare_version(engine: Engine, nct_id: str, content_hash: str, *, current: bool = True) -> int:
    """A new version of the trial (created if absent) holding an empty record; its id.

    `current`: the trial's current version becomes this one.
    """
    with engine.begin() as conn:
        if conn.execute(select(trials.c.nct_id).where(trials.c.nct_id == nct_id)).first() is None:
            conn.execute(
                insert(trials).values(
                    nct_id=nct_id,
                    version_count=0,
                    in_scope=True,
                    first_seen_at=STORED_AT,
                    last_checked_at=STORED_AT,
                )
            )
        version_id = conn.execute(
            insert(study_versions)
            .values(
                nct_id=nct_id,
                content_hash=content_hash,
                fetched_at=STORED_AT,
                source="sync",
                raw_size=2,
                raw_zstd=compress_json(b"{}"),
            )
            .returning(study_versions.c.id)
        ).scalar_one()
        if current:
            conn.execute(
                trials.update().where(trials.c.nct_id == nct_id).values(current_version_id=version_id)
            )
    return int(version_id)
