"""Mapping internal tags onto the vocabulary of the gold-label guideline (data/gold/GUIDELINE.md)."""

from __future__ import annotations

from typing import Any, Final

from hemewatch.classification.lexicon import Lexicon, default_lexicon
from hemewatch.classification.model import (
    DISEASE,
    MODALITY,
    SETTING,
    TARGET,
    Classification,
    Evidence,
    TagKind,
)

GUIDELINE_FIELDS: Final = ("diseases", "modalities", "targets", "settings")
_KIND_OF_FIELD: Final[dict[str, TagKind]] = {
    "diseases": DISEASE,
    "modalities": MODALITY,
    "targets": TARGET,
    "settings": SETTING,
}


def to_guideline_labels(classification: Classification, lexicon: Lexicon | None = None) -> dict[str, Any]:
    """Return the guideline label set of a classification, with evidence per label."""
    lexicon = lexicon or default_lexicon()
    labels: dict[str, Any] = {
        "nct_id": classification.nct_id,
        "acute_leukemia": classification.acute_leukemia,
        "immunotherapy": classification.immunotherapy,
    }
    evidence: dict[str, dict[str, list[dict[str, str]]]] = {}
    for field in GUIDELINE_FIELDS:
        mapped: dict[str, list[Evidence]] = {}
        for tag in classification.tags_of(_KIND_OF_FIELD[field]):
            label = _label(field, tag.value, lexicon)
            if label is not None:
                bucket = mapped.setdefault(label, [])
                bucket.extend(item for item in tag.evidence if item not in bucket)
        labels[field] = sorted(mapped)
        evidence[field] = {
            label: [{"path": item.path, "text": item.text} for item in items]
            for label, items in sorted(mapped.items())
        }
    labels["evidence"] = evidence
    return labels


def _label(field: str, value: str, lexicon: Lexicon) -> str | None:
    if field == "diseases":
        disease = lexicon.diseases.get(value)
        return disease.label if disease else None
    if field == "modalities":
        modality = lexicon.modalities.get(value)
        return modality.label if modality else None
    if field == "targets":
        target = lexicon.targets.get(value)
        return target.label if target else None
    setting = next((entry for entry in lexicon.settings.values() if entry.label == value), None)
    return setting.label if setting else None
