"""The patient pre-screen over the mirror: open trials in scope, screened, ranked, with their nearest sites.

Nothing is stored and nothing leaves the process: the profile is read, matched and forgotten.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Final

from sqlalchemy.engine import Connection

from hemewatch import vocabulary
from hemewatch.classification.lexicon import Lexicon
from hemewatch.classification.model import Therapy
from hemewatch.eligibility.model import PRIOR_THERAPIES
from hemewatch.eligibility.places import Place, country_code, distance_km, resolve_place
from hemewatch.eligibility.profile_values import UnknownProfileValue, parse_finding, parse_setting
from hemewatch.eligibility.screen import (
    DiseaseKnowledge,
    Profile,
    Screening,
    purpose_rank,
    rank_key,
    screen,
)
from hemewatch.errors import InvalidFilterValue
from hemewatch.storage.eligibility import load_facts
from hemewatch.storage.prescreen import ScreenableTrial, load_screenable_trials
from hemewatch.storage.tags import current_therapies
from hemewatch.storage.versions import load_current_studies

OPEN_STATUSES: Final = ("RECRUITING", "NOT_YET_RECRUITING", "ENROLLING_BY_INVITATION")
OPEN_SITE_STATUSES: Final = ("RECRUITING", "NOT_YET_RECRUITING", "ENROLLING_BY_INVITATION")
MAX_CANDIDATES: Final = 100
MAX_FAILING: Final = 100


@dataclass(frozen=True, slots=True)
class Contact:
    """Who to call: a name, a phone number, an e-mail address (any may be missing)."""

    name: str | None
    phone: str | None
    email: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"name": self.name, "phone": self.phone, "email": self.email}


@dataclass(frozen=True, slots=True)
class Site:
    """One site of a trial, its status, distance from the patient's place and its contacts."""

    facility: str | None
    city: str | None
    state: str | None
    country: str | None
    status: str | None
    distance_km: float | None
    contacts: tuple[Contact, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "facility": self.facility,
            "city": self.city,
            "state": self.state,
            "country": self.country,
            "status": self.status,
            "distance_km": None if self.distance_km is None else round(self.distance_km, 1),
            "contacts": [c.to_dict() for c in self.contacts],
        }


@dataclass(frozen=True, slots=True)
class ScreenedTrial:
    """A trial with its screening, its nearest open sites and its central contacts."""

    trial: ScreenableTrial
    screening: Screening
    sites: tuple[Site, ...] = ()
    site_count: int = 0  # open sites in the area asked for (country, distance)
    central_contacts: tuple[Contact, ...] = ()
    primary_purpose: str | None = None  # TREATMENT, SUPPORTIVE_CARE, … (interventional studies)

    @property
    def nearest_km(self) -> float | None:
        """The distance to the nearest open site, when a place was given."""
        distances = [s.distance_km for s in self.sites if s.distance_km is not None]
        return min(distances) if distances else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "nct_id": self.trial.nct_id,
            "title": self.trial.title,
            "overall_status": self.trial.overall_status,
            "study_type": self.trial.study_type,
            "primary_purpose": self.primary_purpose,
            "phases": list(self.trial.phases),
            "diseases": list(self.trial.diseases),
            "outcome": self.screening.outcome,
            "unknown": self.screening.unknown_count,
            "meets": self.screening.meets_count,
            "verdicts": [a.to_dict() for a in self.screening.assessments],
            "failing": [a.to_dict() for a in self.screening.failing],
            "nearest_km": None if self.nearest_km is None else round(self.nearest_km, 1),
            "site_count": self.site_count,
            "sites": [s.to_dict() for s in self.sites],
            "central_contacts": [c.to_dict() for c in self.central_contacts],
        }


@dataclass(frozen=True)
class PrescreenResult:
    """Candidates (ranked, bounded), trials that clearly fail (with the reason), and what was left aside."""

    profile: Profile
    place: Place | None
    candidates: list[ScreenedTrial]
    failing: list[ScreenedTrial]
    screened: int  # open trials in scope looked at
    candidate_total: int
    failing_total: int
    outside_area: int  # candidates with no open site in the country or within the distance
    notes: list[str] = field(default_factory=list)


