"""Read a study's eligibility criteria into facts, each with its evidence sentence (pure).

Each criterion (one bullet of the criteria, as history's splitter cuts them) is read clause by
clause. What is named comes from the classifier lexicon (diseases, markers, agents, modalities,
targets); how it counts comes from the section and the sentence: under "Exclusion" a finding rules
the patient out, a negation before it ("no prior …", "without …", "CD19-negative") turns it round,
and "… is allowed" says plainly that it does not rule the patient out.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

from hemewatch.classification import Lexicon, default_lexicon
from hemewatch.classification.matching import TermMatch
from hemewatch.eligibility import patterns as p
from hemewatch.eligibility.model import AGE, Fact, Section
from hemewatch.eligibility.reading import Clause, read_clause
from hemewatch.text import criteria_texts

# Bump when the parser reads criteria differently: stored facts of every version are then redone.
PARSER_VERSION: Final = 1

_SECTIONS: Final[dict[str, Section]] = {"inclusion": "inclusion", "exclusion": "exclusion"}
_AGE_UNITS: Final = {"year": 1.0, "month": 1 / 12, "week": 7 / 365.25, "day": 1 / 365.25}

__all__ = ["PARSER_VERSION", "parse_criteria", "parse_eligibility", "record_ages"]


def parse_eligibility(study: Mapping[str, Any], lexicon: Lexicon | None = None) -> tuple[Fact, ...]:
    """The eligibility facts of a study record: structured ages first, then the criteria's, in order."""
    protocol = study.get("protocolSection")
    found = protocol.get("eligibilityModule") if isinstance(protocol, Mapping) else None
    module: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    facts = list(record_ages(module))
    text = module.get("eligibilityCriteria")
    if isinstance(text, str):
        facts.extend(parse_criteria(text, lexicon or default_lexicon()))
    return unique_facts(facts)


def record_ages(module: Mapping[str, Any]) -> Iterator[Fact]:
    """The structured minimum and maximum ages as one fact of section "record" (none when neither)."""
    low, high = _years(module.get("minimumAge")), _years(module.get("maximumAge"))
    if low is None and high is None:
        return
    said = "; ".join(
        f"{name} {value}"
        for name, value in (
            ("minimum age", module.get("minimumAge")),
            ("maximum age", module.get("maximumAge")),
        )
        if isinstance(value, str) and value.strip()
    )
    yield Fact("age", AGE, "required", "record", said, low=low, high=high)


def _years(value: object) -> float | None:
    if not isinstance(value, str):
        return None
    parts = value.split()
    if len(parts) != 2:
        return None
    try:
        number = float(parts[0])
    except ValueError:
        return None
    unit = _AGE_UNITS.get(parts[1].lower().rstrip("s"))
    return None if unit is None else round(number * unit, 2)


def parse_criteria(text: str, lexicon: Lexicon) -> list[Fact]:
    """The facts of criteria text, clause by clause, in the order the criteria give them."""
    sentences: list[tuple[str, Section, str]] = []
    for section, bullet in criteria(text):
        for sentence in p.SENTENCE.split(bullet) if (". " in bullet or "; " in bullet) else (bullet,):
            if sentence.strip():
                sentences.append((sentence, section, bullet))
    found = _terms(lexicon, [sentence for sentence, _, _ in sentences])
    facts: list[Fact] = []
    for (sentence, section, bullet), terms in zip(sentences, found, strict=True):
        facts.extend(read_clause(Clause(sentence, section, bullet, tuple(terms)), lexicon))
    return facts


def criteria(text: str) -> Iterator[tuple[Section, str]]:
    """Each criterion with its section; criteria for donors (not the patients studied) left out."""
    section: Section = "unsectioned"
    donors, previous = False, "criteria"
    for heading, display in criteria_texts(text):
        if heading != previous:
            previous, donors = heading, False
            section = _SECTIONS.get(heading, section)
        header = p.HEADER.match(display) if len(display) < 90 else None
        if header is not None:
            # A heading the splitter keeps as a line ("Donor inclusion criteria", "Exclusion, part B:").
            donors = p.DONOR.search(display) is not None
            section = "inclusion" if header.group(1).lower() == "inclusion" else "exclusion"
        elif not donors:
            yield section, display


def _terms(lexicon: Lexicon, sentences: list[str]) -> list[list[TermMatch]]:
    """The lexicon's terms in each sentence, found in one pass over all of them (one search per record).

    The same as searching each sentence alone, except where lower-casing changes a text's length ("İ"):
    the matcher then folds the joined text character by character, which can differ from folding a
    sentence whole (a final "Σ"), so those records are searched sentence by sentence.
    """
    joined = "".join(sentences)
    if not joined.isascii() and len(joined.lower()) != len(joined):
        return [lexicon.matcher.find(sentence) for sentence in sentences]
    return lexicon.matcher.find_each(sentences)


def unique_facts(facts: list[Fact]) -> tuple[Fact, ...]:
    """The facts with each key once (its first evidence kept), in order."""
    seen: set[tuple[str, str, str, float | None, float | None]] = set()
    kept: list[Fact] = []
    for fact in facts:
        key = fact.key()
        if key not in seen:
            seen.add(key)
            kept.append(fact)
    return tuple(kept)
