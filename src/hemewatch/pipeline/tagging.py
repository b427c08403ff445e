"""Classify stored versions and store their tags (in the same transaction as the versions)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from hemewatch.classification import (
    Classification,
    Evidence,
    Lexicon,
    Tag,
    classify_study,
    to_guideline_labels,
)
from hemewatch.classification.model import DISEASE, MODALITY, SETTING, TARGET, TagKind
from hemewatch.storage.tags import ClassifiedVersion, store_classifications

_FIELD_KINDS: dict[str, TagKind] = {
    "diseases": DISEASE,
    "modalities": MODALITY,
    "targets": TARGET,
    "settings": SETTING,
}


def labelled_tags(classification: Classification, labels: Mapping[str, Any]) -> Classification:
    """The classification's own tags plus its guideline labels as tags, so filters accept either.

    A filter on `T-ALL` then finds an `ETP-ALL` trial, and one on `ETP-ALL` still can.
    """
    seen = {(tag.kind, tag.value) for tag in classification.tags}
    extra: list[Tag] = []
    evidence: Mapping[str, Mapping[str, list[dict[str, str]]]] = labels.get("evidence", {})
    for field, kind in _FIELD_KINDS.items():
        for value in labels.get(field, []):
            if (kind, value) in seen:
                continue
            items = tuple(Evidence(e["path"], e["text"]) for e in evidence.get(field, {}).get(value, []))
            extra.append(Tag(kind=kind, value=value, evidence=items))
    if not extra:
        return classification
    return replace(classification, tags=classification.tags + tuple(extra))


def stored_labels(classification: Classification, lexicon: Lexicon) -> dict[str, Any]:
    """The labels kept with each version: the guideline fields plus populations and agents."""
    labels = to_guideline_labels(classification, lexicon)
    labels["populations"] = list(classification.values("population"))
    labels["agents"] = list(classification.values("agent"))
    return labels


def tag_versions(
    conn: Connection,
    versions: Iterable[tuple[int, str, Mapping[str, Any]]],
    *,
    lexicon: Lexicon,
    now: datetime,
) -> int:
    """Classify (version id, NCT id, study) triples and store the results; return how many."""
    items = []
    for version_id, nct_id, study in versions:
        classification = classify_study(study, lexicon)
        labels = stored_labels(classification, lexicon)
        items.append(ClassifiedVersion(version_id, nct_id, labelled_tags(classification, labels), labels))
    store_classifications(conn, items, now=now)
    return len(items)
