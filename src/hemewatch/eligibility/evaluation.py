"""Precision and recall of parsed eligibility facts against facts read by hand, per fact kind (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from hemewatch.eligibility.model import FACT_KINDS, Fact

FactKey = tuple[str, str, str, float | None, float | None]
ALL_KINDS: Final = "all"


@dataclass(frozen=True, slots=True)
class KindScore:
    """How the parser did on one fact kind: facts found and right, found but wrong, and missed."""

    kind: str
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float | None:
        """Right among found (None when nothing was found)."""
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else None

    @property
    def recall(self) -> float | None:
        """Found among expected (None when nothing was expected)."""
        expected = self.true_positives + self.false_negatives
        return self.true_positives / expected if expected else None


def label_key(data: Mapping[str, Any]) -> FactKey:
    """The key of a hand-written fact ({"kind", "value", "polarity", "low", "high"})."""
    low, high = data.get("low"), data.get("high")
    return (
        str(data["kind"]),
        str(data["value"]),
        str(data["polarity"]),
        None if low is None else float(low),
        None if high is None else float(high),
    )


def evaluate(
    expected: Mapping[str, Iterable[FactKey]], found: Mapping[str, Iterable[Fact]]
) -> dict[str, KindScore]:
    """Scores per fact kind (and over all kinds, under "all") for the records in `expected`.

    A found fact is right when a hand-written fact of the same record has the same key (kind, value,
    polarity, bounds); facts are compared as sets per record.
    """
    counts = {kind: [0, 0, 0] for kind in (*FACT_KINDS, ALL_KINDS)}
    for nct_id, keys in expected.items():
        wanted = set(keys)
        got = {fact.key() for fact in found.get(nct_id, ())}
        for key in got | wanted:
            slot = 0 if key in got and key in wanted else 1 if key in got else 2
            for kind in (key[0], ALL_KINDS):
                counts.setdefault(kind, [0, 0, 0])[slot] += 1
    return {kind: KindScore(kind, *values) for kind, values in counts.items()}


def mismatches(
    expected: Mapping[str, Iterable[FactKey]], found: Mapping[str, Iterable[Fact]]
) -> list[tuple[str, str, FactKey]]:
    """Every (NCT id, "missed" | "wrong", key) of a comparison, for reading what went astray."""
    out: list[tuple[str, str, FactKey]] = []
    for nct_id, keys in sorted(expected.items()):
        wanted = set(keys)
        got = {fact.key() for fact in found.get(nct_id, ())}
        out.extend((nct_id, "missed", key) for key in sorted(wanted - got, key=repr))
        out.extend((nct_id, "wrong", key) for key in sorted(got - wanted, key=repr))
    return out
