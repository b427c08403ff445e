"""The patient pre-screen: a profile against a trial's eligibility facts and disease tags (pure).

Each fact gets a verdict — meets, fails or unknown — with the fact's evidence and a reason. A trial
clearly fails when one verdict fails; otherwise it stays a candidate, however many verdicts are
unknown. The pre-screen leans towards keeping a trial: required diseases and settings are read as
alternatives ("AML or MDS", "relapsed or refractory"), and so are required facts of one kind read
from one sentence ("CD19- or CD22-positive"). The trial team decides.

The profile's prior therapies are taken as the patient's whole history: a therapy not listed was not
given, unless a broader one is listed ("CAR-T" says nothing of which antigen it was directed at), the
therapy is a first-line backbone (intensive chemotherapy, a hypomethylating agent) of a patient treated
before, or the profile of a treated patient lists no therapy at all (then every prior therapy is unknown).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Literal

from hemewatch.eligibility.model import Fact, Verdict

Outcome = Literal["candidate", "fails"]

# What a prior therapy tells beyond itself.
THERAPY_IMPLICATIONS: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
    {
        "CD19 CAR-T": frozenset({"CAR-T", "CD19-directed therapy"}),
        "CD22 CAR-T": frozenset({"CAR-T", "CD22-directed therapy"}),
        "blinatumomab": frozenset({"CD19-directed therapy"}),
        "inotuzumab ozogamicin": frozenset({"CD22-directed therapy"}),
        "gemtuzumab ozogamicin": frozenset({"CD33-directed therapy"}),
        # Criteria that do not say which transplant read as "HSCT".
        "allogeneic HSCT": frozenset({"HSCT"}),
        "autologous HSCT": frozenset({"HSCT"}),
    }
)
# First-line backbones a treated patient has often had without the profile saying so: not listed, they
# stay unknown for a relapsed or refractory patient (every other therapy not listed was not given).
FRONTLINE_BACKBONES: Final = frozenset({"intensive chemotherapy", "hypomethylating agent"})
# What a setting tells beyond itself ("first relapse" is a relapse; MRD is measured in remission).
SETTING_IMPLICATIONS: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
    {
        "relapsed": frozenset({"relapsed/refractory"}),
        "refractory": frozenset({"relapsed/refractory"}),
        "first relapse": frozenset({"relapsed", "relapsed/refractory"}),
        "second or later relapse": frozenset({"relapsed", "relapsed/refractory"}),
        "post-HSCT relapse": frozenset({"relapsed", "relapsed/refractory"}),
        "MRD-positive": frozenset({"complete remission"}),
    }
)
# Disease subtypes the lexicon names by a genetic finding.
SUBTYPE_GENETICS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "Ph+ ALL": "Ph+ / BCR::ABL1",
        "Ph-like ALL": "Ph-like",
        "KMT2A-rearranged": "KMT2A rearrangement",
        "FLT3-mutated AML": "FLT3 mutation",
        "NPM1-mutated AML": "NPM1 mutation",
        "TP53-mutated AML": "TP53 mutation",
    }
)
# ECOG grade -> the Karnofsky (and Lansky) range it corresponds to, as trials convert them.
_KARNOFSKY: Final[Mapping[int, tuple[int, int]]] = MappingProxyType(
    {0: (90, 100), 1: (70, 80), 2: (50, 60), 3: (30, 40), 4: (10, 20), 5: (0, 0)}
)
# Open first: the order in which statuses rank.
STATUS_ORDER: Final = (
    "RECRUITING",
    "NOT_YET_RECRUITING",
    "ENROLLING_BY_INVITATION",
    "AVAILABLE",
    "ACTIVE_NOT_RECRUITING",
    "TEMPORARILY_NOT_AVAILABLE",
    "SUSPENDED",
)
_BETTER: Final[Mapping[Verdict, int]] = MappingProxyType({"meets": 2, "unknown": 1, "fails": 0})


@dataclass(frozen=True, slots=True)
class DiseaseKnowledge:
    """What each disease name includes: itself and every broader name it is a case of.

    `broader["Ph+ ALL"]` holds "Ph+ ALL", "B-ALL", "ALL", "acute leukemia", "leukemia", …; a trial's or a
    criterion's disease matches the patient when it is among the broader names of the patient's disease.
    """

    broader: Mapping[str, frozenset[str]] = field(default_factory=dict)
    broad: frozenset[str] = frozenset()  # names that say no more than "a leukemia" (acute leukemia, …)
    # Subtypes found across leukemias (KMT2A-rearranged ALL or AML): naming one leaves the leukemia open.
    cross_lineage: frozenset[str] = frozenset()

    def including(self, disease: str) -> frozenset[str]:
        """The disease and every broader name it is a case of."""
        return self.broader.get(disease, frozenset({disease}))


@dataclass(frozen=True, slots=True)
class Profile:
    """A patient as the pre-screen reads them; every field may be left out (its facts are then unknown)."""

    age: float | None = None
    disease: str | None = None  # a lexicon disease name: B-ALL, T-ALL, AML, Ph+ ALL, MPAL, …
    subtypes: tuple[str, ...] = ()  # lexicon subtype names: KMT2A-rearranged, FLT3-mutated AML, …
    settings: tuple[str, ...] = ()  # values of model.SETTINGS
    prior_therapies: tuple[str, ...] = ()  # values of model.PRIOR_THERAPIES or lexicon agent names
    prior_lines: int | None = None
    antigens_positive: tuple[str, ...] = ()
    antigens_negative: tuple[str, ...] = ()
    genetics_positive: tuple[str, ...] = ()  # values of model.GENETICS
    genetics_negative: tuple[str, ...] = ()
    ecog: int | None = None
    cns: bool | None = None  # True: CNS involvement; False: none; None: not known
    country: str | None = None
    place: str | None = None  # where the patient would travel from ("Houston, Texas", "48.85,2.35")
    within_km: float | None = None


@dataclass(frozen=True, slots=True)
class Assessment:
    """One verdict: the fact (None for the trial's disease tags), the verdict and why."""

    kind: str
    text: str
    verdict: Verdict
    reason: str
    evidence: str
    fact: Fact | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "kind": self.kind,
            "text": self.text,
            "verdict": self.verdict,
            "reason": self.reason,
            "evidence": self.evidence,
            "polarity": self.fact.polarity if self.fact else None,
            "section": self.fact.section if self.fact else None,
        }


