"""Events that need one version only: a trial entering the watched scope or leaving it, and what
reconciliation finds upstream (the record removed from the registry, or merged into another one)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from hemewatch.errors import InvalidRecord
from hemewatch.history.context import DiffContext
from hemewatch.history.dates import registry_date
from hemewatch.history.events import ChangeEvent, JsonValue
from hemewatch.history.normalise import get_path, module
from hemewatch.history.rules import Rules, default_rules
from hemewatch.history.wording import phases_label, shorten, status_label


def new_trial_event(
    study: Mapping[str, Any], *, version_id: int | None, detected_at: datetime, rules: Rules | None = None
) -> ChangeEvent:
    """The new_trial event for the first version of a trial seen in scope."""
    ctx = study_context(
        study, old_version_id=None, new_version_id=version_id, detected_at=detected_at, rules=rules
    )
    synopsis = trial_synopsis(study)
    details = ", ".join(
        [
            status_label(synopsis["overallStatus"]),
            phases_label(_strings(synopsis["phases"])),
            f"{synopsis['leadSponsor']}",
        ]
    )
    summary = f"New trial: {shorten(synopsis['briefTitle'], 100)} ({details})"
    return ctx.event("new_trial", "study", None, synopsis, summary)


def left_scope_event(
    study: Mapping[str, Any], *, version_id: int | None, detected_at: datetime, rules: Rules | None = None
) -> ChangeEvent:
    """The left_scope event for a trial whose version `version_id` no longer matches the scope."""
    ctx = study_context(
        study, old_version_id=None, new_version_id=version_id, detected_at=detected_at, rules=rules
    )
    synopsis = trial_synopsis(study)
    summary = (
        f"Left scope: {shorten(synopsis['briefTitle'], 100)} ({status_label(synopsis['overallStatus'])})"
    )
    return ctx.event("left_scope", "study", synopsis, None, summary)


def record_removed_event(
    study: Mapping[str, Any],
    *,
    version_id: int | None,
    detected_at: datetime,
    registry_date: date | None = None,
    rules: Rules | None = None,
) -> ChangeEvent:
    """The record_removed event: the registry no longer has the trial whose last version is `study`.

    A deletion has no update date of its own: `registry_date` is the day it was found (by default
    the day of `detected_at`).
    """
    ctx = DiffContext(
        nct_id=nct_id_of(study),
        old_version_id=None,
        new_version_id=version_id,
        registry_date=registry_date or detected_at.date(),
        detected_at=detected_at,
        rules=rules or default_rules(),
    )
    synopsis = trial_synopsis(study)
    summary = (
        f"Removed from ClinicalTrials.gov: {shorten(synopsis['briefTitle'], 100)} "
        f"(last status: {status_label(synopsis['overallStatus'])})"
    )
    return ctx.event("record_removed", "study", synopsis, None, summary)


def merged_into_event(
    study: Mapping[str, Any],
    into: str,
    *,
    version_id: int | None,
    detected_at: datetime,
    into_title: str | None = None,
    registry_date: date | None = None,
    rules: Rules | None = None,
) -> ChangeEvent:
    """The merged_into event: the trial's NCT id is now an alias of the record `into`.

    `registry_date` is the surviving record's last update (by default the day of `detected_at`).
    """
    nct_id = nct_id_of(study)
    ctx = DiffContext(
        nct_id=nct_id,
        old_version_id=None,
        new_version_id=version_id,
        registry_date=registry_date or detected_at.date(),
        detected_at=detected_at,
        rules=rules or default_rules(),
    )
    title = into_title or get_path(study, "protocolSection.identificationModule.briefTitle")
    summary = f"Merged into {into}: {nct_id} is now an alias of that record"
    if isinstance(title, str) and title:
        summary += f" ({shorten(title, 100)})"
    return ctx.event("merged_into", "protocolSection.identificationModule.nctId", nct_id, into, summary)


def study_context(
    study: Mapping[str, Any],
    *,
    old_version_id: int | None,
    new_version_id: int | None,
    detected_at: datetime,
    rules: Rules | None,
) -> DiffContext:
    """The shared fields of every event about `study` (its NCT id and update date)."""
    return DiffContext(
        nct_id=nct_id_of(study),
        old_version_id=old_version_id,
        new_version_id=new_version_id,
        registry_date=registry_date(study),
        detected_at=detected_at,
        rules=rules or default_rules(),
    )


def nct_id_of(study: Mapping[str, Any]) -> str:
    """The NCT id of a full v2 study record; InvalidRecord when it has none."""
    nct_id = (
        get_path(study, "protocolSection.identificationModule.nctId") if isinstance(study, Mapping) else None
    )
    if not isinstance(nct_id, str) or not nct_id:
        raise InvalidRecord(
            "Not a ClinicalTrials.gov v2 study record: protocolSection.identificationModule.nctId is missing."
        )
    return nct_id


def trial_synopsis(study: Mapping[str, Any]) -> dict[str, JsonValue]:
    """The few fields that say what a trial is, for new_trial and left_scope events."""
    identification = module(study, "identificationModule")
    status = module(study, "statusModule")
    design = module(study, "designModule")
    enrollment = design.get("enrollmentInfo") or {}
    return {
        "briefTitle": identification.get("briefTitle"),
        "overallStatus": status.get("overallStatus"),
        "phases": list(design.get("phases") or []),
        "studyType": design.get("studyType"),
        "leadSponsor": get_path(study, "protocolSection.sponsorCollaboratorsModule.leadSponsor.name"),
        "conditions": list(module(study, "conditionsModule").get("conditions") or []),
        "enrollment": {"count": enrollment.get("count"), "type": enrollment.get("type")}
        if enrollment
        else None,
    }


def _strings(value: JsonValue) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else []
