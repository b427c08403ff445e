"""Read the essentials, interventions and sites of a v2 study record (pure)."""

from __future__ import annotations

import calendar
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Final

from hemewatch.registry.identifiers import Identifier, parse_identifiers
from hemewatch.registry.records import registry_study_url
from hemewatch.text import criteria_texts
from hemewatch.vocabulary import phase_label, status_label

# An address a mail program can open: one "@", no spaces, quotes or angle brackets. Anything else is
# shown as text only, never as a link.
_EMAIL: Final = re.compile(r"[^\s@<>\"'`()\[\]\\,;:]+@[^\s@<>\"'`()\[\]\\,;:]+\.[^\s@<>\"'`()\[\]\\,;:]+")
# The criteria_texts section of criteria written without an "Inclusion"/"Exclusion" heading.
_UNSECTIONED: Final = "criteria"


@dataclass(frozen=True)
class Contact:
    """A person or office to call about a trial (central) or at one site."""

    name: str | None
    role: str | None
    phone: str | None
    email: str | None

    @property
    def mailto(self) -> str | None:
        """The e-mail address when it is fit for a mailto: link, else None (shown as text)."""
        return self.email if self.email and _EMAIL.fullmatch(self.email) else None

    @property
    def role_text(self) -> str | None:
        """'PRINCIPAL_INVESTIGATOR' -> 'principal investigator'."""
        return self.role.replace("_", " ").lower() if self.role else None


@dataclass(frozen=True)
class Site:
    """One location of a trial, its recruitment status and its contacts."""

    facility: str
    city: str | None
    state: str | None
    country: str | None
    status: str | None
    contacts: tuple[Contact, ...] = ()

    @property
    def place(self) -> str:
        """'Houston, Texas' or what of it is known."""
        return ", ".join(part for part in (self.city, self.state) if part)


@dataclass(frozen=True)
class CountrySites:
    """How many sites a trial has in one country, and how many of them recruit."""

    country: str
    sites: int
    recruiting: int


@dataclass(frozen=True)
class Milestone:
    """A key date of the record (start, primary completion, completion) and whether it is estimated."""

    name: str
    when: str  # as the record writes it: YYYY-MM-DD or YYYY-MM
    estimated: bool

    def passed(self, today: date) -> bool:
        """An estimated date before today (a month-only date counts from its last day)."""
        return self.estimated and (_last_day(self.when) or today) < today


@dataclass(frozen=True)
class Criteria:
    """The eligibility criteria as lists, in the record's order."""

    inclusion: tuple[str, ...] = ()
    exclusion: tuple[str, ...] = ()
    unsectioned: tuple[str, ...] = ()  # criteria written without Inclusion / Exclusion headings
    text: str | None = None  # as the record writes it

    @property
    def is_empty(self) -> bool:
        """No criteria in the record."""
        return not (self.inclusion or self.exclusion or self.unsectioned)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "inclusion": list(self.inclusion),
            "exclusion": list(self.exclusion),
            "unsectioned": list(self.unsectioned),
            "text": self.text,
        }


def read_criteria(text: str | None) -> Criteria:
    """The criteria text split into inclusion, exclusion and unsectioned lists (history.normalise)."""
    if not text:
        return Criteria()
    found: dict[str, list[str]] = {"inclusion": [], "exclusion": [], _UNSECTIONED: []}
    for section, display in criteria_texts(text):
        found.setdefault(section, []).append(display)
    return Criteria(
        inclusion=tuple(found["inclusion"]),
        exclusion=tuple(found["exclusion"]),
        unsectioned=tuple(found[_UNSECTIONED]),
        text=text,
    )


def _last_day(text: str) -> date | None:
    match = re.fullmatch(r"(\d{4})-(\d{2})(?:-(\d{2}))?", text)
    if match is None:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12:
        return None
    day = int(match.group(3)) if match.group(3) else calendar.monthrange(year, month)[1]
    try:
        return date(year, month, day)
    except ValueError:
        return None


@dataclass(frozen=True)
class Intervention:
    """One intervention as the record names it."""

    type: str | None
    name: str
    other_names: tuple[str, ...]


