"""The registry's own enumerations that filters accept (ClinicalTrials.gov API v2, spec 2.0.5)."""

from __future__ import annotations

from typing import Final, Literal, get_args

Phase = Literal["EARLY_PHASE1", "PHASE1", "PHASE2", "PHASE3", "PHASE4", "NA"]
OverallStatus = Literal[
    "NOT_YET_RECRUITING",
    "RECRUITING",
    "ENROLLING_BY_INVITATION",
    "ACTIVE_NOT_RECRUITING",
    "SUSPENDED",
    "TERMINATED",
    "COMPLETED",
    "WITHDRAWN",
    "UNKNOWN",
    "AVAILABLE",
    "NO_LONGER_AVAILABLE",
    "TEMPORARILY_NOT_AVAILABLE",
    "APPROVED_FOR_MARKETING",
    "WITHHELD",
]
PHASES: Final[tuple[str, ...]] = get_args(Phase)
OVERALL_STATUSES: Final[tuple[str, ...]] = get_args(OverallStatus)
