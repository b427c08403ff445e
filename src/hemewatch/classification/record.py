"""Reading a ClinicalTrials.gov v2 study: its text fields (with path and role) and its structured facts."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, NamedTuple

from hemewatch.classification.model import Evidence
from hemewatch.errors import InvalidRecord

Role = Literal[
    "title",
    "condition",
    "keyword",
    "mesh",
    "intervention",
    "other_name",
    "intervention_description",
    "arm_label",
    "arm_description",
    "summary",
    "description",
    "inclusion",
    "exclusion",
    "population",
]

# Fields that say what the study is about, as opposed to prose that may discuss background.
DEFINING_ROLES: Final[frozenset[Role]] = frozenset({"title", "condition", "keyword", "mesh"})

# A section header is a short line naming inclusion or exclusion criteria ("Key Exclusion Criteria:",
# "Donor Inclusion Criteria", "Exclusion:"), never a bulleted criterion that mentions them.
_HEADER: Final = re.compile(
    r"^[ \t•]*(?P<header>(?:[A-Za-z0-9()'-]+[ \t]+){0,3}(?:inclusion|exclusion|non-inclusion)"
    r"(?:[ \t]+criteria\b[^\n:]{0,30}:?[^\n]{0,10}|[ \t]*:))[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
_AGE: Final = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(year|month|week|day|hour|minute)s?\s*$", re.IGNORECASE)
# A MeSH descriptor id as records give it: "D015470", or zero-padded to nine digits ("D000015470").
_MESH_ID: Final = re.compile(r"D\d{6}(?:\d{3})?")
_UNIT_YEARS: Final = {"year": 1.0, "month": 1 / 12, "week": 7 / 365.25, "day": 1 / 365.25}


class Segment(NamedTuple):
    """One piece of record text: where it is (field path), what kind of field it is, and the text."""

    path: str
    role: Role
    text: str
    group: int | None = None


@dataclass(frozen=True, slots=True)
class Intervention:
    """One listed intervention: its index, registry type ("" when the record does not say), name and
    the path of its name."""

    index: int
    type: str
    name: str
    path: str
    # The registry types of the arms that give it (EXPERIMENTAL, ACTIVE_COMPARATOR, …); empty when
    # the record does not link interventions to arms.
    arm_types: tuple[str, ...] = ()
    # The intervention's own words: name, other names and description, for the rules on roles.
    text: str = ""


@dataclass(frozen=True, slots=True)
class StudyFacts:
    """Structured fields the classifier reads directly."""

    nct_id: str | None
    study_type: str | None
    primary_purpose: str | None
    interventions: tuple[Intervention, ...]
    minimum_age: float | None
    maximum_age: float | None
    std_ages: tuple[str, ...]
    minimum_age_text: str = ""
    maximum_age_text: str = ""
    # What a sparse record (a search result fetched with `fields=`) may lack: the study design, the
    # intervention list and the arm groups.
    design_stated: bool = True
    interventions_stated: bool = True
    arms_stated: bool = True
    # Where an inferred study type or purpose was read (see design.py); None when the record states it.
    design_evidence: Evidence | None = None
    allocation: str | None = None  # RANDOMIZED, NON_RANDOMIZED, NA


def read_study(study: Mapping[str, Any]) -> tuple[StudyFacts, list[Segment]]:
    """Split a study record into structured facts and text segments."""
    protocol = study.get("protocolSection") if isinstance(study, dict) else None
    if not isinstance(protocol, dict):
        raise InvalidRecord(
            "The input is not a ClinicalTrials.gov v2 study record: it has no protocolSection."
        )
    return _facts(protocol), list(_segments(study, protocol))


def _module(protocol: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    module = protocol.get(name)
    return module if isinstance(module, dict) else {}


def _facts(protocol: Mapping[str, Any]) -> StudyFacts:
    design = _module(protocol, "designModule")
    eligibility = _module(protocol, "eligibilityModule")
    design_info = design.get("designInfo")
    arms_module = _module(protocol, "armsInterventionsModule")
    interventions = arms_module.get("interventions") or []
    std_ages = eligibility.get("stdAges") or []
    arm_types = _arm_types(arms_module)
    return StudyFacts(
        nct_id=_text(_module(protocol, "identificationModule").get("nctId")),
        study_type=_text(design.get("studyType")),
        primary_purpose=_text(design_info.get("primaryPurpose")) if isinstance(design_info, dict) else None,
        interventions=tuple(
            Intervention(
                index,
                str(item.get("type") or ""),
                str(item.get("name") or ""),
                f"protocolSection.armsInterventionsModule.interventions[{index}].name",
                tuple(
                    sorted(
                        {
                            arm_types[label]
                            for label in item.get("armGroupLabels") or []
                            if isinstance(label, str) and label in arm_types
                        }
                    )
                ),
                _intervention_text(item),
            )
            for index, item in enumerate(interventions if isinstance(interventions, list) else [])
            if isinstance(item, dict)
        ),
        minimum_age=parse_age(eligibility.get("minimumAge")),
        maximum_age=parse_age(eligibility.get("maximumAge")),
        std_ages=tuple(str(age) for age in std_ages if isinstance(age, str)),
        minimum_age_text=_text(eligibility.get("minimumAge")) or "",
        maximum_age_text=_text(eligibility.get("maximumAge")) or "",
        design_stated=_text(design.get("studyType")) is not None,
        interventions_stated=isinstance(arms_module.get("interventions"), list),
        arms_stated=bool(arms_module.get("armGroups")),
        allocation=_text(design_info.get("allocation")) if isinstance(design_info, dict) else None,
    )


def _intervention_text(item: Mapping[str, Any]) -> str:
    other = item.get("otherNames")
    parts = [item.get("name"), *(other if isinstance(other, list) else []), item.get("description")]
    return "\n".join(part for part in parts if isinstance(part, str))


def _arm_types(module: Mapping[str, Any]) -> dict[str, str]:
    """Arm label -> the arm's registry type."""
    arms = module.get("armGroups")
    return {
        arm["label"]: arm["type"]
        for arm in (arms if isinstance(arms, list) else [])
        if isinstance(arm, dict) and isinstance(arm.get("label"), str) and isinstance(arm.get("type"), str)
    }


