"""Which disease setting (line of therapy, disease state) defines a study's population.

Relapsed/refractory, newly diagnosed and remission (consolidation/maintenance) settings are read from
the defining fields, the summary and the inclusion criteria. Post-transplant, post-CAR-T, MRD-positive
and bridge-to-transplant settings must define who is enrolled, so the inclusion criteria (where they
are often one route in among several) do not set them. "After HSCT" and "ahead of HSCT" are read from
the transplant or CAR-T mention and the cue before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from hemewatch.classification.lexicon import Lexicon
from hemewatch.classification.mentions import Mention
from hemewatch.classification.model import Evidence
from hemewatch.classification.record import DEFINING_ROLES

Found = dict[str, list[Evidence]]

_SCOPE_ROLES: Final = {
    "any": DEFINING_ROLES | {"summary", "inclusion", "population", "arm_label"},
    "narrow": DEFINING_ROLES | {"summary"},
    "defining": DEFINING_ROLES,
}
_TRANSPLANT: Final = frozenset({"allogeneic HSCT", "HSCT (type not stated)", "autologous HSCT"})
# "After HSCT", "relapsed after CAR-T": the therapy came before the study.
_AFTER_EFFECTS: Final = frozenset({"prior", "failed"})
# Setting entries naming a line of therapy (induction, frontline) rather than a disease state.
_LINE_OF_THERAPY: Final = frozenset({"newly diagnosed (line of therapy)"})
_DEFINING_PATHS: Final = (
    "protocolSection.identificationModule.",
    "protocolSection.conditionsModule.",
)


def classify_settings(mentions: Sequence[Mention], lexicon: Lexicon) -> Found:
    """Return the guideline settings of a study with evidence."""
    found: Found = {}
    # A segment naming induction or frontline therapy describes a whole programme; its
    # consolidation or maintenance is a phase of it. (A newly diagnosed disease alone does not:
    # "maintenance after transplant in newly diagnosed myeloma" is a maintenance study.)
    frontline_segments = {
        id(m.segment) for m in mentions if m.kind == "setting" and m.plain and m.entry in _LINE_OF_THERAPY
    }
    scopes = {entry.label: entry.scope for entry in lexicon.settings.values() if entry.label}
    for mention in mentions:
        if mention.kind == "setting":
            label = _setting_label(mention, lexicon, frontline_segments)
            scope = lexicon.settings[mention.entry].scope
        elif mention.kind == "modality":
            label = _therapy_setting(mention, mentions)
            scope = scopes.get(label or "", "any")
        else:
            continue
        if label is not None and mention.segment.role in _SCOPE_ROLES[scope]:
            found.setdefault(label, [])
            if mention.evidence not in found[label]:
                found[label].append(mention.evidence)
    _settle_remission(found)
    return found


def _settle_remission(found: Found) -> None:
    """Keep consolidation/maintenance only where remission defines the population.

    Beside a newly diagnosed or relapsed/refractory setting it is a later phase of the programme
    ("induction followed by consolidation") or one route in ("MRD-positive in CR"), unless a title,
    condition or keyword names it on its own.
    """
    remission = found.get("consolidation/maintenance")
    if remission and ("newly diagnosed" in found or "relapsed/refractory" in found):
        kept = [item for item in remission if item.path.startswith(_DEFINING_PATHS)]
        if kept:
            found["consolidation/maintenance"] = kept
        else:
            del found["consolidation/maintenance"]


def _setting_label(mention: Mention, lexicon: Lexicon, frontline_segments: set[int]) -> str | None:
    entry = lexicon.settings[mention.entry]
    if entry.label is None or "negated" in mention.effects:
        return None
    if entry.label == "newly diagnosed" and "failed" in mention.effects:
        return "relapsed/refractory"  # "failed first-line therapy"
    if entry.label == "consolidation/maintenance" and id(mention.segment) in frontline_segments:
        return None  # consolidation as one phase of a frontline programme
    return entry.label


def _therapy_setting(mention: Mention, mentions: Sequence[Mention]) -> str | None:
    """Settings implied by a transplant or CAR-T named after a cue: "after HSCT", "ahead of allo-SCT"."""
    if "negated" in mention.effects:
        return None
    after = bool(mention.effects & _AFTER_EFFECTS)
    if mention.entry in _TRANSPLANT:
        if after:
            return "post-HSCT"
        if "before" in mention.effects and not _near_conditioning(mention, mentions):
            return "bridge to HSCT"
    if mention.entry == "CAR-T" and after:
        return "post-CAR-T"
    return None


def _near_conditioning(mention: Mention, mentions: Sequence[Mention]) -> bool:
    """Conditioning "before HSCT" is part of the transplant, not a bridge to it."""
    return any(
        other.segment is mention.segment and other.kind == "modality" and other.entry == "conditioning"
        for other in mentions
    )