def _broader(diseases: Mapping[str, Any], disease_id: str) -> set[str]:
    entry = diseases[disease_id]
    found = {disease_id}
    if entry.acute and not entry.unspecified:
        found.add("acute leukemia")
        found |= {"B": {"B-ALL", "ALL"}, "T": {"T-ALL", "ALL"}, "lymphoid": {"ALL"}, "myeloid": {"AML"}}.get(
            entry.lineage or "", set()
        )
    if not entry.unspecified and len(entry.implies) < 2:
        found |= set(entry.implies)
    for other_id, other in diseases.items():
        grouping = (other.unspecified or len(other.implies) >= 2) and disease_id in other.implies
        naming = other.unspecified and not other.implies and _within_unspecified(entry, other)
        if other_id != disease_id and (grouping or naming):
            found.add(other_id)
    return {d for d in found if d in diseases}


def _within_unspecified(entry: Any, other: Any) -> bool:
    """Whether a name that says no more than a kind of disease ("leukemia", "B-cell leukemia") covers it."""
    if other.chronic and not entry.chronic:
        return False
    if other.lineage == "any":
        return bool(entry.acute or entry.chronic)
    if other.lineage is not None:
        return bool(entry.acute) and _lineage_within(entry.lineage, other.lineage)
    if other.catch_all:
        return bool(entry.oncologic)
    return bool(entry.hematologic and entry.oncologic)


def _lineage_within(lineage: str | None, broader: str) -> bool:
    return lineage == broader or (broader == "lymphoid" and lineage in ("B", "T"))


def disease_knowledge(lexicon: Lexicon) -> DiseaseKnowledge:
    """What each lexicon disease includes (Ph+ ALL is a B-ALL, an ALL, an acute leukemia …)."""
    return _knowledge_of(_Keyed(lexicon))


@dataclass(frozen=True, eq=False)
class _Keyed:
    # A lexicon, hashed by identity: it is loaded once per process and never changes.
    lexicon: Lexicon


@cache
def _knowledge_of(keyed: _Keyed) -> DiseaseKnowledge:
    lexicon = keyed.lexicon
    diseases = lexicon.diseases
    direct = {disease_id: _broader(diseases, disease_id) for disease_id in diseases}
    closed: dict[str, frozenset[str]] = {}
    for disease_id in diseases:
        seen: set[str] = set()
        pending = [disease_id]
        while pending:
            current = pending.pop()
            if current not in seen:
                seen.add(current)
                pending.extend(direct.get(current, ()))
        closed[disease_id] = frozenset(seen)
    # Names that say nothing of which leukemia (and what is no cancer, like "infection"): a trial tagged
    # with them and a narrower disease is judged on the narrower one.
    broad = frozenset(d for d, e in diseases.items() if e.unspecified or e.catch_all or not e.oncologic)
    broad |= {"acute leukemia"}
    cross = frozenset(
        d
        for d, e in diseases.items()
        if e.label is None
        and not (e.acute or e.unspecified or e.catch_all)
        and e.lineage is None
        and e.hematologic
        and e.oncologic
    )
    return DiseaseKnowledge(broader=closed, broad=broad, cross_lineage=cross)


def agent_implications(lexicon: Lexicon) -> Mapping[str, frozenset[str]]:
    """What each lexicon agent given before tells (tisagenlecleucel: a CD19 CAR-T; gilteritinib: …)."""
    return _implications_of(_Keyed(lexicon))


@cache
def _implications_of(keyed: _Keyed) -> Mapping[str, frozenset[str]]:
    lexicon = keyed.lexicon
    known = set(PRIOR_THERAPIES)
    found: dict[str, frozenset[str]] = {}
    for agent_id, agent in lexicon.agents.items():
        implied: set[str] = set()
        if agent.modality == "CAR-T":
            implied.add("CAR-T")
            implied |= {f"{t} CAR-T" for t in agent.targets}
        implied |= {f"{t}-directed therapy" for t in agent.targets}
        implied |= {agent.modality, agent.drug_class or ""}
        if agent.drug_class == "BCR-ABL TKI":
            implied.add("TKI")
        implied = {i for i in implied if i in known and i != agent_id}
        if implied:
            found[agent_id] = frozenset(implied)
    return found


def _contacts(items: Sequence[Mapping[str, Any]]) -> tuple[Contact, ...]:
    # Contacts to call first; investigators without a phone or e-mail only name who leads the site.
    reachable = [c for c in items if c.get("phone") or c.get("email")]
    return tuple(Contact(c.get("name"), c.get("phone"), c.get("email")) for c in reachable[:3])


