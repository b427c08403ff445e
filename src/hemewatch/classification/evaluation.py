"""Measuring the classifier against gold labels: micro-averaged F1 per field, per-label figures, accuracy."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from hemewatch.classification.guideline import GUIDELINE_FIELDS

BOOLEAN_FIELDS: Final = ("acute_leukemia", "immunotherapy")
DEVELOPMENT: Final = "development"
HELD_BACK: Final = "held-back"


@dataclass(slots=True)
class Counts:
    """True positives, false positives and false negatives of one field or label."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        """Share of predicted labels that are right (1.0 when nothing was predicted)."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """Share of gold labels that were found (1.0 when there were none)."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        total = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / total if total else 1.0


@dataclass(frozen=True, slots=True)
class Disagreement:
    """One record where the classifier and the gold labels differ on a field."""

    nct_id: str
    field: str
    expected: tuple[str, ...]
    got: tuple[str, ...]


@dataclass(slots=True)
class Scores:
    """Per-field and per-label counts, boolean accuracies and the disagreements behind them."""

    fields: dict[str, Counts] = field(default_factory=dict)
    labels: dict[str, dict[str, Counts]] = field(default_factory=dict)
    accuracy: dict[str, float] = field(default_factory=dict)
    disagreements: list[Disagreement] = field(default_factory=list)


def score_labels(predicted: Sequence[Mapping[str, Any]], gold: Sequence[Mapping[str, Any]]) -> Scores:
    """Score predicted guideline labels against gold labels, matched by nct_id."""
    by_id = {str(item["nct_id"]): item for item in predicted}
    scores = Scores(
        fields={name: Counts() for name in GUIDELINE_FIELDS},
        labels={name: {} for name in GUIDELINE_FIELDS},
    )
    correct = dict.fromkeys(BOOLEAN_FIELDS, 0)
    for expected in gold:
        nct_id = str(expected["nct_id"])
        got = by_id.get(nct_id, {})
        for name in BOOLEAN_FIELDS:
            if bool(got.get(name)) == bool(expected[name]):
                correct[name] += 1
            else:
                scores.disagreements.append(
                    Disagreement(nct_id, name, (str(expected[name]),), (str(bool(got.get(name))),))
                )
        for name in GUIDELINE_FIELDS:
            want, have = set(expected[name]), set(got.get(name, ()))
            _count(scores.fields[name], want, have)
            for label in want | have:
                _count(scores.labels[name].setdefault(label, Counts()), want & {label}, have & {label})
            if want != have:
                scores.disagreements.append(
                    Disagreement(nct_id, name, tuple(sorted(want)), tuple(sorted(have)))
                )
    scores.accuracy = {name: correct[name] / len(gold) if gold else 1.0 for name in BOOLEAN_FIELDS}
    return scores


def _count(counts: Counts, want: set[str], have: set[str]) -> None:
    counts.tp += len(want & have)
    counts.fp += len(have - want)
    counts.fn += len(want - have)


def gold_part(nct_id: str) -> str:
    """The part of the gold set a record belongs to: "development" or "held-back".

    About one record in three is held back, chosen by a hash of its NCT id so that the split does not
    depend on the order of the file or on anything a rule could see. Rules are written while reading
    the development part only; the held-back part is scored, never read.
    """
    digest = hashlib.sha256(nct_id.encode()).digest()
    return HELD_BACK if digest[0] % 3 == 0 else DEVELOPMENT


def minimal_record(study: Mapping[str, Any]) -> dict[str, Any]:
    """Strip a record to its titles, conditions, intervention names and brief summary.

    Measures how the classifier does on sparse records, such as search results fetched with `fields=`.
    """
    protocol = study.get("protocolSection", {})
    ident = protocol.get("identificationModule", {})
    conditions = protocol.get("conditionsModule", {}).get("conditions", [])
    interventions = protocol.get("armsInterventionsModule", {}).get("interventions", [])
    summary = protocol.get("descriptionModule", {}).get("briefSummary")
    minimal: dict[str, Any] = {
        "identificationModule": {
            key: ident[key] for key in ("nctId", "briefTitle", "officialTitle", "acronym") if key in ident
        },
        "conditionsModule": {"conditions": list(conditions)},
        "armsInterventionsModule": {
            "interventions": [{"name": item["name"]} for item in interventions if "name" in item]
        },
    }
    if summary:
        minimal["descriptionModule"] = {"briefSummary": summary}
    return {"protocolSection": minimal}
