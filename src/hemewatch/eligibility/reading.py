"""Read one clause of a criterion into facts: what it names, and whether it requires, allows or excludes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

from hemewatch.classification import Lexicon
from hemewatch.classification.matching import TermMatch
from hemewatch.eligibility import patterns as p
from hemewatch.eligibility.model import AGE, CNS, PRIOR_LINES, Fact, FactKind, Polarity, Section


@dataclass(frozen=True, slots=True)
class Clause:
    """One sentence of a criterion, its section, the whole criterion (the evidence) and its lexicon terms."""

    text: str
    section: Section
    evidence: str
    terms: tuple[TermMatch, ...]
    topics: frozenset[str] = field(init=False)  # what the clause may speak of (_TOPICS), to try few patterns
    says: Polarity | None = field(init=False)  # "… is allowed" / "… are not eligible", said of all it names

    def __post_init__(self) -> None:
        topics = _topics_of(self.text)
        says: Polarity | None = None
        if "polarity" in topics:
            if p.DISALLOWED.search(self.text):
                says = "excluded"
            elif p.ALLOWED.search(self.text):
                says = "allowed"
        object.__setattr__(self, "topics", topics)
        object.__setattr__(self, "says", says)

    @property
    def base(self) -> Polarity:
        """What a plain mention means here: under "Exclusion" it rules the patient out."""
        return "excluded" if self.section == "exclusion" else "required"

    def fact(self, kind: FactKind, value: str, polarity: Polarity, **bounds: float | None) -> Fact:
        """A fact read from this clause, with the whole criterion as its evidence."""
        return Fact(kind, value, polarity, self.section, self.evidence, bounds.get("low"), bounds.get("high"))


# Words without which a reader's patterns cannot match (lower case): a substring test decides which to try.
_TOPICS: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    ("age", ("age", " old")),
    ("performance", ("ecog", "karnofsky", "kps", "lansky", "lanksy", "zubrod", "eastern coop", "who p")),
    ("cns", ("cns", "central nervous", "mening", "brain")),
    ("relapse", ("relap", "refract", "recurr", "r/r", "resist", "induction failure")),
    (
        "newly",
        (
            "newly",
            "new diag",
            "untreated",
            "naive",
            "naïve",
            "first-line",
            "first line",
            "not treated",
            "not been treated",
            "not previously treated",
        ),
    ),
    ("mrd", ("mrd", "residual", "molecular")),
    ("remission", ("remission", "cr")),
    ("lines", ("line", "regimen")),
    ("gene", ("npm1", "flt3", "p53", "17p", "kmt2a", "mll", "bcr", "9;22", "ph")),
    ("expression", ("express", "immunophenotyp", "flow cytometry")),
    ("polarity", ("allow", "permit", "eligib", "acceptable", "regardless", "irrespective", "enrolled")),
    ("polarity", ("participate", "excluded", "included")),
    ("condition", ("if ", "when ", "where ", "in ", "for ")),
)


def _topics_of(text: str) -> frozenset[str]:
    folded = text.casefold()
    found = []
    for topic, words in _TOPICS:
        for word in words:
            if word in folded:
                found.append(topic)
                break
    return frozenset(found)


_FLIP: Final[dict[Polarity, Polarity]] = {
    "required": "excluded",
    "excluded": "required",
    "allowed": "excluded",
}
_EXCEPT: Final[dict[Polarity, Polarity]] = {
    "required": "excluded",
    "excluded": "allowed",
    "allowed": "allowed",
}

# Diseases that name a genetic finding: read as the finding, plus the disease when it is required.
_GENETIC_DISEASES: Final[dict[str, tuple[str, str | None]]] = {
    "Ph+ ALL": ("Ph+ / BCR::ABL1", "ALL"),
    "Ph-positive leukemia": ("Ph+ / BCR::ABL1", None),
    "Ph-like ALL": ("Ph-like", "B-ALL"),
    "FLT3-mutated AML": ("FLT3 mutation", "AML"),
    "NPM1-mutated AML": ("NPM1 mutation", "AML"),
    "TP53-mutated AML": ("TP53 mutation", "AML"),
    "KMT2A-rearranged": ("KMT2A rearrangement", None),
}
_MARKER_GENETICS: Final[dict[str, str]] = {
    "Ph-positive": "Ph+ / BCR::ABL1",
    "Ph-negative": "Ph+ / BCR::ABL1",  # the finding is Ph+; "Ph-negative" negates it
    "Ph-like": "Ph-like",
    "KMT2A": "KMT2A rearrangement",
    "FLT3": "FLT3 mutation",
    "NPM1": "NPM1 mutation",
    "TP53": "TP53 mutation",
}
_SKIPPED_DISEASES: Final = frozenset({"infection", "other", "solid tumor", "other hematologic disorder"})
_SPLIT_DISEASES: Final[dict[str, tuple[str, ...]]] = {"B- or T-ALL": ("B-ALL", "T-ALL"), "CBF AML": ("AML",)}
_MODALITY_THERAPIES: Final[dict[str, str]] = {
    "allogeneic HSCT": "allogeneic HSCT",
    "autologous HSCT": "autologous HSCT",
    "HSCT (type not stated)": "HSCT",
    "tyrosine kinase inhibitor": "TKI",
    "FLT3 inhibitor": "FLT3 inhibitor",
    "IDH inhibitor": "IDH inhibitor",
    "menin inhibitor": "menin inhibitor",
    "hypomethylating agent": "hypomethylating agent",
}
_DIRECTED: Final[dict[str, str]] = {
    "CD19": "CD19-directed therapy",
    "CD22": "CD22-directed therapy",
    "CD33": "CD33-directed therapy",
}
_CAR_TARGETS: Final = ("CD19", "CD22")
_EXAMPLE: Final = p.Wording(r"\b(?:e\.g|i\.e|ie|eg)\b\.?|\bsuch as\b|\bfor example\b|\bincluding\b")
_NAIVE_AFTER: Final = p.Wording(r"^\s*[-\s]?na[iï]ve\b")
_LIST_GAP: Final = p.Wording(r"^\s*(?:[,/]|\bor\b|\band\b|\band/or\b)?\s*(?:\bor\b|\band\b)?\s*$")
_DISEASE_CONTEXT: Final = p.Wording(r"leuka?emi|\bdisease\b|malignan|\ball\b|\baml\b|\bmds\b|lymphoma")
_PERFORMANCE_WINDOW: Final = 110

_AGE_SKIP: Final = p.Wording(
    r"\b(?:karnofsky\b|lansky\b|ecog\b|weigh|donor)|performance status|creatinine|mg/dl"
)
_AGE_SAID: Final = p.Wording(r"\bage|\bold\b|\baged\b")
_AGE_BEFORE: Final = p.Wording(r"\bage")
_UNIT: Final = p.Wording(r"\s*(?:years?|yrs?|months?|days?|weeks?|kg|mg|x)\b")
_SUPPORTIVE: Final = frozenset(
    {
        "supportive care",
        "toxicity management",
        "corticosteroid",
        "GVHD prophylaxis",
        "placebo",
        "non-interventional",
    }
)
_PRIOR_REACH: Final = 90


def read_clause(clause: Clause, lexicon: Lexicon) -> Iterator[Fact]:
    """Every fact one clause states."""
    topics = clause.topics
    if "age" in topics:
        yield from _ages(clause)
    if "performance" in topics:
        yield from _performance(clause)
    cns = p.CNS.search(clause.text) if "cns" in topics else None
    if "cns" in topics:
        yield from _cns(clause)
    yield from _settings(clause)
    if "lines" in topics:
        yield from _prior_lines(clause)
    if clause.terms or "gene" in topics:
        yield from _named(clause, lexicon, diseases_before=len(clause.text) if cns is None else cns.start())


def polarity(clause: Clause, start: int, end: int, *, negative: bool = False) -> Polarity:
    """Whether the term at text[start:end] is required, allowed or excluded, from its section and sentence."""
    text = clause.text
    condition = p.CONDITION.match(text) if "condition" in clause.topics else None
    if condition is not None and end <= condition.end():
        return "allowed"
    if clause.says == "excluded":
        found: Polarity = "excluded"
    elif clause.says == "allowed":
        return "allowed"
    else:
        found = clause.base
        window = text[max(0, start - 90) : start]
        exception = _last(p.EXCEPTION, window)
        if exception is not None and not p.NEGATION_BREAK.search(window[exception:]):
            return _EXCEPT[found]
    window = text[max(0, start - 70) : start]
    negation = _last(p.NEGATION, window)
    if negation is not None and not p.NEGATION_BREAK.search(window[negation:]):
        negative = not negative
    return _FLIP[found] if negative else found


def _last(pattern: p.Wording, text: str) -> int | None:
    end = None
    for match in pattern.finditer(text):
        end = match.end()
    return end


def _ages(clause: Clause) -> Iterator[Fact]:
    text = clause.text
    if not p.AGE_WORD_NEAR.search(text) or not _AGE_SAID.search(text):
        return
    if _AGE_SKIP.search(text):
        return
    ranged = p.AGE_RANGE.search(text) or p.AGE_RANGE_AFTER_AGE.search(text)
    if ranged is not None:
        low, high = float(ranged.group(1)), float(ranged.group(2))
        if low < high <= 120:
            yield clause.fact("age", AGE, "required", low=low, high=high)
        return
    low_bound: float | None = None
    high_bound: float | None = None
    for match in p.AGE_BOUND.finditer(text):
        words, number, unit = match.group(1).lower(), float(match.group(2)), (match.group(3) or "").lower()
        if not unit and not _AGE_BEFORE.search(text[max(0, match.start() - 30) : match.start()]):
            continue
        if unit.startswith("month"):
            number = round(number / 12, 2)
        if number > 120:
            continue
        is_low = p.LOW_START.match(words) is not None
        strict = p.STRICT.match(words) is not None
        if clause.section == "exclusion":  # "age > 75" excluded: at most 75
            is_low, strict = not is_low, not strict
        if is_low and low_bound is None:
            low_bound = number
        elif not is_low and high_bound is None:
            high_bound = number - 1 if strict and number.is_integer() else number
    if low_bound is not None or high_bound is not None:
        yield clause.fact("age", AGE, "required", low=low_bound, high=high_bound)


def _performance(clause: Clause) -> Iterator[Fact]:
    text = clause.text
    for scale, pattern in (("ECOG", p.ECOG), ("Karnofsky", p.KARNOFSKY), ("Lansky", p.LANSKY)):
        match = pattern.search(text)
        if match is None:
            continue
        window = text[match.end() : match.end() + _PERFORMANCE_WINDOW]
        if scale == "ECOG":
            high = _ecog_limit(window, clause.section)
            if high is not None:
                yield clause.fact("performance", scale, "required", high=high)
        else:
            low = _percent_limit(window, clause.section)
            if low is None:  # ">= 50 percent (%) karnofsky scale"
                before = text[max(0, match.start() - 40) : match.start()]
                found = [m for m in p.SCORE_BOUND.finditer(before) if m.group(1)]
                low = _percent_limit(before[found[-1].start() :], clause.section) if found else None
            if low is not None:
                yield clause.fact("performance", scale, "required", low=low)


def _ecog_limit(window: str, section: Section) -> float | None:
    listed = p.SCORE_LIST.search(window[:60])
    for match in p.SCORE_BOUND.finditer(window):
        if listed is not None and listed.start() <= match.start(2):
            numbers = [int(n) for n in listed.groups() if n is not None]
            return float(max(numbers)) if section != "exclusion" else float(min(numbers) - 1)
        number = int(match.group(2))
        if number > 4 or _unit_follows(window, match.end()):
            continue
        words = (match.group(1) or "").lower()
        strict = p.STRICT.match(words) is not None
        if p.LOW_START.match(words):  # "ECOG ≥ 3" (an exclusion): at most 2
            return float(number - 1 if not strict else number)
        return float(number - 1 if strict else number)
    if listed is not None:
        numbers = [int(n) for n in listed.groups() if n is not None]
        return float(max(numbers))
    return None


def _percent_limit(window: str, section: Section) -> float | None:
    for match in p.SCORE_BOUND.finditer(window):
        number = int(match.group(2))
        if number < 10 or number > 100 or _unit_follows(window, match.end()):
            continue
        words = (match.group(1) or "").lower()
        strict = p.STRICT.match(words) is not None
        if p.LOW_START.match(words) or words in {"", "of", "is", "score", "status", "("}:
            return float(number + 10 if strict else number)
        # "Karnofsky < 50" (an exclusion): at least 50
        return float(number if strict else number + 10) if section == "exclusion" else None
    return None


def _unit_follows(window: str, end: int) -> bool:
    return _UNIT.match(window[end:]) is not None


def _cns(clause: Clause) -> Iterator[Fact]:
    match = p.CNS.search(clause.text)
    if match is not None:
        yield clause.fact("cns", CNS, polarity(clause, match.start(), match.end()))
        return
    none = p.CNS_NONE.search(clause.text)
    if none is not None:  # CNS1: no involvement
        yield clause.fact("cns", CNS, polarity(clause, none.start(), none.end(), negative=True))


_SETTINGS: Final[tuple[tuple[str, p.Wording], ...]] = (
    ("relapsed/refractory", p.RELAPSED_REFRACTORY),
    ("first relapse", p.FIRST_RELAPSE),
    ("second or later relapse", p.LATER_RELAPSE),
    ("post-HSCT relapse", p.POST_HSCT_RELAPSE),
)


def _settings(clause: Clause) -> Iterator[Fact]:
    text, topics = clause.text, clause.topics
    relapse = False
    for value, pattern in _SETTINGS if "relapse" in topics else ():
        match = pattern.search(text)
        if match is not None:
            relapse = True
            yield clause.fact("setting", value, polarity(clause, match.start(), match.end()))
    if not relapse and "relapse" in topics:
        relapsed, refractory = p.RELAPSED.search(text), p.REFRACTORY.search(text)
        if relapsed is not None and refractory is not None:
            first = min(relapsed.start(), refractory.start())
            yield clause.fact("setting", "relapsed/refractory", polarity(clause, first, first))
        elif relapsed is not None:
            yield clause.fact("setting", "relapsed", polarity(clause, relapsed.start(), relapsed.end()))
        elif refractory is not None:
            yield clause.fact("setting", "refractory", polarity(clause, refractory.start(), refractory.end()))
    newly = p.NEWLY_DIAGNOSED.search(text) if "newly" in topics else None
    if newly is not None and _DISEASE_CONTEXT.search(text):
        yield clause.fact("setting", "newly diagnosed", polarity(clause, newly.start(), newly.end()))
    mrd = p.MRD_POSITIVE.search(text) if "mrd" in topics else None
    if mrd is not None:
        yield clause.fact("setting", "MRD-positive", polarity(clause, mrd.start(), mrd.end()))
    remission = p.COMPLETE_REMISSION.search(text) if "remission" in topics else None
    if remission is not None and not p.REMISSION_NOISE.search(text):
        yield clause.fact(
            "setting", "complete remission", polarity(clause, remission.start(), remission.end())
        )


def _prior_lines(clause: Clause) -> Iterator[Fact]:
    match = p.LINES.search(clause.text)
    if match is None:
        return
    words = (match.group(1) or "").lower()
    count = p.NUMBER_WORDS.get(match.group(2).lower()) or int(match.group(2))
    said = match.group(0).lower()
    upper = words in {
        "no more than",
        "at most",
        "≤",
        "<=",
        "<",
        "up to",
        "maximum of",
        "fewer than",
        "less than",
    }
    upper = upper or "or fewer" in said or "or less" in said
    strict = words in {">", "more than", "<", "fewer than", "less than"}
    if clause.section == "exclusion":  # "more than 3 prior lines" excluded: at most 3
        upper, strict = not upper, not strict
    if upper:
        yield clause.fact("prior_lines", PRIOR_LINES, "required", high=float(count - 1 if strict else count))
    else:
        yield clause.fact("prior_lines", PRIOR_LINES, "required", low=float(count + 1 if strict else count))


def _named(clause: Clause, lexicon: Lexicon, *, diseases_before: int) -> Iterator[Fact]:
    """Diseases, genetic findings, antigens and prior therapies the lexicon names in the clause.

    Diseases named after a CNS mention ("CNS involvement by leukemia or lymphoma") say where, not what.
    """
    text = clause.text
    therapies = any(hit.kind in ("agent", "modality", "target") for term in clause.terms for hit in term.hits)
    prior = therapies and p.PRIOR_CUE.search(text) is not None
    post_hsct = "relapse" in clause.topics and p.POST_HSCT_RELAPSE.search(text) is not None
    found_diseases: list[tuple[TermMatch, str]] = []
    markers: list[tuple[TermMatch, str]] = []
    targets: list[TermMatch] = []
    for term in clause.terms:
        for hit in term.hits:
            if hit.kind == "disease":
                found_diseases.append((term, hit.entry))
            elif hit.kind == "marker":
                markers.append((term, hit.entry))
            elif hit.kind == "target":
                targets.append(term)
            elif prior and hit.kind == "agent" and _is_prior(text, term):
                yield from _agent(clause, lexicon, term, hit.entry)
            elif prior and hit.kind == "modality" and _is_prior(text, term):
                # "relapse after HSCT" is a setting, not a prior-therapy requirement
                yield from () if post_hsct and "HSCT" in hit.entry else _modality(clause, term, hit.entry)
    yield from _diseases(
        clause, lexicon, [(t, e) for t, e in found_diseases if t.start < diseases_before], markers
    )
    yield from _genetics(clause, markers)
    yield from _targets(clause, lexicon, targets, prior=prior)


def _is_prior(text: str, term: TermMatch) -> bool:
    """A therapy the patient had: a cue ("prior", "failed", "received") shortly before it, no washout."""
    window = text[max(0, term.start - _PRIOR_REACH) : term.start]
    cue = None
    for match in p.PRIOR_CUE.finditer(window):
        cue = match
    if cue is None or ";" in window[cue.end() :]:
        return _NAIVE_AFTER.match(text[term.end :]) is not None
    return p.RECENCY.search(window[max(0, cue.start() - 40) :] + text[term.start : term.end + 50]) is None


def _diseases(
    clause: Clause, lexicon: Lexicon, found: list[tuple[TermMatch, str]], markers: list[tuple[TermMatch, str]]
) -> Iterator[Fact]:
    if not found:
        return
    subtypes = {
        disease: subtype
        for _, marker in markers
        for disease, subtype in lexicon.markers[marker].subtypes
        if marker in lexicon.markers
    }
    leading = _leading_run(clause.text, [term for term, _ in found])
    for term, entry in found:
        entry = subtypes.get(entry, entry)
        disease = lexicon.diseases.get(entry)
        if disease is None or entry in _SKIPPED_DISEASES:
            continue
        if clause.section == "exclusion" and term.start > 60 and term.start not in leading:
            continue  # an exclusion names what it excludes first; later mentions are context
        polarity_ = polarity(clause, term.start, term.end)
        genetic = _GENETIC_DISEASES.get(entry)
        if genetic is not None:
            finding, base = genetic
            yield clause.fact("genetic", finding, polarity_)
            if base is not None and polarity_ == "required":
                yield clause.fact("disease", base, polarity_)
            continue
        if entry == "Ph-negative ALL":
            yield clause.fact("disease", "ALL", polarity_)
            yield clause.fact("genetic", "Ph+ / BCR::ABL1", _FLIP[polarity_])
            continue
        if disease.catch_all:
            continue
        for name in _SPLIT_DISEASES.get(entry, (entry,)):
            yield clause.fact("disease", name, polarity_)


def _leading_run(text: str, terms: list[TermMatch]) -> set[int]:
    """Starts of the terms listed one after another from a first term near the clause's start."""
    starts: set[int] = set()
    last = 0
    for term in sorted(terms, key=lambda t: t.start):
        if (not starts and term.start <= 60) or (starts and p_gap(text[last : term.start])):
            starts.add(term.start)
            last = term.end
        elif starts:
            break
    return starts


