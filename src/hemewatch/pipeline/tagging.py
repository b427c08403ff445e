"""Classify stored versions and store their tags (in the same transaction as the versions).

An import's worker processes classify (classify_version) but never store: the storage modules, and
SQLAlchemy with them, are imported only by the functions that store, so a worker starts without them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from hemewatch.classification import (
    Classification,
    Evidence,
    Lexicon,
    Tag,
    classify_study,
    to_guideline_labels,
)
from hemewatch.classification.model import DISEASE, MODALITY, SETTING, TARGET, TagKind
from hemewatch.eligibility.model import Fact
from hemewatch.eligibility.parse import PARSER_VERSION, parse_eligibility

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from hemewatch.storage.tags import ClassifiedVersion

# The eligibility facts travel with the labels (from an import's worker processes to the writer),
# and are stored in their own table, not with the labels.
FACTS_LABEL: Final = "eligibility_facts"

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


def tagging_version(lexicon_version: str) -> str:
    """The version stored with each classification: the lexicon's and the eligibility parser's.

    A version classified with another lexicon or read by another parser is stale (`reclassify`).
    """
    return f"{lexicon_version}+facts.{PARSER_VERSION}"


def classify_version(study: Mapping[str, Any], lexicon: Lexicon) -> tuple[Classification, dict[str, Any]]:
    """What is stored for a study: its classification with label tags, and its labels with its facts."""
    classification = classify_study(study, lexicon)
    labels = stored_labels(classification, lexicon)
    tagged = labelled_tags(classification, labels)
    labels[FACTS_LABEL] = [fact.to_dict() for fact in parse_eligibility(study, lexicon)]
    return replace(tagged, lexicon_version=tagging_version(classification.lexicon_version)), labels


def store_tagged(conn: Connection, items: Sequence[ClassifiedVersion], *, now: datetime) -> None:
    """Replace the classification and the eligibility facts of these versions (see classify_version)."""
    from hemewatch.storage.eligibility import store_many_facts
    from hemewatch.storage.tags import store_classifications

    plain = []
    facts: list[tuple[int, str, Sequence[Fact]]] = []
    for item in items:
        labels = {key: value for key, value in item.labels.items() if key != FACTS_LABEL}
        found = [Fact.from_dict(data) for data in item.labels.get(FACTS_LABEL, ())]
        plain.append(replace(item, labels=labels))
        facts.append((item.version_id, item.nct_id, found))
    store_classifications(conn, plain, now=now)
    store_many_facts(conn, facts)


def tag_versions(
    conn: Connection,
    versions: Iterable[tuple[int, str, Mapping[str, Any]]],
    *,
    lexicon: Lexicon,
    now: datetime,
) -> int:
    """Classify (version id, NCT id, study) triples, store the results and facts; return how many."""
    from hemewatch.storage.tags import ClassifiedVersion

    items = []
    for version_id, nct_id, study in versions:
        classification, labels = classify_version(study, lexicon)
        items.append(ClassifiedVersion(version_id, nct_id, classification, labels))
    store_tagged(conn, items, now=now)
    return len(items)
