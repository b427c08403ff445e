"""The landscape: trials by therapy target × modality, by phase and status, started per year by modality."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from hemewatch.classification.lexicon import Lexicon
from hemewatch.storage.landscape import LandscapeTrial, landscape_trials
from hemewatch.vocabulary import phase_label
from hemewatch.web.views.context import ViewContext

MAX_TARGETS: Final = 14
YEARS_SHOWN: Final = 15
PHASE_ORDER: Final = (
    "Early phase 1",
    "Phase 1",
    "Phase 1/2",
    "Phase 2",
    "Phase 2/3",
    "Phase 3",
    "Phase 4",
    "Not applicable",
    "No phase",
)
STATUS_GROUPS: Final[dict[str, str]] = {
    "RECRUITING": "Recruiting",
    "NOT_YET_RECRUITING": "Not yet recruiting",
    "ENROLLING_BY_INVITATION": "Recruiting",
    "ACTIVE_NOT_RECRUITING": "Active, not recruiting",
    "COMPLETED": "Completed",
    "TERMINATED": "Stopped early",
    "WITHDRAWN": "Stopped early",
    "SUSPENDED": "Stopped early",
}
STATUS_ORDER: Final = (
    "Recruiting",
    "Not yet recruiting",
    "Active, not recruiting",
    "Completed",
    "Stopped early",
    "Other or unknown",
)
# Modality families as the per-year chart groups them.
FAMILY_GROUPS: Final[dict[str, str]] = {
    "cell": "Cell therapy",
    "antibody": "Antibodies and T-cell engagers",
    "vaccine": "Vaccines and innate agonists",
    "innate": "Vaccines and innate agonists",
    "small molecule": "Targeted small molecules",
    "chemotherapy": "Chemotherapy",
    "transplant": "Transplant",
}
GROUP_ORDER: Final = (
    "Cell therapy",
    "Antibodies and T-cell engagers",
    "Vaccines and innate agonists",
    "Targeted small molecules",
    "Chemotherapy",
    "Transplant",
)


@dataclass(frozen=True)
class Matrix:
    """Counts of trials by row and column (a trial counts once per cell it falls in)."""

    rows: list[str]
    columns: list[str]
    counts: dict[tuple[str, str], int] = field(default_factory=dict)

    def get(self, row: str, column: str) -> int:
        """The count in one cell."""
        return self.counts.get((row, column), 0)

    def row_total(self, row: str) -> int:
        """Trials counted in a row's cells (a trial in two columns counts twice)."""
        return sum(self.get(row, column) for column in self.columns)

    @property
    def empty(self) -> bool:
        """True when no cell has a trial."""
        return not any(self.counts.values())


@dataclass(frozen=True)
class Landscape:
    """The three landscape matrices for one set of trials."""

    trials: int
    target_modality: Matrix
    phase_status: Matrix
    year_modality: Matrix


def _phase(phases: Sequence[str]) -> str:
    return phase_label(phases) if phases else "No phase"


def _target_modality(trials: list[LandscapeTrial], lexicon: Lexicon) -> Matrix:
    # Real therapy pairs only: blinatumomab + inotuzumab counts under CD19 x T-cell engager and
    # CD22 x antibody-drug conjugate, never under CD19 x antibody-drug conjugate.
    counts: Counter[tuple[str, str]] = Counter()
    for trial in trials:
        cells = {
            (target, entry.label)
            for target, modality in trial.pairs
            if (entry := lexicon.modalities.get(modality)) is not None and entry.immunotherapy and entry.label
        }
        counts.update(cells)
    per_target: Counter[str] = Counter()
    per_modality: Counter[str] = Counter()
    for (target, label), count in counts.items():
        per_target[target] += count
        per_modality[label] += count
    rows = [t for t, _ in per_target.most_common(MAX_TARGETS)]
    columns = [m for m, _ in per_modality.most_common()]
    return Matrix(rows, columns, {key: n for key, n in counts.items() if key[0] in rows})


def _phase_status(trials: list[LandscapeTrial]) -> Matrix:
    counts: Counter[tuple[str, str]] = Counter(
        (_phase(t.phases), STATUS_GROUPS.get(t.status or "", "Other or unknown")) for t in trials
    )
    phases = {p for p, _ in counts}
    rows = [p for p in PHASE_ORDER if p in phases] + sorted(phases - set(PHASE_ORDER))
    statuses = {s for _, s in counts}
    return Matrix(rows, [s for s in STATUS_ORDER if s in statuses], dict(counts))


def _year_modality(trials: list[LandscapeTrial], lexicon: Lexicon) -> Matrix:
    counts: Counter[tuple[str, str]] = Counter()
    years = [t.start_year for t in trials if t.start_year is not None]
    if not years:
        return Matrix([], [])
    last = max(years)
    first = max(min(years), last - YEARS_SHOWN + 1)
    for trial in trials:
        if trial.start_year is None or trial.start_year < first:
            continue
        groups = {
            FAMILY_GROUPS[entry.family]
            for m in trial.modalities
            if (entry := lexicon.modalities.get(m)) is not None and entry.family in FAMILY_GROUPS
        }
        for group in groups:
            counts[(str(trial.start_year), group)] += 1
    present = {g for _, g in counts}
    return Matrix(
        [str(y) for y in range(first, last + 1)], [g for g in GROUP_ORDER if g in present], dict(counts)
    )


def landscape(ctx: ViewContext, diseases: Sequence[str]) -> Landscape:
    """The landscape of the trials in scope with one of the diseases (all when empty); cached."""

    def compute() -> Landscape:
        trials = landscape_trials(ctx.conn, diseases)
        return Landscape(
            trials=len(trials),
            target_modality=_target_modality(trials, ctx.lexicon),
            phase_status=_phase_status(trials),
            year_modality=_year_modality(trials, ctx.lexicon),
        )

    return ctx.cached(("landscape", tuple(diseases)), compute)