def _genetics(clause: Clause, markers: list[tuple[TermMatch, str]]) -> Iterator[Fact]:
    text = clause.text
    named: set[str] = set()
    for term, marker in markers:
        after = text[term.end : term.end + 30]
        if p.THERAPY_AFTER.match(after) or p.THERAPY_BEFORE.search(
            text[max(0, term.start - 40) : term.start]
        ):
            continue
        negative = marker == "Ph-negative" or p.NEGATIVE_AFTER.match(after) is not None
        polarity_ = polarity(clause, term.start, term.end, negative=negative)
        if marker == "IDH":
            said = text[term.start : term.end + 8]
            names = [name for name, pattern in (("IDH1", p.IDH1), ("IDH2", p.IDH2)) if pattern.search(said)]
            for name in names or ["IDH1", "IDH2"]:
                yield clause.fact("genetic", f"{name} mutation", polarity_)
            continue
        finding = _MARKER_GENETICS.get(marker)
        if finding is not None:
            named.add(finding)
            yield clause.fact("genetic", finding, polarity_)
    for finding, pattern in p.GENES if "gene" in clause.topics else ():
        match = pattern.search(text) if finding not in named else None
        if match is not None and not p.THERAPY_BEFORE.search(
            text[max(0, match.start() - 40) : match.start()]
        ):
            negative = p.NEGATIVE_AFTER.match(text[match.end() : match.end() + 30]) is not None
            yield clause.fact(
                "genetic", finding, polarity(clause, match.start(), match.end(), negative=negative)
            )


