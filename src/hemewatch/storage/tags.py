"""Store each version's classification (labels and tags with evidence) and read it back."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, delete, func, select
from sqlalchemy.engine import Connection

from hemewatch.classification.model import (
    STUDIED_ROLES,
    Classification,
    Evidence,
    Tag,
    Therapy,
    evidence_list,
)
from hemewatch.storage import text_index
from hemewatch.storage.bulk import BulkWriter
from hemewatch.storage.tables import (
    chunks,
    classifications,
    study_versions,
    trial_tags,
    trial_therapies,
    trials,
)

# A tag kind of storage's own: one row per (target, modality) of a studied therapy, so that a
# question naming a target and a modality is asked of one therapy through the tag index.
PAIR_KIND = "pair"


def pair_value(target: str, modality: str) -> str:
    """The stored value of a (target, modality) pair: 'CD19|CAR-T'."""
    return f"{target}|{modality}"


def pair_tags(therapies: Sequence[Therapy]) -> list[Tag]:
    """The pair tags of a version's studied therapies, with the evidence of each therapy."""
    found: dict[str, list[Evidence]] = {}
    for therapy in therapies:
        if therapy.role not in STUDIED_ROLES:
            continue
        for target, modality in therapy.pairs:
            bucket = found.setdefault(pair_value(target, modality), [])
            bucket.extend(e for e in therapy.evidence if e not in bucket)
    return [Tag(PAIR_KIND, value, tuple(evidence)) for value, evidence in sorted(found.items())]  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class ClassifiedVersion:
    """A version's classification, ready to store."""

    version_id: int
    nct_id: str
    classification: Classification
    labels: dict[str, Any]


_CLASSIFICATION_COLUMNS = (
    "version_id",
    "nct_id",
    "lexicon_version",
    "acute_leukemia",
    "immunotherapy",
    "labels",
    "classified_at",
)
_TAG_COLUMNS = ("version_id", "nct_id", "kind", "value", "value_folded", "evidence")
_THERAPY_COLUMNS = (
    "version_id",
    "nct_id",
    "position",
    "name",
    "name_folded",
    "agent",
    "modality",
    "drug_class",
    "targets",
    "role",
    "unresolved",
    "evidence",
)


