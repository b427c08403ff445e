"""What no typed event claims: other_changed for remaining sponsor edits, record_refreshed for churn."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from hemewatch.history.context import DiffContext
from hemewatch.history.events import ChangeEvent, JsonValue
from hemewatch.history.normalise import canonical, get_path, module, sort_token

# Paths read by the typed differs (status, dates, sites, protocol, identity, results).
CLAIMED = frozenset({
    "protocolSection.identificationModule.nctId",
    "protocolSection.identificationModule.briefTitle",
    "protocolSection.identificationModule.officialTitle",
    "protocolSection.identificationModule.acronym",
    "protocolSection.identificationModule.organization",
    "protocolSection.statusModule.overallStatus",
    "protocolSection.statusModule.whyStopped",
    "protocolSection.statusModule.lastKnownStatus",
    "protocolSection.statusModule.startDateStruct",
    "protocolSection.statusModule.primaryCompletionDateStruct",
    "protocolSection.statusModule.completionDateStruct",
    "protocolSection.sponsorCollaboratorsModule",
    "protocolSection.descriptionModule",
    "protocolSection.conditionsModule",
    "protocolSection.designModule",
    "protocolSection.armsInterventionsModule",
    "protocolSection.outcomesModule",
    "protocolSection.eligibilityModule",
    "protocolSection.contactsLocationsModule.locations",
})  # fmt: skip

# Unclaimed paths -> (rule qualifier, words for the summary); anything else is named by its key.
_OTHER_PARTS = {
    "protocolSection.identificationModule.orgStudyIdInfo": ("identifiers", "Sponsor's study identifier"),
    "protocolSection.identificationModule.secondaryIdInfos": ("identifiers", "Secondary identifiers"),
    "protocolSection.identificationModule.nctIdAliases": ("identifiers", "NCT identifier aliases"),
    "protocolSection.statusModule.expandedAccessInfo": ("expanded_access", "Expanded access information"),
    "protocolSection.statusModule.delayedPosting": ("results_disposition", "Delayed results posting"),
    "protocolSection.statusModule.dispFirstSubmitDate": (
        "results_disposition",
        "Results delay certification",
    ),
    "protocolSection.statusModule.dispFirstSubmitQcDate": (
        "results_disposition",
        "Results delay certification QC",
    ),
    "protocolSection.statusModule.dispFirstPostDateStruct": ("results_disposition", "Results delay posting"),
    "protocolSection.oversightModule": ("oversight", "Oversight (DMC, FDA regulation)"),
    "protocolSection.contactsLocationsModule.centralContacts": ("contacts", "Central contacts"),
    "protocolSection.contactsLocationsModule.overallOfficials": ("officials", "Overall officials"),
    "protocolSection.referencesModule": ("references", "References and links"),
    "protocolSection.ipdSharingStatementModule": ("ipd_sharing", "Individual participant data sharing"),
    "documentSection": ("documents", "Posted documents"),
    "annotationSection": ("annotations", "Registry annotations"),
}
# Top-level sections besides protocolSection whose content the registry takes from the sponsor;
# results have their own event type.
_OTHER_SECTIONS = ("documentSection", "annotationSection")
_SECTIONS = ("resultsSection", *_OTHER_SECTIONS)


def diff_residual(
    old: Mapping[str, Any], new: Mapping[str, Any], changed_modules: frozenset[str], ctx: DiffContext
) -> list[ChangeEvent]:
    """other_changed events for sponsor edits outside every typed event."""
    ignored = ctx.rules.ignored_keys
    administrative = frozenset(ctx.rules.administrative_paths)
    events = []
    for path, old_value, new_value in _changed_members(old, new, changed_modules):
        if _within(path, CLAIMED) or _within(path, administrative) or path.rsplit(".", 1)[-1] in ignored:
            continue
        old_form, new_form = canonical(old_value, ignored), canonical(new_value, ignored)
        if old_form == new_form:
            continue
        qualifier, label = _other_part(path)
        events.append(ctx.event(f"other_changed.{qualifier}", path, old_form, new_form, f"{label} changed"))
    return events


def diff_churn(
    old: Mapping[str, Any], new: Mapping[str, Any], changed_modules: frozenset[str], ctx: DiffContext
) -> list[ChangeEvent]:
    """record_refreshed events: registry stamps, derived data and changes of representation only."""
    events = []
    for root in ctx.rules.administrative_paths:
        for path, old_value, new_value in _changed_leaves(root, get_path(old, root), get_path(new, root)):
            events.append(_churn_event(path, old_value, new_value, ctx))
    ignored = ctx.rules.ignored_keys
    containers = [f"protocolSection.{name}" for name in sorted(changed_modules)] + list(_SECTIONS)
    for path in containers:
        old_value, new_value = get_path(old, path), get_path(new, path)
        if old_value != new_value and canonical(old_value, ignored) == canonical(new_value, ignored):
            summary = f"{path}: same content, different representation (order, empty arrays, spacing)"
            events.append(ctx.event("record_refreshed", path, None, None, summary))
    return events


def _churn_event(path: str, old: object, new: object, ctx: DiffContext) -> ChangeEvent:
    if isinstance(old, list) or isinstance(new, list):
        # Derived lists (MeSH leaves) are long and re-ordered at will: keep what came and went.
        old_items = {sort_token(form): form for form in _forms(old)}
        new_items = {sort_token(form): form for form in _forms(new)}
        removed = [old_items[key] for key in sorted(old_items.keys() - new_items.keys())]
        added = [new_items[key] for key in sorted(new_items.keys() - old_items.keys())]
        summary = f"{path}: registry refresh ({len(removed)} removed, {len(added)} added)"
        return ctx.event("record_refreshed", path, removed, added, summary)
    before, after = canonical(old), canonical(new)
    return ctx.event("record_refreshed", path, before, after, f"{path}: {before} → {after}")


def _forms(value: object) -> list[JsonValue]:
    form = canonical(value)
    return form if isinstance(form, list) else []


def _changed_members(
    old: Mapping[str, Any], new: Mapping[str, Any], changed_modules: frozenset[str]
) -> Iterator[tuple[str, Any, Any]]:
    for name in sorted(changed_modules):
        old_module, new_module = module(old, name), module(new, name)
        if _within(f"protocolSection.{name}", CLAIMED):
            continue
        for key in sorted(old_module.keys() | new_module.keys()):
            if old_module.get(key) != new_module.get(key):
                yield f"protocolSection.{name}.{key}", old_module.get(key), new_module.get(key)
    for section in _OTHER_SECTIONS:
        if old.get(section) != new.get(section):
            yield section, old.get(section), new.get(section)


def _changed_leaves(path: str, old: object, new: object) -> Iterator[tuple[str, object, object]]:
    if old == new:
        return
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted(old.keys() | new.keys()):
            yield from _changed_leaves(f"{path}.{key}", old.get(key), new.get(key))
    else:
        yield path, old, new


def _within(path: str, roots: frozenset[str]) -> bool:
    parts = path.split(".")
    return any(".".join(parts[:depth]) in roots for depth in range(1, len(parts) + 1))


def _other_part(path: str) -> tuple[str, str]:
    parts = path.split(".")
    for depth in range(len(parts), 0, -1):
        found = _OTHER_PARTS.get(".".join(parts[:depth]))
        if found:
            return found
    return parts[-1], parts[-1]