@dataclass(frozen=True, slots=True)
class Screening:
    """A trial against a profile: every verdict, the outcome and how well the disease matches."""

    assessments: tuple[Assessment, ...]
    outcome: Outcome
    disease_match: int  # 3 subtype named and met, 2 disease met, 1 broad name or unknown, 0 fails

    @property
    def failing(self) -> tuple[Assessment, ...]:
        """The verdicts that rule the trial out."""
        return tuple(a for a in self.assessments if a.verdict == "fails")

    @property
    def unknown_count(self) -> int:
        """How many verdicts the profile cannot decide."""
        return sum(1 for a in self.assessments if a.verdict == "unknown")

    @property
    def meets_count(self) -> int:
        """How many verdicts the profile meets."""
        return sum(1 for a in self.assessments if a.verdict == "meets")


@dataclass(frozen=True, slots=True)
class _Patient:
    """The profile with its implications drawn: what the patient has, and what they are known not to have."""

    profile: Profile
    diseases: frozenset[str]  # the patient's disease, subtypes and every broader name
    named: frozenset[str]  # the disease and subtypes as given (and subtypes the genetics name)
    settings: frozenset[str]
    therapies: frozenset[str]
    given_therapies: frozenset[str]
    genetics_positive: frozenset[str]
    genetics_negative: frozenset[str]
    prior_lines: int | None


def expand_therapies(
    therapies: Iterable[str], agent_implications: Mapping[str, frozenset[str]] | None = None
) -> frozenset[str]:
    """The therapies and everything they imply ("CD19 CAR-T" is a CAR-T and CD19-directed therapy)."""
    implications = {**THERAPY_IMPLICATIONS, **(agent_implications or {})}
    found: set[str] = set()
    pending = list(therapies)
    while pending:
        therapy = pending.pop()
        if therapy not in found:
            found.add(therapy)
            pending.extend(implications.get(therapy, ()))
    return frozenset(found)


def expand_settings(settings: Iterable[str]) -> frozenset[str]:
    """The settings and everything they imply ("first relapse" is relapsed and relapsed/refractory)."""
    found = set(settings)
    for setting in list(found):
        found |= SETTING_IMPLICATIONS.get(setting, frozenset())
    return frozenset(found)


