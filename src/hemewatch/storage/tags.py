"""Store each version's classification (labels and tags with evidence) and read it back."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection

from hemewatch.classification.model import Classification, Evidence, Tag
from hemewatch.storage.tables import classifications, study_versions, trial_tags, trials


@dataclass(frozen=True, slots=True)
class ClassifiedVersion:
    """A version's classification, ready to store."""

    version_id: int
    nct_id: str
    classification: Classification
    labels: dict[str, Any]


def store_classifications(conn: Connection, items: Sequence[ClassifiedVersion], *, now: datetime) -> None:
    """Replace the classification of these versions (in the caller's transaction), in bulk."""
    if not items:
        return
    ids = [item.version_id for item in items]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        conn.execute(delete(trial_tags).where(trial_tags.c.version_id.in_(chunk)))
        conn.execute(delete(classifications).where(classifications.c.version_id.in_(chunk)))
    conn.execute(
        insert(classifications),
        [
            {
                "version_id": item.version_id,
                "nct_id": item.nct_id,
                "lexicon_version": item.classification.lexicon_version,
                "acute_leukemia": item.classification.acute_leukemia,
                "immunotherapy": item.classification.immunotherapy,
                "labels": {k: v for k, v in item.labels.items() if k != "evidence"},
                "classified_at": now,
            }
            for item in items
        ],
    )
    rows = [
        {
            "version_id": item.version_id,
            "nct_id": item.nct_id,
            "kind": tag.kind,
            "value": tag.value[:160],
            "value_folded": tag.value[:160].lower(),
            "evidence": [{"path": e.path, "text": e.text} for e in tag.evidence],
        }
        for item in items
        for tag in item.classification.tags
    ]
    if rows:
        conn.execute(insert(trial_tags), rows)


def store_classification(
    conn: Connection,
    *,
    version_id: int,
    nct_id: str,
    classification: Classification,
    labels: dict[str, Any],
    now: datetime,
) -> None:
    """Replace the classification of one version (in the caller's transaction)."""
    store_classifications(conn, [ClassifiedVersion(version_id, nct_id, classification, labels)], now=now)


def load_tags(conn: Connection, version_id: int) -> list[Tag]:
    """The tags of one version, with evidence, ordered by kind and value."""
    rows = conn.execute(
        select(trial_tags.c.kind, trial_tags.c.value, trial_tags.c.evidence)
        .where(trial_tags.c.version_id == version_id)
        .order_by(trial_tags.c.kind, trial_tags.c.value)
    )
    return [
        Tag(
            kind=row.kind,
            value=row.value,
            evidence=tuple(Evidence(e["path"], e["text"]) for e in row.evidence),
        )
        for row in rows
    ]


def load_labels(conn: Connection, version_id: int) -> dict[str, Any] | None:
    """The guideline labels and lexicon version of one version, or None if not classified."""
    row = conn.execute(select(classifications).where(classifications.c.version_id == version_id)).first()
    if row is None:
        return None
    return {
        **row.labels,
        "acute_leukemia": bool(row.acute_leukemia),
        "immunotherapy": bool(row.immunotherapy),
        "lexicon_version": row.lexicon_version,
    }


def current_labels(conn: Connection, nct_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The labels of the current version of each trial (trials not classified are left out)."""
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(nct_ids), 500):
        chunk = nct_ids[start : start + 500]
        rows = conn.execute(
            select(trials.c.nct_id, classifications.c.labels)
            .select_from(
                trials.join(classifications, classifications.c.version_id == trials.c.current_version_id)
            )
            .where(trials.c.nct_id.in_(chunk))
        )
        found.update({row.nct_id: dict(row.labels) for row in rows})
    return found


def iter_versions_to_classify(
    conn: Connection, lexicon_version: str, *, batch: int = 500, in_scope_only: bool = True
) -> Iterator[list[tuple[int, str, bytes]]]:
    """Batches of (version id, NCT id, compressed JSON) whose classification is missing or stale."""
    last_id = 0
    while True:
        joined = study_versions.outerjoin(
            classifications, classifications.c.version_id == study_versions.c.id
        ).join(trials, trials.c.nct_id == study_versions.c.nct_id)
        query = select(study_versions.c.id, study_versions.c.nct_id, study_versions.c.raw_zstd).select_from(
            joined
        )
        if in_scope_only:
            query = query.where(trials.c.in_scope.is_(True))
        rows = conn.execute(
            query.where(study_versions.c.id > last_id)
            .where(
                (classifications.c.version_id.is_(None))
                | (classifications.c.lexicon_version != lexicon_version)
            )
            .order_by(study_versions.c.id)
            .limit(batch)
        ).all()
        if not rows:
            return
        last_id = rows[-1].id
        yield [(int(r.id), r.nct_id, r.raw_zstd) for r in rows]