@dataclass(frozen=True)
class TrialRecord:
    """What a person reads first about a trial, taken from its current record."""

    nct_id: str
    brief_title: str
    official_title: str | None
    acronym: str | None
    overall_status: str | None
    why_stopped: str | None
    phases: tuple[str, ...]
    study_type: str | None
    lead_sponsor: str | None
    collaborators: tuple[str, ...]
    enrollment: int | None
    enrollment_type: str | None
    start: str | None
    primary_completion: str | None
    completion: str | None
    first_posted: str | None
    last_update: str | None
    conditions: tuple[str, ...]
    keywords: tuple[str, ...]
    interventions: tuple[Intervention, ...]
    arms: int
    minimum_age: str | None
    maximum_age: str | None
    sex: str | None
    brief_summary: str | None
    has_results: bool
    sites: tuple[Site, ...]
    healthy_volunteers: bool | None = None
    status_verified: str | None = None  # statusModule.statusVerifiedDate: when the sponsor last checked it
    criteria: Criteria = field(default_factory=Criteria)
    central_contacts: tuple[Contact, ...] = ()
    milestones: tuple[Milestone, ...] = ()
    # The sponsor's id and the secondary ids (other registries, grants), typed (registry/identifiers.py).
    identifiers: tuple[Identifier, ...] = ()

    @property
    def registry_url(self) -> str:
        """The record on ClinicalTrials.gov."""
        return registry_study_url(self.nct_id)

    @property
    def status_text(self) -> str:
        """The overall status as words."""
        return status_label(self.overall_status)

    @property
    def phase_text(self) -> str:
        """The phases as words."""
        return phase_label(self.phases)

    @property
    def ages(self) -> str:
        """'18 Years to 75 Years', '1 Year and older', or '—'."""
        if self.minimum_age and self.maximum_age:
            return f"{self.minimum_age} to {self.maximum_age}"
        if self.minimum_age:
            return f"{self.minimum_age} and older"
        if self.maximum_age:
            return f"up to {self.maximum_age}"
        return "—"

    def countries(self) -> list[CountrySites]:
        """Sites per country, the country with most sites first."""
        totals: Counter[str] = Counter()
        recruiting: Counter[str] = Counter()
        for site in self.sites:
            country = site.country or "Country not stated"
            totals[country] += 1
            if site.status == "RECRUITING":
                recruiting[country] += 1
        return [
            CountrySites(country, count, recruiting[country])
            for country, count in sorted(totals.items(), key=lambda item: (-item[1], item[0]))
        ]

    def passed_estimates(self, today: date) -> list[Milestone]:
        """The estimated key dates already in the past: the record may be out of date."""
        return [m for m in self.milestones if m.passed(today)]

    @property
    def sex_text(self) -> str:
        """'All', 'Female', 'Male' or '—'."""
        return self.sex.capitalize() if self.sex else "—"

    @property
    def healthy_volunteers_text(self) -> str:
        """'Accepted', 'Not accepted' or '—'."""
        if self.healthy_volunteers is None:
            return "—"
        return "Accepted" if self.healthy_volunteers else "Not accepted"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        data = asdict(self)
        data["registry_url"] = self.registry_url
        data["phases"] = list(self.phases)
        data["countries"] = [asdict(c) for c in self.countries()]
        data["criteria"] = self.criteria.to_dict()
        data["identifiers"] = [item.to_dict() for item in self.identifiers]
        return data


def _module(study: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = (study.get("protocolSection") or {}).get(name)
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _texts(value: Any) -> tuple[str, ...]:
    return (
        tuple(v.strip() for v in value if isinstance(v, str) and v.strip()) if isinstance(value, list) else ()
    )


def _date(struct: Any) -> str | None:
    if not isinstance(struct, Mapping) or not isinstance(struct.get("date"), str):
        return None
    kind = struct.get("type")
    return f"{struct['date']} ({kind.lower()})" if isinstance(kind, str) and kind else str(struct["date"])


def _milestones(status: Mapping[str, Any]) -> tuple[Milestone, ...]:
    found = []
    for name, key in (
        ("start", "startDateStruct"),
        ("primary completion", "primaryCompletionDateStruct"),
        ("completion", "completionDateStruct"),
    ):
        struct = status.get(key)
        if isinstance(struct, Mapping) and isinstance(struct.get("date"), str):
            found.append(Milestone(name, struct["date"], struct.get("type") == "ESTIMATED"))
    return tuple(found)


def _contacts(items: Any) -> tuple[Contact, ...]:
    found = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, Mapping):
            continue
        phone = _text(item.get("phone"))
        extension = _text(item.get("phoneExt"))
        if phone and extension:
            phone = f"{phone} ext. {extension}"
        contact = Contact(_text(item.get("name")), _text(item.get("role")), phone, _text(item.get("email")))
        if contact.name or contact.phone or contact.email:
            found.append(contact)
    return tuple(found)