def store_classifications(conn: Connection, items: Sequence[ClassifiedVersion], *, now: datetime) -> None:
    """Replace the classification of these versions (in the caller's transaction), in bulk."""
    if not items:
        return
    ids = [item.version_id for item in items]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        conn.execute(delete(trial_tags).where(trial_tags.c.version_id.in_(chunk)))
        conn.execute(delete(trial_therapies).where(trial_therapies.c.version_id.in_(chunk)))
        conn.execute(delete(classifications).where(classifications.c.version_id.in_(chunk)))
    writer = BulkWriter(conn)
    writer.insert_values(
        classifications,
        _CLASSIFICATION_COLUMNS,
        (
            (
                item.version_id,
                item.nct_id,
                item.classification.lexicon_version,
                item.classification.acute_leukemia,
                item.classification.immunotherapy,
                {k: v for k, v in item.labels.items() if k != "evidence"},
                now,
            )
            for item in items
        ),
    )
    writer.insert_values(
        trial_tags,
        _TAG_COLUMNS,
        (
            (
                item.version_id,
                item.nct_id,
                tag.kind,
                tag.value[:160],
                tag.value[:160].lower(),
                evidence_list(tag.evidence),
            )
            for item in items
            for tag in (*item.classification.tags, *pair_tags(item.classification.therapies))
        ),
    )
    writer.insert_values(
        trial_therapies,
        _THERAPY_COLUMNS,
        (
            (
                item.version_id,
                item.nct_id,
                position,
                therapy.name,
                therapy.name.casefold(),
                therapy.agent[:160] if therapy.agent else None,
                therapy.modality,
                therapy.drug_class,
                list(therapy.targets),
                therapy.role,
                therapy.unresolved,
                evidence_list(therapy.evidence),
            )
            for item in items
            for position, therapy in enumerate(item.classification.therapies)
        ),
    )
    # The full-text index reads the current versions' therapies and agents.
    text_index.refresh(conn, {item.nct_id for item in items})


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
    """The tags of one version, with evidence, ordered by kind and value (pair rows left out)."""
    rows = conn.execute(
        select(trial_tags.c.kind, trial_tags.c.value, trial_tags.c.evidence)
        .where(trial_tags.c.version_id == version_id, trial_tags.c.kind != PAIR_KIND)
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


def load_therapies(conn: Connection, version_id: int) -> list[Therapy]:
    """The therapies of one version, in the order of the record's interventions."""
    rows = conn.execute(
        select(trial_therapies)
        .where(trial_therapies.c.version_id == version_id)
        .order_by(trial_therapies.c.position)
    )
    return [_therapy(row) for row in rows]


def current_therapies(
    conn: Connection, nct_ids: Sequence[str], *, with_evidence: bool = True
) -> dict[str, list[Therapy]]:
    """The therapies of the current version of each trial (trials without any are left out).

    `with_evidence=False`: without their evidence (a listing shows what they are, not why).
    """
    found: dict[str, list[Therapy]] = {}
    statement = _current_therapies(with_evidence)
    for chunk in chunks(nct_ids):
        for row in conn.execute(statement, {"nct_ids": list(chunk)}):
            found.setdefault(row.nct_id, []).append(_therapy(row))
    return found


# The statements of current_therapies and current_tags, built once for each variant: a listing asks
# for them on every page, and building a statement costs more than running it on 25 trials.
@cache
def _current_therapies(with_evidence: bool) -> Select[Any]:
    columns = [c for c in trial_therapies.c if with_evidence or c.name != "evidence"]
    return (
        select(*columns)
        .select_from(
            trial_therapies.join(trials, trials.c.current_version_id == trial_therapies.c.version_id)
        )
        .where(trials.c.nct_id.in_(bindparam("nct_ids", expanding=True)))
        .order_by(trial_therapies.c.nct_id, trial_therapies.c.position)
    )


@cache
def _current_tags(kinds: tuple[str, ...] | None, pairs: bool) -> Select[Any]:
    query = (
        select(trials.c.nct_id, trial_tags.c.kind, trial_tags.c.value)
        .select_from(trials.join(trial_tags, trial_tags.c.version_id == trials.c.current_version_id))
        .where(trials.c.nct_id.in_(bindparam("nct_ids", expanding=True)))
        .order_by(trials.c.nct_id, trial_tags.c.kind, trial_tags.c.value)
    )
    if kinds is not None:
        query = query.where(trial_tags.c.kind.in_(kinds))
    if not pairs:
        query = query.where(trial_tags.c.kind != PAIR_KIND)
    return query


def _therapy(row: Any) -> Therapy:
    return Therapy.from_dict(
        {
            "name": row.name,
            "agent": row.agent,
            "modality": row.modality,
            "drug_class": row.drug_class,
            "targets": list(row.targets or []),
            "role": row.role,
            "evidence": list(getattr(row, "evidence", None) or []),
            "unresolved": bool(row.unresolved),
        }
    )


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


def current_tags(
    conn: Connection,
    nct_ids: Sequence[str],
    *,
    kinds: Sequence[str] | None = None,
    pairs: bool = False,
) -> dict[str, dict[str, list[str]]]:
    """For each trial asked for, the values of each tag kind of its current version, sorted (no evidence).

    Every trial asked for has an entry (empty when unknown or untagged). `kinds` keeps only those
    kinds; pair rows ('CD19|CAR-T', see `pair_value`) are left out unless `pairs` is set.
    """
    found: dict[str, dict[str, list[str]]] = {nct_id: {} for nct_id in nct_ids}
    statement = _current_tags(None if kinds is None else tuple(kinds), pairs)
    for chunk in chunks(list(found)):
        for row in conn.execute(statement, {"nct_ids": list(chunk)}):
            found[row.nct_id].setdefault(row.kind, []).append(row.value)
    return found


def count_versions_in_scope(conn: Connection) -> int:
    """How many stored versions belong to trials in scope (what a full reclassification reads)."""
    return int(
        conn.execute(
            select(func.count())
            .select_from(study_versions.join(trials, trials.c.nct_id == study_versions.c.nct_id))
            .where(trials.c.in_scope.is_(True))
        ).scalar_one()
    )


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
