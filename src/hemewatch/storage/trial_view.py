"""Trials as people look at them: one trial's summary, labels and tags; the essentials of many."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from hemewatch.classification.model import Tag, evidence_list
from hemewatch.storage.catalog import TrialQuery, search_trials
from hemewatch.storage.codec import split_pipes
from hemewatch.storage.tables import chunks, trials
from hemewatch.storage.tags import load_labels, load_tags


@dataclass
class TrialView:
    """The current state of one mirrored trial."""

    summary: dict[str, Any]
    version_id: int | None
    version_count: int
    labels: dict[str, Any] | None
    tags: list[Tag]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            **self.summary,
            "version_id": self.version_id,
            "version_count": self.version_count,
            "lexicon_version": (self.labels or {}).get("lexicon_version"),
            "tags": [
                {
                    "kind": t.kind,
                    "value": t.value,
                    "evidence": evidence_list(t.evidence),
                }
                for t in self.tags
            ],
        }


def load_trial_view(conn: Connection, nct_id: str) -> TrialView | None:
    """The trial's current view, or None when it is not mirrored."""
    row = conn.execute(
        select(trials.c.current_version_id, trials.c.version_count).where(trials.c.nct_id == nct_id)
    ).first()
    if row is None:
        return None
    (listed,) = search_trials(conn, TrialQuery(nct_ids=(nct_id,), in_scope_only=False, limit=1))
    version_id = row.current_version_id
    return TrialView(
        summary=listed.to_dict(),
        version_id=version_id,
        version_count=int(row.version_count),
        labels=load_labels(conn, version_id) if version_id is not None else None,
        tags=load_tags(conn, version_id) if version_id is not None else [],
    )


@dataclass(frozen=True, slots=True)
class TrialEssentials:
    """What a message, a feed or a tracker's filter needs of a trial: its title and record fields."""

    nct_id: str
    title: str | None
    sponsor: str | None
    in_scope: bool
    status: str | None
    phases: tuple[str, ...]
    countries: tuple[str, ...]
    # Conditions and keywords, one per line.
    conditions: str | None


def trial_essentials(conn: Connection, nct_ids: Sequence[str]) -> dict[str, TrialEssentials]:
    """The essentials of each mirrored trial (in scope or not); unknown trials are left out."""
    found: dict[str, TrialEssentials] = {}
    for chunk in chunks(sorted(set(nct_ids))):
        rows = conn.execute(
            select(
                trials.c.nct_id,
                trials.c.brief_title,
                trials.c.lead_sponsor,
                trials.c.in_scope,
                trials.c.overall_status,
                trials.c.phases,
                trials.c.countries,
                trials.c.conditions,
            ).where(trials.c.nct_id.in_(list(chunk)))
        )
        for row in rows:
            found[row.nct_id] = TrialEssentials(
                nct_id=row.nct_id,
                title=row.brief_title,
                sponsor=row.lead_sponsor,
                in_scope=bool(row.in_scope),
                status=row.overall_status,
                phases=tuple(split_pipes(row.phases)),
                countries=tuple(split_pipes(row.countries)),
                conditions=row.conditions,
            )
    return found


def trial_titles(conn: Connection, nct_ids: Sequence[str]) -> dict[str, str | None]:
    """The brief title of each mirrored trial; unknown trials are left out."""
    return {nct_id: trial.title for nct_id, trial in trial_essentials(conn, nct_ids).items()}


def mirrored_trials(conn: Connection, nct_ids: Sequence[str]) -> set[str]:
    """Those of these NCT ids whose trial is mirrored (in scope or not)."""
    found: set[str] = set()
    for chunk in chunks(sorted(set(nct_ids))):
        found.update(conn.execute(select(trials.c.nct_id).where(trials.c.nct_id.in_(list(chunk)))).scalars())
    return found


def trial_exists(conn: Connection, nct_id: str) -> bool:
    """True when the trial is mirrored (in scope or not)."""
    return bool(mirrored_trials(conn, [nct_id]))
