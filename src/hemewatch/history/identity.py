"""What a trial is called, who runs it and which phase it is in: title, sponsor and phase events."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hemewatch.history.context import DiffContext
from hemewatch.history.events import ChangeEvent, JsonValue
from hemewatch.history.normalise import canonical
from hemewatch.history.wording import phases_label, quoted_list, shorten
from hemewatch.text import loose

_IDENTIFICATION = "protocolSection.identificationModule"
_SPONSORS = "protocolSection.sponsorCollaboratorsModule"
_TITLES = (("briefTitle", "Brief title"), ("officialTitle", "Official title"), ("acronym", "Acronym"))
_PHASE_ORDER = ("EARLY_PHASE1", "PHASE1", "PHASE2", "PHASE3", "PHASE4", "NA")


def diff_titles(old_id: Mapping[str, Any], new_id: Mapping[str, Any], ctx: DiffContext) -> list[ChangeEvent]:
    """One title_changed event per title field whose wording changed."""
    events = []
    for field, label in _TITLES:
        old, new = old_id.get(field), new_id.get(field)
        if old == new:
            continue
        if loose(old) == loose(new):
            rule, summary = "title_changed.formatting", f"{label} reformatted: '{shorten(new)}'"
        else:
            rule, summary = f"title_changed.{field}", f"{label} changed: '{shorten(old)}' → '{shorten(new)}'"
        events.append(ctx.event(rule, f"{_IDENTIFICATION}.{field}", old, new, summary))
    return events


def diff_sponsors(
    old_id: Mapping[str, Any],
    new_id: Mapping[str, Any],
    old_sponsors: Mapping[str, Any],
    new_sponsors: Mapping[str, Any],
    ctx: DiffContext,
) -> list[ChangeEvent]:
    """sponsor_changed events for the lead sponsor, organization, collaborators and responsible party."""
    events = [
        _named_entity(old_sponsors.get("leadSponsor"), new_sponsors.get("leadSponsor"), "lead_sponsor",
                      f"{_SPONSORS}.leadSponsor", "Lead sponsor", ctx),
        _named_entity(old_id.get("organization"), new_id.get("organization"), "organization",
                      f"{_IDENTIFICATION}.organization", "Organization", ctx, name_key="fullName"),
        _collaborators(old_sponsors.get("collaborators") or [], new_sponsors.get("collaborators") or [], ctx),
    ]  # fmt: skip
    old_party, new_party = (
        canonical(old_sponsors.get("responsibleParty")),
        canonical(new_sponsors.get("responsibleParty")),
    )
    if old_party != new_party:
        summary = f"Responsible party changed: {_party_label(old_party)} → {_party_label(new_party)}"
        events.append(
            ctx.event(
                "sponsor_changed.responsible_party",
                f"{_SPONSORS}.responsibleParty",
                old_party,
                new_party,
                summary,
            )
        )
    return [event for event in events if event is not None]


def _named_entity(
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any] | None,
    qualifier: str,
    path: str,
    label: str,
    ctx: DiffContext,
    name_key: str = "name",
) -> ChangeEvent | None:
    old_form, new_form = canonical(old or {}), canonical(new or {})
    if old_form == new_form:
        return None
    old_name, new_name = (old or {}).get(name_key), (new or {}).get(name_key)
    if loose(old_name) != loose(new_name):
        rule, summary = f"sponsor_changed.{qualifier}", f"{label}: {old_name} → {new_name}"
    elif (old or {}).get("class") != (new or {}).get("class"):
        rule = f"sponsor_changed.{qualifier}_class"
        summary = f"{label} class: {(old or {}).get('class')} → {(new or {}).get('class')} ({new_name})"
    else:
        rule, summary = "sponsor_changed.formatting", f"{label} name reformatted: {new_name}"
    return ctx.event(rule, path, old_form, new_form, summary)


def _collaborators(
    old: list[Mapping[str, Any]], new: list[Mapping[str, Any]], ctx: DiffContext
) -> ChangeEvent | None:
    old_names = {loose(entry.get("name")): str(entry.get("name")) for entry in old}
    new_names = {loose(entry.get("name")): str(entry.get("name")) for entry in new}
    removed = [old_names[key] for key in sorted(old_names.keys() - new_names.keys())]
    added = [new_names[key] for key in sorted(new_names.keys() - old_names.keys())]
    path = f"{_SPONSORS}.collaborators"
    if not (removed or added):
        if canonical(old) == canonical(new):
            return None
        return ctx.event(
            "sponsor_changed.formatting", path, canonical(old), canonical(new), "Collaborators reformatted"
        )
    clauses = [
        f"{verb} {quoted_list(names)}" for verb, names in (("added", added), ("removed", removed)) if names
    ]
    before: JsonValue = list(removed)
    after: JsonValue = list(added)
    return ctx.event(
        "sponsor_changed.collaborators", path, before, after, "Collaborators: " + "; ".join(clauses)
    )


def _party_label(party: JsonValue) -> str:
    if not isinstance(party, dict):
        return "none"
    name = party.get("investigatorFullName") or party.get("oldNameTitle")
    kind = str(party.get("type") or "unspecified").replace("_", " ").lower()
    return f"{kind} ({name})" if name else kind


def diff_phases(
    old_design: Mapping[str, Any], new_design: Mapping[str, Any], ctx: DiffContext
) -> list[ChangeEvent]:
    """A phase_changed event when the set of phases differs."""
    old, new = _phases(old_design), _phases(new_design)
    if old == new:
        return []
    summary = f"Phase: {phases_label(old)} → {phases_label(new)}"
    before: JsonValue = list(old)
    after: JsonValue = list(new)
    return [ctx.event("phase_changed", "protocolSection.designModule.phases", before, after, summary)]


def _phases(design: Mapping[str, Any]) -> list[str]:
    found = {str(phase) for phase in design.get("phases") or []}
    return sorted(
        found, key=lambda phase: (_PHASE_ORDER.index(phase) if phase in _PHASE_ORDER else 99, phase)
    )
