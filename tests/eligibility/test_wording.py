"""The parser's faster searches find what the plain ones found: case-insensitive patterns, one term search."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hemewatch.classification import default_lexicon
from hemewatch.eligibility import patterns, reading
from hemewatch.eligibility.model import Fact
from hemewatch.eligibility.parse import criteria, parse_criteria
from hemewatch.eligibility.patterns import Wording
from hemewatch.eligibility.reading import Clause, read_clause

WORDINGS = sorted(
    {
        (f"{module.__name__}.{name}", value)
        for module in (patterns, reading)
        for name, value in vars(module).items()
        if isinstance(value, Wording)
    }
    | {(f"GENES {name}", pattern) for name, pattern in patterns.GENES},
    key=lambda item: item[0],
)

# Criteria-like text: the patterns' own words in any case, numbers, symbols, and characters where
# case-insensitive matching is not a matter of ASCII (the Kelvin sign, a long s, a dotless i, "İ").
WORDS = (
    "Age AGED years yrs old ≥ >= 18 75 2.5 - – to Prior NO not allowed PERMITTED eligible for within before"
    " ECOG 0-2 Karnofsky 60% CNS 3 relapsed Refractory MRD positive CR1 Ph+ BCR-ABL1 FLT3-ITD KMT2A e.g."
    " naïve NAÏVE lines two regimens donor if In patients \u212a \u017f \u0131 \u0130 \u03a3"
)
PIECES = st.sampled_from(
    [*WORDS.split(), " ", ", ", "; ", ". ", "(", ")", "the study", "14 days", "≥ 60%", "if "]
)
TEXTS = st.lists(PIECES, max_size=30).map("".join)


def _found(match: re.Match[str] | None) -> tuple[object, ...] | None:
    if match is None:
        return None
    # In ASCII text a match holds the text lower-cased: the parser reads its groups lower-cased or as digits.
    return (match.span(), *[g.lower() if g is not None else None for g in match.groups()])


@pytest.mark.parametrize(("name", "wording"), WORDINGS, ids=[name for name, _ in WORDINGS])
@settings(max_examples=60)
@given(text=TEXTS)
def test_a_wording_finds_what_its_pattern_finds(name: str, wording: Wording, text: str) -> None:
    plain = wording.anycase
    assert _found(wording.search(text)) == _found(plain.search(text))
    assert _found(wording.match(text)) == _found(plain.match(text))
    assert [_found(m) for m in wording.finditer(text)] == [_found(m) for m in plain.finditer(text)]


def test_a_pattern_that_lower_case_text_would_not_match_is_refused() -> None:
    with pytest.raises(ValueError, match="upper-case"):
        Wording(r"\bCR\d")
    with pytest.raises(ValueError, match="case-insensitively"):
        Wording("\u212a\\w+")  # the Kelvin sign matches "k"
    assert Wording(r"\W\S\D\B").anycase.pattern == r"\W\S\D\B"  # escapes are not letters


def _one_by_one(text: str) -> list[Fact]:
    """The facts of criteria with each sentence searched for terms on its own, as the parser once did."""
    lexicon = default_lexicon()
    facts: list[Fact] = []
    for section, bullet in criteria(text):
        for sentence in patterns.SENTENCE.split(bullet) if (". " in bullet or "; " in bullet) else (bullet,):
            if sentence.strip():
                clause = Clause(sentence, section, bullet, tuple(lexicon.matcher.find(sentence)))
                facts.extend(read_clause(clause, lexicon))
    return facts


def test_one_search_over_all_sentences_finds_their_facts(real_records: Path) -> None:
    lexicon = default_lexicon()
    lines = (real_records / "ctgov" / "studies.jsonl").read_bytes().splitlines()
    texts = [
        orjson.loads(line)["protocolSection"].get("eligibilityModule", {}).get("eligibilityCriteria") or ""
        for line in lines
    ]
    compared = 0
    for text in texts:
        if text:
            assert parse_criteria(text, lexicon) == _one_by_one(text)
            compared += 1
    assert compared > 100


def test_a_letter_that_lower_cases_to_two_is_searched_sentence_by_sentence() -> None:
    # "İ" lower-cases to two characters and "Σ" to "ς" only at the end of a word: joined with the
    # sentence before it, the criterion would not be folded as it is alone.
    text = "Inclusion Criteria:\n* İstanbul site. No prior ΑΣ\n* Relapsed ALL after blinatumomab. ECOG ≤ 2"
    assert parse_criteria(text, default_lexicon()) == _one_by_one(text)