def mesh_id(value: object) -> str | None:
    """A MeSH descriptor id as the record writes it ("D015470" or "D000015470"), else None."""
    if not isinstance(value, str) or not _MESH_ID.fullmatch(value.strip()):
        return None
    return value.strip()


def parse_age(value: object) -> float | None:
    """Turn a registry age such as "18 Years" or "6 Months" into years."""
    if not isinstance(value, str):
        return None
    match = _AGE.match(value)
    if not match:
        return None
    unit = match.group(2).lower()
    return float(match.group(1)) * _UNIT_YEARS.get(unit, 0.0)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _segments(study: Mapping[str, Any], protocol: Mapping[str, Any]) -> Iterator[Segment]:
    base = "protocolSection"
    ident = _module(protocol, "identificationModule")
    for key in ("briefTitle", "officialTitle", "acronym"):
        if text := _text(ident.get(key)):
            yield Segment(f"{base}.identificationModule.{key}", "title", text)
    conditions = _module(protocol, "conditionsModule")
    yield from _list_segments(
        conditions.get("conditions"), f"{base}.conditionsModule.conditions", "condition"
    )
    yield from _list_segments(conditions.get("keywords"), f"{base}.conditionsModule.keywords", "keyword")
    yield from _intervention_segments(_module(protocol, "armsInterventionsModule"), base)
    description = _module(protocol, "descriptionModule")
    if text := _text(description.get("briefSummary")):
        yield Segment(f"{base}.descriptionModule.briefSummary", "summary", text)
    if text := _text(description.get("detailedDescription")):
        yield Segment(f"{base}.descriptionModule.detailedDescription", "description", text)
    eligibility = _module(protocol, "eligibilityModule")
    if text := _text(eligibility.get("eligibilityCriteria")):
        path = f"{base}.eligibilityModule.eligibilityCriteria"
        for part, excluded in split_eligibility(text):
            yield Segment(path, "exclusion" if excluded else "inclusion", part)
    if text := _text(eligibility.get("studyPopulation")):
        yield Segment(f"{base}.eligibilityModule.studyPopulation", "population", text)
    derived = study.get("derivedSection")
    browse = derived.get("conditionBrowseModule") if isinstance(derived, dict) else None
    meshes = browse.get("meshes") if isinstance(browse, dict) else None
    for index, mesh in enumerate(meshes if isinstance(meshes, list) else []):
        if isinstance(mesh, dict) and (text := _text(mesh.get("term"))):
            # The descriptor id goes first ("D015470 Leukemia, Myeloid, Acute"): the lexicon knows its
            # diseases' MeSH ids, so the id names the disease and the tag's evidence names the id.
            descriptor = mesh_id(mesh.get("id"))
            path = f"derivedSection.conditionBrowseModule.meshes[{index}]"
            if descriptor:
                yield Segment(path, "mesh", f"{descriptor} {text}")
            else:
                yield Segment(f"{path}.term", "mesh", text)


def _list_segments(values: object, path: str, role: Role) -> Iterator[Segment]:
    for index, value in enumerate(values if isinstance(values, list) else []):
        if text := _text(value):
            yield Segment(f"{path}[{index}]", role, text)


def _intervention_segments(module: Mapping[str, Any], base: str) -> Iterator[Segment]:
    interventions = module.get("interventions")
    for index, item in enumerate(interventions if isinstance(interventions, list) else []):
        if not isinstance(item, dict):
            continue
        path = f"{base}.armsInterventionsModule.interventions[{index}]"
        if text := _text(item.get("name")):
            yield Segment(f"{path}.name", "intervention", text, index)
        yield from (
            Segment(segment.path, segment.role, segment.text, index)
            for segment in _list_segments(item.get("otherNames"), f"{path}.otherNames", "other_name")
        )
        if text := _text(item.get("description")):
            yield Segment(f"{path}.description", "intervention_description", text, index)
    arms = module.get("armGroups")
    for index, arm in enumerate(arms if isinstance(arms, list) else []):
        if not isinstance(arm, dict):
            continue
        path = f"{base}.armsInterventionsModule.armGroups[{index}]"
        if text := _text(arm.get("label")):
            yield Segment(f"{path}.label", "arm_label", text, -1 - index)
        if text := _text(arm.get("description")):
            yield Segment(f"{path}.description", "arm_description", text, -1 - index)


def split_eligibility(text: str) -> list[tuple[str, bool]]:
    """Cut eligibility criteria into (text, is_exclusion) parts at their section headers.

    Donor criteria count as excluded: they describe donors, not the patients studied.
    """
    parts: list[tuple[str, bool]] = []
    position, excluded = 0, False
    for header in _HEADER.finditer(text):
        if len(header.group("header")) > 45 and not header.group("header").rstrip().endswith(":"):
            continue
        if header.start() > position:
            parts.append((text[position : header.start()], excluded))
        name = header.group("header").lower()
        excluded = "exclu" in name or "non-inclu" in name or "donor" in name
        position = header.end()
    if position < len(text):
        parts.append((text[position:], excluded))
    return [(part, flag) for part, flag in parts if part.strip()]