def _patient(
    profile: Profile, knowledge: DiseaseKnowledge, agent_implications: Mapping[str, frozenset[str]] | None
) -> _Patient:
    positive = set(profile.genetics_positive)
    named = {d for d in (profile.disease, *profile.subtypes) if d}
    for subtype, genetic in SUBTYPE_GENETICS.items():
        if subtype in named:
            positive.add(genetic)
        elif genetic in positive and profile.disease and _fits_subtype(subtype, named, knowledge):
            named.add(subtype)
    if named and named <= knowledge.cross_lineage:
        named.add("acute leukemia")
    diseases = frozenset().union(*(knowledge.including(d) for d in named)) if named else frozenset()
    settings = expand_settings(profile.settings)
    given = set(profile.prior_therapies)
    if "post-HSCT relapse" in settings:
        given.add("allogeneic HSCT")
    lines = profile.prior_lines
    if lines is None and settings == {"newly diagnosed"} and not given:
        lines = 0
    return _Patient(
        profile=profile,
        diseases=diseases,
        named=frozenset(named),
        settings=settings,
        therapies=expand_therapies(given, agent_implications),
        given_therapies=frozenset(given),
        genetics_positive=frozenset(positive),
        genetics_negative=frozenset(profile.genetics_negative),
        prior_lines=lines,
    )


def _fits_subtype(subtype: str, named: set[str], knowledge: DiseaseKnowledge) -> bool:
    # FLT3 mutation + AML names FLT3-mutated AML; KMT2A rearrangement names KMT2A-rearranged in any
    # leukemia (the lexicon gives it no parent).
    including = knowledge.including(subtype)
    return including == {subtype} or any(d in including for d in named)


def _verdict(kind: str, text: str, verdict: Verdict, reason: str, fact: Fact) -> Assessment:
    return Assessment(kind, text, verdict, reason, fact.evidence, fact)


def _by_polarity(fact: Fact, has: bool | None, what: str) -> tuple[Verdict, str]:
    """The verdict when the patient has the thing (True), has not (False) or it is not known (None)."""
    if fact.polarity == "allowed":
        return "meets", f"the criteria allow {what}"
    if has is None:
        return "unknown", f"the profile does not say ({what})"
    if fact.polarity == "required":
        return ("meets", f"has {what}") if has else ("fails", f"requires {what}, which the profile rules out")
    return ("fails", f"excludes {what}, which the profile has") if has else ("meets", f"does not have {what}")


def _within(value: float, low: float | None, high: float | None) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)


def _assess_age(fact: Fact, patient: _Patient) -> Assessment:
    age = patient.profile.age
    has = None if age is None else _within(age, fact.low, fact.high)
    verdict, reason = _by_polarity(fact, has, "the age range")
    if age is not None and fact.polarity != "allowed":
        reason = f"age {age:g} is {'within' if has else 'outside'} {fact.describe().lower()}"
    return _verdict("age", fact.describe(), verdict, reason, fact)


def _assess_lines(fact: Fact, patient: _Patient) -> Assessment:
    lines = patient.prior_lines
    has = None if lines is None else _within(lines, fact.low, fact.high)
    verdict, reason = _by_polarity(fact, has, "that number of prior lines")
    if lines is not None and fact.polarity != "allowed":
        reason = f"{lines} prior line{'s' if lines != 1 else ''}: {verdict}"
    return _verdict("prior_lines", fact.describe(), verdict, reason, fact)


def _assess_performance(fact: Fact, patient: _Patient) -> Assessment:
    ecog = patient.profile.ecog
    has: bool | None = None
    if ecog is not None:
        if fact.value == "ECOG":
            has = _within(ecog, fact.low, fact.high)
        else:  # Karnofsky or Lansky: the range the ECOG grade converts to
            low, high = _KARNOFSKY.get(ecog, (0, 100))
            inside_low, inside_high = _within(low, fact.low, fact.high), _within(high, fact.low, fact.high)
            has = inside_low if inside_low == inside_high else None
    verdict, reason = _by_polarity(fact, has, fact.describe())
    if ecog is not None and has is not None and fact.polarity != "allowed":
        reason = f"ECOG {ecog}: {'within' if has else 'outside'} {fact.describe()}"
    elif ecog is not None and has is None:
        reason = f"ECOG {ecog} converts to a range that straddles {fact.describe()}"
    return _verdict("performance", fact.describe(), verdict, reason, fact)


def _assess_cns(fact: Fact, patient: _Patient) -> Assessment:
    verdict, reason = _by_polarity(fact, patient.profile.cns, "CNS involvement")
    return _verdict("cns", fact.describe(), verdict, reason, fact)


