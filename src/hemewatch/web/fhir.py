"""Trials as HL7 FHIR R5 resources: a ResearchStudy per trial and searchset Bundles (pure, plain dicts).

The resources are built from what the trial page reads (TrialRecord) plus the parts of the stored v2
record the page does not keep (identifiers, MeSH terms, arms, design, officials). Every value from the
record is passed through as JSON data; nothing here is HTML. docs/fhir.md lists what maps to what.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from hemewatch.vocabulary import kind_label, phase_label
from hemewatch.web.links import public_link
from hemewatch.web.views.record import Intervention, Site, TrialRecord

FHIR_JSON: Final = "application/fhir+json"

NCT_SYSTEM: Final = "https://clinicaltrials.gov"
# The canonical URL HL7 Terminology (THO) registers for MeSH (OID 2.16.840.1.113883.6.177); the
# http://id.nlm.nih.gov/mesh/ IRI is an identifier of the vocabulary, not a Coding.system.
MESH_SYSTEM: Final = "https://www.nlm.nih.gov/mesh"
# FHIR R5 code systems of ResearchStudy.
PHASE_SYSTEM: Final = "http://hl7.org/fhir/research-study-phase"
STATUS_SYSTEM: Final = "http://hl7.org/fhir/research-study-status"
PURPOSE_SYSTEM: Final = "http://hl7.org/fhir/research-study-prim-purp-type"
DESIGN_SYSTEM: Final = "http://hl7.org/fhir/study-design"
PARTY_ROLE_SYSTEM: Final = "http://hl7.org/fhir/research-study-party-role"
PARTY_ORG_SYSTEM: Final = "http://hl7.org/fhir/research-study-party-org-type"
ARM_TYPE_SYSTEM: Final = "http://hl7.org/fhir/research-study-arm-type"
TITLE_TYPE_SYSTEM: Final = "http://hl7.org/fhir/title-type"

# ClinicalTrials.gov phases (as a sorted tuple) -> research-study-phase code and display.
_PHASES: Final[Mapping[tuple[str, ...], tuple[str, str]]] = {
    ("NA",): ("n-a", "N/A"),
    ("EARLY_PHASE1",): ("early-phase-1", "Early Phase 1"),
    ("PHASE1",): ("phase-1", "Phase 1"),
    ("PHASE1", "PHASE2"): ("phase-1-phase-2", "Phase 1/Phase 2"),
    ("PHASE2",): ("phase-2", "Phase 2"),
    ("PHASE2", "PHASE3"): ("phase-2-phase-3", "Phase 2/Phase 3"),
    ("PHASE3",): ("phase-3", "Phase 3"),
    ("PHASE4",): ("phase-4", "Phase 4"),
}
# Overall and site recruitment statuses -> research-study-status (statuses with no match keep text only).
_STATUSES: Final[Mapping[str, tuple[str, str]]] = {
    "NOT_YET_RECRUITING": ("not-yet-recruiting", "Not yet recruiting"),
    "RECRUITING": ("recruiting", "Recruiting"),
    "ENROLLING_BY_INVITATION": ("enrolling-by-invitation", "Enrolling by invitation"),
    "ACTIVE_NOT_RECRUITING": ("active-but-not-recruiting", "Active, not recruiting"),
    "SUSPENDED": ("temporarily-closed-to-accrual", "Temporarily Closed to Accrual"),
    "TERMINATED": ("terminated", "Terminated"),
    "COMPLETED": ("completed", "Completed"),
    "WITHDRAWN": ("withdrawn", "Withdrawn"),
}
_PURPOSES: Final[Mapping[str, tuple[str, str]]] = {
    "TREATMENT": ("treatment", "Treatment"),
    "PREVENTION": ("prevention", "Prevention"),
    "DIAGNOSTIC": ("diagnostic", "Diagnostic"),
    "SUPPORTIVE_CARE": ("supportive-care", "Supportive Care"),
    "SCREENING": ("screening", "Screening"),
    "HEALTH_SERVICES_RESEARCH": ("health-services-research", "Health Services Research"),
    "BASIC_SCIENCE": ("basic-science", "Basic Science"),
    "DEVICE_FEASIBILITY": ("device-feasibility", "Device Feasibility"),
}
_STUDY_TYPES: Final[Mapping[str, tuple[str, str]]] = {
    "INTERVENTIONAL": ("SEVCO:01001", "Interventional research"),
    "OBSERVATIONAL": ("SEVCO:01002", "Observational research"),
}
_ALLOCATIONS: Final[Mapping[str, tuple[str, str]]] = {
    "RANDOMIZED": ("SEVCO:01003", "randomized assignment"),
    "NON_RANDOMIZED": ("SEVCO:01005", "Non-randomized assignment"),
}
_ARM_TYPES: Final[Mapping[str, tuple[str, str]]] = {
    "EXPERIMENTAL": ("experimental", "Experimental"),
    "ACTIVE_COMPARATOR": ("active-comparator", "Active Comparator"),
    "PLACEBO_COMPARATOR": ("placebo-comparator", "Placebo Comparator"),
    "SHAM_COMPARATOR": ("sham-comparator", "Sham Comparator"),
    "NO_INTERVENTION": ("no-intervention", "No Intervention"),
    "OTHER": ("other-arm-type", "Other"),
}
_OFFICIAL_ROLES: Final[Mapping[str, tuple[str, str]]] = {
    "PRINCIPAL_INVESTIGATOR": ("primary-investigator", "primary investigator"),
    "STUDY_DIRECTOR": ("study-director", "study director"),
    "STUDY_CHAIR": ("study-chair", "study chair"),
    "SUB_INVESTIGATOR": ("sub-investigator", "sub investigator"),
}
# ClinicalTrials.gov sponsor class -> research-study-party-org-type (other classes: no classifier).
_ORG_TYPES: Final[Mapping[str, tuple[str, str]]] = {
    "NIH": ("nih", "NIH"),
    "FED": ("government", "Government"),
    "OTHER_GOV": ("government", "Government"),
    "INDUSTRY": ("industry", "Industry"),
}
# Design facts without a code in the R5 study-design value set: kept as text.
_DESIGN_TEXTS: Final = (
    ("interventionModel", "Intervention model"),
    ("observationalModel", "Observational model"),
    ("timePerspective", "Time perspective"),
)


def code_system(public_url: str, name: str) -> str:
    """The URL of one of hemewatch's own code systems (tag kinds), under the public address."""
    return public_link(public_url, f"/fhir/CodeSystem/{name.replace('_', '-')}")