def _sites(locations: Any) -> tuple[Site, ...]:
    sites = []
    for location in locations if isinstance(locations, list) else []:
        if not isinstance(location, Mapping):
            continue
        sites.append(
            Site(
                facility=_text(location.get("facility")) or "Site name not stated",
                city=_text(location.get("city")),
                state=_text(location.get("state")),
                country=_text(location.get("country")),
                status=_text(location.get("status")),
                contacts=_contacts(location.get("contacts")),
            )
        )
    # Recruiting sites first, then by country and city, as a person scans the list.
    order = {"RECRUITING": 0, "NOT_YET_RECRUITING": 1, "ENROLLING_BY_INVITATION": 2}
    return tuple(
        sorted(
            sites, key=lambda s: (order.get(s.status or "", 3), s.country or "~", s.city or "", s.facility)
        )
    )


def _interventions(module: Mapping[str, Any]) -> tuple[Intervention, ...]:
    found = []
    for item in module.get("interventions") or []:
        if isinstance(item, Mapping) and _text(item.get("name")):
            found.append(
                Intervention(
                    _text(item.get("type")), str(_text(item.get("name"))), _texts(item.get("otherNames"))
                )
            )
    return tuple(found)


def read_trial_record(study: Mapping[str, Any]) -> TrialRecord:
    """The essentials of a v2 study record; missing fields read as None or empty."""
    ident = _module(study, "identificationModule")
    status = _module(study, "statusModule")
    design = _module(study, "designModule")
    sponsors = _module(study, "sponsorCollaboratorsModule")
    eligibility = _module(study, "eligibilityModule")
    arms = _module(study, "armsInterventionsModule")
    contacts = _module(study, "contactsLocationsModule")
    healthy = eligibility.get("healthyVolunteers")
    raw_enrollment = design.get("enrollmentInfo")
    enrollment: Mapping[str, Any] = raw_enrollment if isinstance(raw_enrollment, Mapping) else {}
    count = enrollment.get("count")
    return TrialRecord(
        nct_id=str(ident.get("nctId") or ""),
        brief_title=_text(ident.get("briefTitle")) or _text(ident.get("officialTitle")) or "Untitled trial",
        official_title=_text(ident.get("officialTitle")),
        acronym=_text(ident.get("acronym")),
        overall_status=_text(status.get("overallStatus")),
        why_stopped=_text(status.get("whyStopped")),
        phases=_texts(design.get("phases")),
        study_type=_text(design.get("studyType")),
        lead_sponsor=_text((sponsors.get("leadSponsor") or {}).get("name")),
        collaborators=tuple(
            str(c["name"]).strip()
            for c in sponsors.get("collaborators") or []
            if isinstance(c, Mapping) and _text(c.get("name"))
        ),
        enrollment=count if isinstance(count, int) and not isinstance(count, bool) else None,
        enrollment_type=_text(enrollment.get("type")),
        start=_date(status.get("startDateStruct")),
        primary_completion=_date(status.get("primaryCompletionDateStruct")),
        completion=_date(status.get("completionDateStruct")),
        first_posted=_date(status.get("studyFirstPostDateStruct")),
        last_update=_date(status.get("lastUpdatePostDateStruct")),
        conditions=_texts(_module(study, "conditionsModule").get("conditions")),
        keywords=_texts(_module(study, "conditionsModule").get("keywords")),
        interventions=_interventions(arms),
        arms=len(arms.get("armGroups") or []),
        minimum_age=_text(eligibility.get("minimumAge")),
        maximum_age=_text(eligibility.get("maximumAge")),
        sex=_text(eligibility.get("sex")),
        brief_summary=_text(_module(study, "descriptionModule").get("briefSummary")),
        has_results=bool(study.get("hasResults")),
        sites=_sites(contacts.get("locations")),
        healthy_volunteers=healthy if isinstance(healthy, bool) else None,
        status_verified=_text(status.get("statusVerifiedDate")),
        criteria=read_criteria(_text(eligibility.get("eligibilityCriteria"))),
        central_contacts=_contacts(contacts.get("centralContacts")),
        milestones=_milestones(status),
        identifiers=tuple(parse_identifiers(study)),
    )