def _assess_antigen(fact: Fact, patient: _Patient) -> Assessment:
    profile = patient.profile
    has = (
        True
        if fact.value in profile.antigens_positive
        else False
        if fact.value in profile.antigens_negative
        else None
    )
    verdict, reason = _by_polarity(fact, has, f"{fact.value}-positive disease")
    return _verdict("antigen", fact.describe(), verdict, reason, fact)


def _assess_genetic(fact: Fact, patient: _Patient) -> Assessment:
    value = fact.value
    has = (
        True if value in patient.genetics_positive else False if value in patient.genetics_negative else None
    )
    verdict, reason = _by_polarity(fact, has, value)
    return _verdict("genetic", fact.describe(), verdict, reason, fact)


def _assess_therapy(fact: Fact, patient: _Patient, implications: Mapping[str, frozenset[str]]) -> Assessment:
    value = fact.value
    has: bool | None = value in patient.therapies
    if not has:
        # A broader therapy given ("CAR-T") leaves the narrower one asked about ("CD19 CAR-T") open.
        narrower = expand_therapies([value], implications) - {value}
        if patient.given_therapies & narrower or value in patient.given_therapies:
            has = None
    treated = bool(patient.settings - {"newly diagnosed"})
    untold = has is False and treated and not patient.profile.prior_therapies
    backbone = has is False and value in FRONTLINE_BACKBONES and treated
    if untold or backbone:
        has = None
    verdict, reason = _by_polarity(fact, has, f"prior {value}")
    if untold and fact.polarity != "allowed":
        reason = f"the patient was treated before but the profile lists no prior therapy ({value}?)"
    elif backbone and fact.polarity != "allowed":
        reason = f"the patient was treated before; whether with {value} is not in the profile"
    elif has is None and fact.polarity != "allowed":
        reason = f"a broader prior therapy is listed; whether it was {value} is not known"
    elif has is False and fact.polarity == "required":
        reason = f"requires prior {value}, not among the prior therapies given"
    elif has is False:
        reason = f"no prior {value} among the therapies given"
    return _verdict("prior_therapy", fact.describe(), verdict, reason, fact)


def _setting_has(value: str, patient: _Patient) -> bool | None:
    if not patient.settings:
        return None
    if value in patient.settings:
        return True
    # A narrower setting than the patient's ("first relapse" for a relapsed patient) is open.
    if expand_settings([value]) & patient.settings:
        return None
    return False


def _assess_setting(fact: Fact, patient: _Patient) -> Assessment:
    has = _setting_has(fact.value, patient)
    verdict, reason = _by_polarity(fact, has, f"{fact.value} disease")
    if has is None and patient.settings and fact.polarity != "allowed":
        given = ", ".join(sorted(patient.profile.settings))
        reason = f"the profile's setting ({given}) may or may not be {fact.value}"
    return _verdict("setting", fact.describe(), verdict, reason, fact)


def _disease_has(value: str, patient: _Patient, knowledge: DiseaseKnowledge) -> bool | None:
    """Whether the patient has this disease: True, False, or None when it is a subtype not stated."""
    if not patient.named:
        return None
    if value in patient.diseases:
        return True
    broader = knowledge.including(value)
    if broader & patient.named:  # a subtype of the patient's disease the profile does not settle
        genetic = SUBTYPE_GENETICS.get(value)
        if genetic is not None and genetic in patient.genetics_negative:
            return False
        return None
    return False


def _assess_disease(fact: Fact, patient: _Patient, knowledge: DiseaseKnowledge) -> Assessment:
    has = _disease_has(fact.value, patient, knowledge)
    verdict, reason = _by_polarity(fact, has, fact.value)
    if has is None and patient.named and fact.polarity != "allowed":
        reason = f"{fact.value} is a subtype the profile does not settle"
    elif has is False and fact.polarity == "required":
        reason = f"for {fact.value}; the patient has {_patient_disease(patient)}"
    return _verdict("disease", fact.describe(), verdict, reason, fact)


def _patient_disease(patient: _Patient) -> str:
    return ", ".join(sorted(patient.named)) or "no disease given"