def _sites(study: Mapping[str, Any], profile: Profile, place: Place | None) -> list[Site]:
    locations = (study.get("protocolSection") or {}).get("contactsLocationsModule") or {}
    wanted = country_code(profile.country) if profile.country else None
    sites: list[Site] = []
    for location in locations.get("locations") or []:
        status = location.get("status")
        if status is not None and status not in OPEN_SITE_STATUSES:
            continue
        country = location.get("country")
        if profile.country and not _same_country(country, profile.country, wanted):
            continue
        point = location.get("geoPoint") or {}
        distance = None
        if place is not None and "lat" in point and "lon" in point:
            distance = distance_km(place.latitude, place.longitude, float(point["lat"]), float(point["lon"]))
        if (
            place is not None
            and profile.within_km is not None
            and (distance is None or distance > profile.within_km)
        ):
            continue
        sites.append(
            Site(
                facility=location.get("facility"),
                city=location.get("city"),
                state=location.get("state"),
                country=country,
                status=status,
                distance_km=distance,
                contacts=_contacts(location.get("contacts") or []),
            )
        )
    # Recruiting sites first, then the nearest.
    sites.sort(
        key=lambda s: (s.status != "RECRUITING", s.distance_km if s.distance_km is not None else float("inf"))
    )
    return sites


def _same_country(country: str | None, asked: str, code: str | None) -> bool:
    if not country:
        return False
    if code is not None and country_code(country) == code:
        return True
    return country.casefold() == asked.strip().casefold()


def _central(study: Mapping[str, Any]) -> tuple[Contact, ...]:
    locations = (study.get("protocolSection") or {}).get("contactsLocationsModule") or {}
    return _contacts(locations.get("centralContacts") or [])


def _purpose(study: Mapping[str, Any]) -> str | None:
    design = study.get("protocolSection", {}).get("designModule", {})
    purpose = design.get("designInfo", {}).get("primaryPurpose")
    return purpose if isinstance(purpose, str) else None


def _targeted(therapies: Sequence[Therapy]) -> list[tuple[str, tuple[str, ...]]]:
    """The investigational therapies with their target antigens (what the trial tests on the patient)."""
    return [
        (therapy.agent or therapy.name, therapy.targets)
        for therapy in therapies
        if therapy.role == "investigational" and therapy.targets
    ]


def run_prescreen(
    conn: Connection,
    profile: Profile,
    lexicon: Lexicon,
    *,
    limit: int = 25,
    failing_limit: int = 25,
    sites_per_trial: int = 3,
    place: Place | None = None,
) -> PrescreenResult:
    """Screen every open trial in scope against the profile; rank the candidates; bound the lists.

    `place` is the profile's place when the caller resolved it already.
    """
    if place is None and profile.place:
        place = resolve_place(profile.place, country=profile.country)
    knowledge = disease_knowledge(lexicon)
    implications = agent_implications(lexicon)
    trials = load_screenable_trials(conn, OPEN_STATUSES)
    facts = load_facts(conn, [t.version_id for t in trials])
    therapies = current_therapies(conn, [t.nct_id for t in trials])
    screened = [
        (
            trial,
            screen(
                profile,
                facts.get(trial.version_id, []),
                disease_tags=trial.diseases,
                knowledge=knowledge,
                agent_implications=implications,
                targeted=_targeted(therapies.get(trial.nct_id, [])),
            ),
        )
        for trial in trials
    ]
    passing = [(t, s) for t, s in screened if s.outcome == "candidate"]
    failing = [(t, s) for t, s in screened if s.outcome == "fails"]
    studies = load_current_studies(conn, [t.nct_id for t, _ in passing])
    candidates: list[ScreenedTrial] = []
    outside = 0
    area = bool(profile.country) or (place is not None and profile.within_km is not None)
    for trial, screening in passing:
        study = studies.get(trial.nct_id, {})
        sites = _sites(study, profile, place)
        if area and not sites:
            outside += 1
            continue
        candidates.append(
            ScreenedTrial(
                trial, screening, tuple(sites[:sites_per_trial]), len(sites), _central(study), _purpose(study)
            )
        )
    candidates.sort(
        key=lambda c: (
            rank_key(
                c.trial.overall_status,
                c.screening,
                c.nearest_km,
                purpose=purpose_rank(c.trial.study_type, c.primary_purpose),
            ),
            c.trial.nct_id,
        )
    )
    failing.sort(key=lambda pair: (rank_key(pair[0].overall_status, pair[1]), pair[0].nct_id))
    notes = []
    if profile.country and country_code(profile.country) is None:
        notes.append(
            f"The country {profile.country!r} is not one the gazetteer knows: sites matched by name."
        )
    if not facts and trials:
        notes.append("No eligibility facts are stored yet: only the trials' disease tags were matched.")
    return PrescreenResult(
        profile=profile,
        place=place,
        candidates=candidates[: min(limit, MAX_CANDIDATES)],
        failing=[ScreenedTrial(t, s) for t, s in failing[: min(failing_limit, MAX_FAILING)]],
        screened=len(trials),
        candidate_total=len(candidates),
        failing_total=len(failing),
        outside_area=outside,
        notes=notes,
    )


