"""Eligibility facts: what a trial's criteria require, allow or exclude, each with its evidence (pure).

A fact is one structured reading of one criterion sentence. Its meaning is uniform across kinds:

- `required`: the patient must have it (be CD19-positive, have relapsed, have had at least 2 lines);
- `excluded`: having it rules the patient out (prior CD19 CAR-T, active CNS disease, a TP53 mutation);
- `allowed`: the criteria say plainly that having it does not rule the patient out ("prior
  blinatumomab is allowed", "CNS2 permitted").

For antigens and genetic findings the thing is the positive finding: `antigen CD19 required` means
CD19-positive disease is required, `antigen CD19 excluded` means CD19-positive disease rules the
patient out (e.g. a trial for CD19-negative relapse). Numeric bounds (`low`, `high`, inclusive) carry
ages in years, numbers of prior lines, and performance-status limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

FactKind = Literal[
    "age", "disease", "setting", "prior_therapy", "prior_lines", "antigen", "genetic", "cns", "performance"
]  # fmt: skip
FACT_KINDS: Final[tuple[FactKind, ...]] = (
    "age", "disease", "setting", "prior_therapy", "prior_lines", "antigen", "genetic", "cns", "performance"
)  # fmt: skip

Polarity = Literal["required", "excluded", "allowed"]
POLARITIES: Final[tuple[Polarity, ...]] = ("required", "excluded", "allowed")

# Where the sentence stood: under an "Inclusion" or "Exclusion" heading, or in criteria without
# headings (polarity then comes from the sentence alone); "record" for the structured age fields.
Section = Literal["inclusion", "exclusion", "unsectioned", "record"]
SECTIONS: Final[tuple[Section, ...]] = ("inclusion", "exclusion", "unsectioned", "record")

Verdict = Literal["meets", "fails", "unknown"]
VERDICTS: Final[tuple[Verdict, ...]] = ("meets", "fails", "unknown")

# The values each kind takes. Diseases are the classifier lexicon's disease names (B-ALL, T-ALL, AML,
# Ph+ ALL, APL, MPAL, …); prior therapies are one of PRIOR_THERAPIES or a lexicon agent's canonical
# name (e.g. "venetoclax"); antigens are the lexicon's target names (CD19, CD22, CD33, CD123, CD7, …).
AGE: Final = "years"  # the one value of kind "age": low / high in years
PRIOR_LINES: Final = "lines"  # the one value of kind "prior_lines": low / high number of prior lines
CNS: Final = "CNS involvement"  # the one value of kind "cns"

SETTINGS: Final = (
    "newly diagnosed",
    "relapsed/refractory",  # relapsed or refractory (either satisfies it)
    "relapsed",
    "refractory",
    "first relapse",
    "second or later relapse",
    "MRD-positive",
    "complete remission",
    "post-HSCT relapse",
)
PRIOR_THERAPIES: Final = (
    "CAR-T",  # any CAR-T product
    "CD19 CAR-T",
    "CD22 CAR-T",
    "CD19-directed therapy",  # blinatumomab, CD19 CAR-T, tafasitamab, loncastuximab, …
    "CD22-directed therapy",  # inotuzumab, CD22 CAR-T, …
    "CD33-directed therapy",
    "blinatumomab",
    "inotuzumab ozogamicin",
    "gemtuzumab ozogamicin",
    "allogeneic HSCT",
    "autologous HSCT",
    "HSCT",  # a stem cell transplant, allogeneic or autologous not said
    "TKI",
    "FLT3 inhibitor",
    "IDH inhibitor",
    "menin inhibitor",
    "venetoclax",
    "hypomethylating agent",
    "intensive chemotherapy",
)
GENETICS: Final = (
    "Ph+ / BCR::ABL1",
    "Ph-like",
    "KMT2A rearrangement",
    "FLT3 mutation",
    "NPM1 mutation",
    "IDH1 mutation",
    "IDH2 mutation",
    "TP53 mutation",
)
PERFORMANCE_SCALES: Final = ("ECOG", "Karnofsky", "Lansky")  # ECOG: high is the maximum; others: low


@dataclass(frozen=True, slots=True)
class Fact:
    """One structured reading of one criterion, with the sentence it comes from."""

    kind: FactKind
    value: str
    polarity: Polarity
    section: Section
    evidence: str  # the criterion as written (one bullet or sentence, whitespace folded)
    low: float | None = None
    high: float | None = None

    def key(self) -> tuple[str, str, str, float | None, float | None]:
        """What makes two facts the same fact across versions (the evidence's wording aside)."""
        return (self.kind, self.value, self.polarity, self.low, self.high)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the API, the stored row, change events)."""
        return {
            "kind": self.kind,
            "value": self.value,
            "polarity": self.polarity,
            "section": self.section,
            "low": self.low,
            "high": self.high,
            "evidence": self.evidence,
            "text": self.describe(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fact:
        """The fact a `to_dict` result (or a stored row) describes."""
        low, high = data.get("low"), data.get("high")
        return cls(
            kind=data["kind"],
            value=data["value"],
            polarity=data["polarity"],
            section=data["section"],
            evidence=data["evidence"],
            low=None if low is None else float(low),
            high=None if high is None else float(high),
        )

    def describe(self) -> str:
        """A short sentence a coordinator reads: "Requires CD19-positive disease", "ECOG at most 2"."""
        return describe(self)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _bounds(low: float | None, high: float | None, unit: str) -> str:
    if low is not None and high is not None:
        return f"{_number(low)}–{_number(high)}{unit}"
    if low is not None:
        return f"at least {_number(low)}{unit}"
    if high is not None:
        return f"at most {_number(high)}{unit}"
    return "any"


_VERBS: Final[dict[str, str]] = {"required": "Requires", "excluded": "Excludes", "allowed": "Allows"}


def describe(fact: Fact) -> str:
    """A short sentence a coordinator reads: "Requires CD19-positive disease", "ECOG at most 2"."""
    verb = _VERBS[fact.polarity]
    if fact.kind == "age":
        return f"Age {_bounds(fact.low, fact.high, ' years')}"
    if fact.kind == "prior_lines":
        return f"{verb} prior lines of therapy: {_bounds(fact.low, fact.high, '')}"
    if fact.kind == "performance":
        return f"{fact.value} {_bounds(fact.low, fact.high, '')}"
    if fact.kind == "antigen":
        return f"{verb} {fact.value}-positive disease"
    if fact.kind == "prior_therapy":
        return f"{verb} prior {fact.value}"
    if fact.kind == "cns":
        return f"{verb} CNS involvement"
    if fact.kind == "setting":
        return f"{verb} {fact.value} disease"
    return f"{verb} {fact.value}"