def assess_disease_tags(
    tags: Sequence[str], patient: _Patient, knowledge: DiseaseKnowledge
) -> tuple[Assessment | None, int]:
    """The verdict of the trial's disease tags (None when it has none) and the disease match score."""
    if not tags:
        return None, 1
    shown = ", ".join(tags)
    # Broad names ("leukemia", "hematologic malignancy") say something only when nothing narrower does.
    specific = [tag for tag in tags if tag not in knowledge.broad]
    tags = specific or list(tags)
    if not patient.named:
        return Assessment("disease", f"Trial diseases: {shown}", "unknown", "no disease given", shown), 1
    verdicts = {tag: _disease_has(tag, patient, knowledge) for tag in tags}
    met = [tag for tag, has in verdicts.items() if has]
    if met:
        # Named subtypes the patient has (not just the broad names every acute leukemia carries).
        exact = [tag for tag in met if tag in patient.named]
        subtype = [tag for tag in exact if tag in SUBTYPE_GENETICS or tag not in {patient.profile.disease}]
        score = 3 if subtype else 2 if any(tag not in knowledge.broad for tag in met) else 1
        reason = f"the trial is for {', '.join(met)}, which includes {_patient_disease(patient)}"
        return Assessment("disease", f"Trial diseases: {shown}", "meets", reason, shown), score
    if any(has is None for has in verdicts.values()):
        open_ = [tag for tag, has in verdicts.items() if has is None]
        reason = (
            f"the trial is for {', '.join(open_)}; the profile ({_patient_disease(patient)}) leaves it open"
        )
        return Assessment("disease", f"Trial diseases: {shown}", "unknown", reason, shown), 1
    reason = f"the trial is for {', '.join(tags)}; the patient has {_patient_disease(patient)}"
    return Assessment("disease", f"Trial diseases: {shown}", "fails", reason, shown), 0


def _assess(
    fact: Fact, patient: _Patient, knowledge: DiseaseKnowledge, implications: Mapping[str, frozenset[str]]
) -> Assessment:
    if fact.kind == "age":
        return _assess_age(fact, patient)
    if fact.kind == "prior_lines":
        return _assess_lines(fact, patient)
    if fact.kind == "performance":
        return _assess_performance(fact, patient)
    if fact.kind == "cns":
        return _assess_cns(fact, patient)
    if fact.kind == "antigen":
        return _assess_antigen(fact, patient)
    if fact.kind == "genetic":
        return _assess_genetic(fact, patient)
    if fact.kind == "prior_therapy":
        return _assess_therapy(fact, patient, implications)
    if fact.kind == "setting":
        return _assess_setting(fact, patient)
    return _assess_disease(fact, patient, knowledge)


# Required facts of these kinds are alternatives wherever they are written ("AML or MDS" split into two
# sentences, cohorts by setting, "relapse after CAR-T OR after HSCT" in two bullets); so are the
# criteria's age ranges (cohorts by age); of the other kinds, when one sentence names several
# ("ECOG 0-2 or Karnofsky ≥ 60", "CD19- or CD22-positive").
_ALTERNATIVE_KINDS: Final = frozenset({"disease", "setting", "prior_therapy"})


def _alternatives(assessments: list[Assessment]) -> list[Assessment]:
    """A failing required fact with a met alternative is not held against the patient."""
    groups: dict[tuple[str, str], list[int]] = {}
    for index, item in enumerate(assessments):
        fact = item.fact
        if fact is None or fact.polarity != "required":
            continue
        key: tuple[str, str]
        if fact.kind == "age":  # cohorts by age; the record's own range holds on its own
            key = ("age", "record" if fact.section == "record" else "criteria")
        else:
            key = (fact.kind, "" if fact.kind in _ALTERNATIVE_KINDS else fact.evidence)
        groups.setdefault(key, []).append(index)
    result = list(assessments)
    for indexes in groups.values():
        if len(indexes) < 2:
            continue
        best = max((assessments[i] for i in indexes), key=lambda a: _BETTER[a.verdict])
        if best.verdict == "fails":
            continue
        for i in indexes:
            item = assessments[i]
            if item.verdict == "fails":
                reason = f"{item.reason}; the criteria also accept: {best.text} ({best.verdict})"
                result[i] = Assessment(item.kind, item.text, best.verdict, reason, item.evidence, item.fact)
    return result


