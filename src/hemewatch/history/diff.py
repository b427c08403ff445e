"""diff_versions: two versions of one trial in, typed change events out."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from hemewatch.errors import InvalidRecord
from hemewatch.history.context import DiffContext
from hemewatch.history.dates import diff_key_dates
from hemewatch.history.enrollment import diff_enrollment
from hemewatch.history.events import ChangeEvent
from hemewatch.history.identity import diff_phases, diff_sponsors, diff_titles
from hemewatch.history.normalise import module
from hemewatch.history.protocol import diff_protocol
from hemewatch.history.residual import diff_churn, diff_residual
from hemewatch.history.rules import Rules
from hemewatch.history.scope import nct_id_of, study_context
from hemewatch.history.sites import diff_sites
from hemewatch.history.status import diff_results, diff_status


def diff_versions(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    *,
    old_version_id: int | None,
    new_version_id: int | None,
    detected_at: datetime,
    include_administrative: bool = False,
    rules: Rules | None = None,
) -> list[ChangeEvent]:
    """Typed change events from `old` to `new` (full v2 records of one trial), most serious first."""
    old_nct = nct_id_of(old)
    if old == new:
        return []
    ctx = study_context(
        new,
        old_version_id=old_version_id,
        new_version_id=new_version_id,
        detected_at=detected_at,
        rules=rules,
    )
    if old_nct != ctx.nct_id:
        raise InvalidRecord(f"Cannot diff two different trials: {old_nct} and {ctx.nct_id}.")
    changed = _changed_modules(old, new)
    events = (
        _typed_events(old, new, changed, ctx)
        + diff_results(old, new, ctx)
        + diff_residual(old, new, changed, ctx)
    )
    if include_administrative:
        events += diff_churn(old, new, changed, ctx)
    else:
        events = [event for event in events if event.alertable]
    return sorted(events, key=ChangeEvent.sort_key)


def _changed_modules(old: Mapping[str, Any], new: Mapping[str, Any]) -> frozenset[str]:
    old_section, new_section = old.get("protocolSection") or {}, new.get("protocolSection") or {}
    # Most updates touch two or three modules; the others are skipped by every differ.
    return frozenset(
        name
        for name in old_section.keys() | new_section.keys()
        if old_section.get(name) != new_section.get(name)
    )


def _typed_events(
    old: Mapping[str, Any], new: Mapping[str, Any], changed: frozenset[str], ctx: DiffContext
) -> list[ChangeEvent]:
    events: list[ChangeEvent] = []
    if "statusModule" in changed:
        old_status, new_status = module(old, "statusModule"), module(new, "statusModule")
        events += diff_status(old_status, new_status, ctx) + diff_key_dates(old_status, new_status, ctx)
    if "identificationModule" in changed:
        events += diff_titles(module(old, "identificationModule"), module(new, "identificationModule"), ctx)
    if changed & {"identificationModule", "sponsorCollaboratorsModule"}:
        events += diff_sponsors(
            module(old, "identificationModule"),
            module(new, "identificationModule"),
            module(old, "sponsorCollaboratorsModule"),
            module(new, "sponsorCollaboratorsModule"),
            ctx,
        )
    if "designModule" in changed:
        old_design, new_design = module(old, "designModule"), module(new, "designModule")
        events += diff_phases(old_design, new_design, ctx) + diff_enrollment(old_design, new_design, ctx)
    if "contactsLocationsModule" in changed:
        old_sites = module(old, "contactsLocationsModule").get("locations") or []
        new_sites = module(new, "contactsLocationsModule").get("locations") or []
        if old_sites != new_sites:
            events += diff_sites(old_sites, new_sites, ctx)
    return events + diff_protocol(old, new, changed, ctx)