def _targets(clause: Clause, lexicon: Lexicon, targets: list[TermMatch], *, prior: bool) -> Iterator[Fact]:
    text = clause.text
    for group in _runs(text, targets):
        first, last = group[0], group[-1]
        before, after = text[max(0, first.start - 40) : first.start], text[last.end : last.end + 40]
        for term in group:
            name = term.hits[0].entry
            entry = lexicon.targets.get(name)
            if entry is None or entry.checkpoint:
                continue
            own_after = text[term.end : term.end + 40]
            if (
                p.DIRECTED_AFTER.match(own_after)
                or p.DIRECTED_AFTER.match(after)
                or p.DIRECTED_BEFORE.search(before)
            ):
                if prior and name in _DIRECTED and not _car_follows(clause, term):
                    yield clause.fact(
                        "prior_therapy", _DIRECTED[name], polarity(clause, term.start, term.end)
                    )
                continue
            negative = (
                p.NEGATIVE_AFTER.match(after) is not None or p.NEGATIVE_BEFORE.search(before) is not None
            )
            positive = (
                p.POSITIVE_AFTER.match(after) is not None or p.EXPRESSION_BEFORE.search(before) is not None
            )
            if negative or positive or "expression" in clause.topics:
                yield clause.fact("antigen", name, polarity(clause, term.start, term.end, negative=negative))


