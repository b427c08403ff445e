"""One trial as people look at it: summary fields, labels and tags of its current version."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from hemewatch.classification.model import Tag
from hemewatch.storage.catalog import TrialQuery, search_trials
from hemewatch.storage.tables import trials
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
                    "evidence": [{"path": e.path, "text": e.text} for e in t.evidence],
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