def site_status_extension(public_url: str) -> str:
    """The URL of the extension that carries a site's recruitment status."""
    return public_link(public_url, "/fhir/StructureDefinition/site-recruitment-status")


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _items(value: Any) -> list[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def _module(study: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    return _mapping(_mapping(study.get("protocolSection")).get(name))


def _concept(
    system: str, table: Mapping[str, tuple[str, str]], value: str | None, text: str | None = None
) -> dict[str, Any] | None:
    """A CodeableConcept: the code the table gives the value (if any) and the value as text."""
    if not value:
        return None
    concept: dict[str, Any] = {}
    if value in table:
        code, display = table[value]
        concept["coding"] = [{"system": system, "code": code, "display": display}]
    concept["text"] = text or value
    return concept


def _compact(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource without empty elements (FHIR forbids empty arrays, objects and strings)."""
    return {key: value for key, value in resource.items() if value not in (None, "", [], {})}


def phase_concept(phases: Sequence[str]) -> dict[str, Any] | None:
    """research-study-phase for the record's phases (None when the record gives none)."""
    if not phases:
        return None
    concept: dict[str, Any] = {"text": phase_label(phases)}
    key = tuple(sorted(phases))
    if key in _PHASES:
        code, display = _PHASES[key]
        concept = {"coding": [{"system": PHASE_SYSTEM, "code": code, "display": display}], **concept}
    return concept


def status_concept(status: str | None) -> dict[str, Any] | None:
    """research-study-status for a ClinicalTrials.gov recruitment status, the status kept as text."""
    return _concept(STATUS_SYSTEM, _STATUSES, status)


def _identifiers(record: TrialRecord, ident: Mapping[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = [{"use": "official", "system": NCT_SYSTEM, "value": record.nct_id}]
    organization = _text(_mapping(ident.get("organization")).get("fullName"))
    org_id = _text(_mapping(ident.get("orgStudyIdInfo")).get("id"))
    if org_id:
        found.append(
            _compact(
                {
                    "use": "secondary",
                    "type": {"text": "Organization's unique protocol ID"},
                    "value": org_id,
                    "assigner": {"display": organization} if organization else None,
                }
            )
        )
    for item in _items(ident.get("secondaryIdInfos")):
        value = _text(item.get("id"))
        if not value:
            continue
        kind = _text(item.get("type"))
        domain = _text(item.get("domain"))
        found.append(
            _compact(
                {
                    "use": "secondary",
                    "type": {"text": kind} if kind else None,
                    "value": value,
                    "assigner": {"display": domain} if domain else None,
                }
            )
        )
    return found


def _labels(record: TrialRecord) -> list[dict[str, Any]]:
    labels = []
    for code, display, value in (
        ("official", "Official title", record.official_title),
        ("acronym", "Acronym", record.acronym),
    ):
        if value:
            labels.append(
                {
                    "type": {"coding": [{"system": TITLE_TYPE_SYSTEM, "code": code, "display": display}]},
                    "value": value,
                }
            )
    return labels


def _conditions(record: TrialRecord, study: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The record's MeSH condition terms (coded), then its condition texts that no MeSH term repeats."""
    browse = _mapping(_mapping(study.get("derivedSection")).get("conditionBrowseModule"))
    concepts: list[dict[str, Any]] = []
    coded: set[str] = set()
    for mesh in _items(browse.get("meshes")):
        code, term = _text(mesh.get("id")), _text(mesh.get("term"))
        if code and " " not in code:
            concepts.append(
                _compact(
                    {
                        "coding": [_compact({"system": MESH_SYSTEM, "code": code, "display": term})],
                        "text": term,
                    }
                )
            )
            if term:
                coded.add(term.casefold())
    concepts.extend({"text": c} for c in record.conditions if c.casefold() not in coded)
    return concepts


def _design(study: Mapping[str, Any], record: TrialRecord) -> list[dict[str, Any]]:
    design = _module(study, "designModule")
    info = _mapping(design.get("designInfo"))
    concepts = [
        _concept(DESIGN_SYSTEM, _STUDY_TYPES, record.study_type, f"Study type: {record.study_type}"),
        _concept(
            DESIGN_SYSTEM,
            _ALLOCATIONS,
            _text(info.get("allocation")),
            f"Allocation: {info.get('allocation')}",
        ),
    ]
    for key, label in _DESIGN_TEXTS:
        value = _text(info.get(key))
        if value:
            concepts.append({"text": f"{label}: {value}"})
    masking = _text(_mapping(info.get("maskingInfo")).get("masking"))
    if masking:
        concepts.append({"text": f"Masking: {masking}"})
    return [c for c in concepts if c]


def _period(record: TrialRecord) -> dict[str, Any]:
    when = {m.name: m.when for m in record.milestones}
    return _compact({"start": when.get("start"), "end": when.get("completion")})


def _progress(record: TrialRecord) -> list[dict[str, Any]]:
    """The current recruitment status, then the start and completion as states with their dates."""
    steps: list[dict[str, Any]] = []
    current = status_concept(record.overall_status)
    if current:
        steps.append({"state": current, "actual": True})
    for milestone in record.milestones:
        if milestone.name == "start":
            code, display, text = "active", "Active", "Study start"
        elif milestone.name == "completion":
            code, display, text = "completed", "Completed", "Study completion"
        else:
            continue
        steps.append(
            {
                "state": {
                    "coding": [{"system": STATUS_SYSTEM, "code": code, "display": display}],
                    "text": text,
                },
                "actual": not milestone.estimated,
                "period": {"start": milestone.when},
            }
        )
    return steps


def _organization(org_id: str, name: str) -> dict[str, Any]:
    return {"resourceType": "Organization", "id": org_id, "name": name}


def _parties(
    record: TrialRecord, study: Mapping[str, Any]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The associated parties and the Organizations they reference (lead sponsor, collaborators)."""
    module = _module(study, "sponsorCollaboratorsModule")
    parties: list[dict[str, Any]] = []
    organizations: list[dict[str, Any]] = []
    lead_class = _text(_mapping(module.get("leadSponsor")).get("class"))
    classes = [_text(c.get("class")) for c in _items(module.get("collaborators")) if _text(c.get("name"))]
    sponsors = (
        [("sponsor", record.lead_sponsor, "lead-sponsor", "Lead sponsor", lead_class)]
        if record.lead_sponsor
        else []
    )
    sponsors += [
        (
            f"collaborator-{n}",
            name,
            "collaborator",
            "Collaborator",
            classes[n - 1] if n <= len(classes) else None,
        )
        for n, name in enumerate(record.collaborators, start=1)
    ]
    for org_id, name, code, display, kind in sponsors:
        assert name is not None
        organizations.append(_organization(org_id, name))
        org_type = _concept(PARTY_ORG_SYSTEM, _ORG_TYPES, kind)
        parties.append(
            _compact(
                {
                    "name": name,
                    "role": {"coding": [{"system": PARTY_ROLE_SYSTEM, "code": code, "display": display}]},
                    "classifier": [org_type] if org_type else None,
                    "party": {"reference": f"#{org_id}", "display": name},
                }
            )
        )
    for official in _items(_module(study, "contactsLocationsModule").get("overallOfficials")):
        person = _text(official.get("name"))
        role = _concept(PARTY_ROLE_SYSTEM, _OFFICIAL_ROLES, _text(official.get("role")))
        if person and role:
            parties.append({"name": person, "role": role})
    return parties, organizations


def _location(public_url: str, index: int, site: Site) -> dict[str, Any]:
    status = status_concept(site.status)
    return _compact(
        {
            "resourceType": "Location",
            "id": f"site-{index}",
            "extension": [{"url": site_status_extension(public_url), "valueCodeableConcept": status}]
            if status
            else None,
            "name": site.facility,
            "address": _compact({"city": site.city, "state": site.state, "country": site.country}),
        }
    )


def _interventions(
    record: TrialRecord, study: Mapping[str, Any]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Contained EvidenceVariables for the interventions, the focus list and the comparison groups."""
    module = _module(study, "armsInterventionsModule")
    # The raw interventions read_trial_record kept, in the same order, for their arms and descriptions.
    raw = [item for item in _items(module.get("interventions")) if _text(item.get("name"))]
    variables: list[dict[str, Any]] = []
    focus: list[dict[str, Any]] = []
    by_arm: dict[str, list[int]] = {}
    by_name: dict[str, int] = {}
    for n, intervention in enumerate(record.interventions, start=1):
        source = raw[n - 1] if n <= len(raw) else {}
        variables.append(_evidence_variable(n, intervention, _text(source.get("description"))))
        focus.append(
            {"concept": {"text": intervention.name}, "reference": {"reference": f"#intervention-{n}"}}
        )
        for label in source.get("armGroupLabels") or []:
            if isinstance(label, str) and label.strip():
                by_arm.setdefault(label.strip(), []).append(n)
        by_name.setdefault(intervention.name.casefold(), n)
    groups = []
    for position, arm in enumerate(_items(module.get("armGroups")), start=1):
        label = _text(arm.get("label"))
        if not label:
            continue
        members = list(by_arm.get(label, []))
        for written in arm.get("interventionNames") or []:
            written_name = written.partition(":")[2].strip() if isinstance(written, str) else ""
            found = by_name.get(written_name.casefold())
            if found is not None and found not in members:
                members.append(found)
        groups.append(
            _compact(
                {
                    "linkId": f"arm-{position}",
                    "name": label,
                    "type": _concept(ARM_TYPE_SYSTEM, _ARM_TYPES, _text(arm.get("type"))),
                    "description": _text(arm.get("description")),
                    "intendedExposure": [
                        {"reference": f"#intervention-{n}", "display": record.interventions[n - 1].name}
                        for n in members
                    ],
                }
            )
        )
    return variables, focus, groups


def _evidence_variable(n: int, intervention: Intervention, description: str | None) -> dict[str, Any]:
    return _compact(
        {
            "resourceType": "EvidenceVariable",
            "id": f"intervention-{n}",
            "status": "active",
            "title": intervention.name,
            "description": description,
            "note": [{"text": "Other names: " + "; ".join(intervention.other_names)}]
            if intervention.other_names
            else None,
            "characteristic": [{"description": f"Intervention type: {intervention.type}"}]
            if intervention.type
            else None,
        }
    )


def _classifiers(public_url: str, tags: Iterable[tuple[str, Sequence[str]]]) -> list[dict[str, Any]]:
    return [
        {
            "coding": [{"system": code_system(public_url, kind), "code": value, "display": value}],
            "text": f"{kind_label(kind)}: {value}",
        }
        for kind, values in tags
        for value in values
        if value.strip() == value and value
    ]


def research_study(
    record: TrialRecord,
    study: Mapping[str, Any],
    tags: Iterable[tuple[str, Sequence[str]]],
    *,
    public_url: str,
    retired: bool = False,
) -> dict[str, Any]:
    """The trial as an R5 ResearchStudy.

    record: the trial page's reading of the current version; study: that version's v2 JSON; tags: the
    trial's classification as (kind, values) pairs; retired: the registry no longer lists the record.
    """
    ident = _module(study, "identificationModule")
    status_module = _module(study, "statusModule")
    design = _mapping(_module(study, "designModule").get("designInfo"))
    sites = [_location(public_url, n, site) for n, site in enumerate(record.sites, start=1)]
    parties, organizations = _parties(record, study)
    variables, focus, groups = _interventions(record, study)
    purpose = _text(design.get("primaryPurpose"))
    count = record.enrollment
    recruitment: dict[str, Any] = {}
    if count is not None and count >= 0:
        recruitment["actualNumber" if record.enrollment_type == "ACTUAL" else "targetNumber"] = count
    return _compact(
        {
            "resourceType": "ResearchStudy",
            "id": record.nct_id,
            "contained": [*sites, *organizations, *variables],
            "identifier": _identifiers(record, ident),
            "title": record.brief_title,
            "label": _labels(record),
            "date": _text(_mapping(status_module.get("lastUpdatePostDateStruct")).get("date")),
            "status": "retired" if retired else "active",
            "primaryPurposeType": _concept(PURPOSE_SYSTEM, _PURPOSES, purpose),
            "phase": phase_concept(record.phases),
            "studyDesign": _design(study, record),
            "focus": focus,
            "condition": _conditions(record, study),
            "keyword": [{"text": k} for k in record.keywords],
            "descriptionSummary": record.brief_summary,
            "description": _text(_module(study, "descriptionModule").get("detailedDescription")),
            "period": _period(record),
            "site": [{"reference": f"#{s['id']}", "display": s["name"]} for s in sites],
            "classifier": _classifiers(public_url, tags),
            "associatedParty": parties,
            "progressStatus": _progress(record),
            "whyStopped": {"text": record.why_stopped} if record.why_stopped else None,
            "recruitment": recruitment,
            "comparisonGroup": groups,
            "relatedArtifact": [
                {
                    "type": "documentation",
                    "display": "The record on ClinicalTrials.gov",
                    "document": {"url": record.registry_url},
                },
                {
                    "type": "documentation",
                    "display": "The trial's page on this hemewatch site",
                    "document": {"url": public_link(public_url, f"/trials/{record.nct_id}")},
                },
            ],
        }
    )


def searchset(
    resources: Sequence[dict[str, Any]],
    *,
    total: int,
    full_urls: Sequence[str],
    links: Mapping[str, str],
) -> dict[str, Any]:
    """A searchset Bundle of one page of matches: `links` maps relation (self, next, …) to URL."""
    return _compact(
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": total,
            "link": [{"relation": relation, "url": url} for relation, url in links.items()],
            "entry": [
                {"fullUrl": url, "resource": resource, "search": {"mode": "match"}}
                for url, resource in zip(full_urls, resources, strict=True)
            ],
        }
    )