def assess_targets(targeted: Sequence[tuple[str, tuple[str, ...]]], patient: _Patient) -> Assessment | None:
    """The verdict of the trial's antigen-directed therapies against the patient's antigen findings.

    `targeted` holds each studied therapy's name and target antigens. A therapy whose every target
    the patient's disease lacks cannot work for them (a CD19 CAR-T after a CD19-negative relapse);
    the trial fails only when that holds for every targeted therapy it studies. None when the
    profile says nothing about these antigens.
    """
    profile = patient.profile
    negative, positive = set(profile.antigens_negative), set(profile.antigens_positive)
    therapies = [(name, targets) for name, targets in targeted if targets]
    if not therapies or not (negative | positive) & {t for _, ts in therapies for t in ts}:
        return None
    text = "Trial therapies: " + "; ".join(f"{name} ({', '.join(ts)})" for name, ts in therapies)
    evidence = ", ".join(name for name, _ in therapies)
    hit = [t for _, ts in therapies for t in ts if t in positive]
    if hit:
        reason = f"the trial's therapy targets {', '.join(dict.fromkeys(hit))}, which the disease expresses"
        return Assessment("target", text, "meets", reason, evidence)
    if all(set(ts) <= negative for _, ts in therapies):
        lacking = ", ".join(dict.fromkeys(t for _, ts in therapies for t in ts))
        reason = f"the trial's therapies target {lacking}; the patient's disease is {lacking}-negative"
        return Assessment("target", text, "fails", reason, evidence)
    return None


def _contradicted(assessment: Assessment, related: frozenset[str]) -> Assessment:
    """An excluded disease the trial itself is for is a qualified exclusion ("AML with CNS involvement")."""
    fact = assessment.fact
    if (
        fact is None
        or fact.kind != "disease"
        or fact.polarity != "excluded"
        or assessment.verdict != "fails"
        or fact.value not in related
    ):
        return assessment
    reason = f"the trial is itself for {fact.value}, so this exclusion is qualified: read the criterion"
    return Assessment(assessment.kind, assessment.text, "unknown", reason, assessment.evidence, fact)


def screen(
    profile: Profile,
    facts: Sequence[Fact],
    *,
    disease_tags: Sequence[str] = (),
    knowledge: DiseaseKnowledge | None = None,
    agent_implications: Mapping[str, frozenset[str]] | None = None,
    targeted: Sequence[tuple[str, tuple[str, ...]]] = (),
) -> Screening:
    """The verdict of every fact, of the trial's disease tags and of its therapies' targets, and
    whether the trial clearly fails (`targeted`: each studied therapy's name and target antigens)."""
    known = knowledge or DiseaseKnowledge()
    implications = {**THERAPY_IMPLICATIONS, **(agent_implications or {})}
    patient = _patient(profile, known, implications)
    tag_verdict, score = assess_disease_tags(disease_tags, patient, known)
    # The trial's own diseases and every broader name of them: excluding one of those is qualified.
    related = (
        frozenset().union(*(known.including(tag) for tag in disease_tags)) if disease_tags else frozenset()
    )
    assessed = [_contradicted(_assess(fact, patient, known, implications), related) for fact in facts]
    assessments = _alternatives(assessed)
    target_verdict = assess_targets(targeted, patient)
    if target_verdict is not None:
        assessments.append(target_verdict)
    if not facts:
        reason = "no eligibility facts were read from this trial's criteria: read them on the trial page"
        assessments.append(Assessment("criteria", "Eligibility criteria", "unknown", reason, ""))
    if tag_verdict is not None:
        assessments.insert(0, tag_verdict)
    fails = any(a.verdict == "fails" for a in assessments)
    if fails:
        score = 0
    return Screening(tuple(assessments), "fails" if fails else "candidate", score)


def status_rank(status: str | None) -> int:
    """Open trials first: RECRUITING, then NOT_YET_RECRUITING, …, then every other status."""
    return STATUS_ORDER.index(status) if status in STATUS_ORDER else len(STATUS_ORDER)


def purpose_rank(study_type: str | None, primary_purpose: str | None) -> int:
    """What a patient is screened for first: treatment studies (0), other interventional studies
    (supportive care, diagnostics, prevention: 1), observational studies (2)."""
    if study_type == "OBSERVATIONAL":
        return 2
    return 0 if primary_purpose in (None, "TREATMENT") else 1


def rank_key(
    status: str | None,
    screening: Screening,
    distance_km: float | None = None,
    *,
    purpose: int = 0,
) -> tuple[int, int, int, int, float, int]:
    """Sort key: open first, treatment studies before other interventional and observational ones
    (purpose_rank), then fewer unknowns, then the closer disease match, then the nearest site."""
    distance = distance_km if distance_km is not None else float("inf")
    return (
        status_rank(status),
        purpose,
        screening.unknown_count,
        -screening.disease_match,
        distance,
        -screening.meets_count,
    )