DISCLAIMER: Final = (
    "A pre-screen, not medical advice: it reads the trials' registry records, which may be incomplete "
    "or out of date. The trial team decides who is eligible."
)


@dataclass(frozen=True)
class ProfileInput:
    """A profile as typed on a form, the command line or in a JSON body, before it is checked."""

    age: float | None = None
    diseases: Sequence[str] = ()
    settings: Sequence[str] = ()
    prior_therapies: Sequence[str] = ()
    prior_lines: int | None = None
    antigens: Sequence[str] = ()  # "CD22+", "CD19-", "CD19 negative"
    genetics: Sequence[str] = ()  # "FLT3+", "TP53-", "KMT2A"
    ecog: int | None = None
    cns: bool | None = None
    country: str | None = None
    near: str | None = None
    within_km: float | None = None


def _refused(exc: UnknownProfileValue, dimension: str, value: str) -> InvalidFilterValue:
    return InvalidFilterValue(str(exc), dimension=dimension, value=value)


def _prior_therapy(raw: str) -> str:
    folded = "".join(c for c in raw.casefold() if c.isalnum())
    for known in PRIOR_THERAPIES:
        if "".join(c for c in known.casefold() if c.isalnum()) == folded:
            return known
    try:
        return vocabulary.parse("agent", raw)
    except InvalidFilterValue:
        raise InvalidFilterValue(
            f"unknown prior therapy {raw!r}: give an agent (blinatumomab, tisagenlecleucel, gilteritinib, …) "
            f"or one of {', '.join(PRIOR_THERAPIES)}",
            dimension="prior_therapy",
            value=raw,
        ) from None


def build_profile(given: ProfileInput) -> Profile:
    """The profile the input describes, every value checked; raise InvalidFilterValue naming a bad one."""
    diseases = vocabulary.parse_all("disease", given.diseases)
    settings: list[str] = []
    positive: dict[str, list[str]] = {"antigen": [], "genetic": []}
    negative: dict[str, list[str]] = {"antigen": [], "genetic": []}
    for raw in (s for s in given.settings if s.strip()):
        try:
            settings.append(parse_setting(raw))
        except UnknownProfileValue as exc:
            raise _refused(exc, "setting", raw) from None
    for kind, raws in (("antigen", given.antigens), ("genetic", given.genetics)):
        for raw in (r for r in raws if r.strip()):
            try:
                name, sign = parse_finding(raw, kind)  # type: ignore[arg-type]
            except UnknownProfileValue as exc:
                raise _refused(exc, kind, raw) from None
            if kind == "antigen":
                name = vocabulary.parse("target", name)
            (positive if sign else negative)[kind].append(name)
    return Profile(
        age=given.age,
        disease=diseases[0] if diseases else None,
        subtypes=tuple(diseases[1:]),
        settings=tuple(dict.fromkeys(settings)),
        prior_therapies=tuple(dict.fromkeys(_prior_therapy(r) for r in given.prior_therapies if r.strip())),
        prior_lines=given.prior_lines,
        antigens_positive=tuple(dict.fromkeys(positive["antigen"])),
        antigens_negative=tuple(dict.fromkeys(negative["antigen"])),
        genetics_positive=tuple(dict.fromkeys(positive["genetic"])),
        genetics_negative=tuple(dict.fromkeys(negative["genetic"])),
        ecog=given.ecog,
        cns=given.cns,
        country=given.country.strip() if given.country and given.country.strip() else None,
        place=given.near.strip() if given.near and given.near.strip() else None,
        within_km=given.within_km,
    )