def _runs(text: str, targets: list[TermMatch]) -> Iterator[list[TermMatch]]:
    """Targets named one after another ("CD19, CD20 or CD22") share what surrounds the list."""
    group: list[TermMatch] = []
    for term in targets:
        if group and not p_gap(text[group[-1].end : term.start]):
            yield group
            group = []
        group.append(term)
    if group:
        yield group


def p_gap(between: str) -> bool:
    """True when only a list separator stands between two terms."""
    return _LIST_GAP.match(between) is not None


def _car_follows(clause: Clause, term: TermMatch) -> bool:
    return any(
        hit.kind in ("modality", "agent") and hit.entry in ("CAR-T",) and 0 <= other.start - term.end <= 25
        for other in clause.terms
        for hit in other.hits
    )


def _an_example(text: str, term: TermMatch) -> bool:
    """A therapy given as an example ("standard induction (e.g. 7+3 with cytarabine)"): the requirement
    is the class it illustrates, not each example (an exclusion of examples still excludes each)."""
    window = text[max(0, term.start - 80) : term.start]
    cue = _last(_EXAMPLE, window)
    return cue is not None and ")" not in window[cue:] and ";" not in window[cue:]


def _agent(clause: Clause, lexicon: Lexicon, term: TermMatch, name: str) -> Iterator[Fact]:
    entry = lexicon.agents.get(name)
    if entry is None or entry.modality in _SUPPORTIVE:
        return
    negative = _NAIVE_AFTER.match(clause.text[term.end :]) is not None
    polarity_ = polarity(clause, term.start, term.end, negative=negative)
    if polarity_ == "required" and _an_example(clause.text, term):
        return
    if entry.modality == "CAR-T":
        targets = [t for t in _CAR_TARGETS if t in entry.targets]
        yield clause.fact("prior_therapy", f"{targets[0]} CAR-T" if targets else "CAR-T", polarity_)
        return
    yield clause.fact("prior_therapy", name, polarity_)


def _modality(clause: Clause, term: TermMatch, modality: str) -> Iterator[Fact]:
    text = clause.text
    negative = _NAIVE_AFTER.match(text[term.end :]) is not None
    polarity_ = polarity(clause, term.start, term.end, negative=negative)
    if polarity_ == "required" and _an_example(text, term):
        return
    if modality == "CAR-T":
        target = next(
            (
                hit.entry
                for other in clause.terms
                for hit in other.hits
                if hit.kind == "target" and hit.entry in _CAR_TARGETS and 0 <= term.start - other.end <= 25
            ),
            None,
        )
        yield clause.fact("prior_therapy", f"{target} CAR-T" if target else "CAR-T", polarity_)
        return
    if modality == "chemotherapy":
        if p.INTENSIVE.search(text):
            yield clause.fact("prior_therapy", "intensive chemotherapy", polarity_)
        return
    value = _MODALITY_THERAPIES.get(modality)
    if value is not None:
        yield clause.fact("prior_therapy", value, polarity_)
