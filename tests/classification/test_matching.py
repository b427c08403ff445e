"""The one-pass term matcher: separators, case, word boundaries and longest match."""

from __future__ import annotations

import pickle

import pytest

from hemewatch.classification.matching import Hit, TermMatcher
from hemewatch.classification.terms import expand_template, spelling_variants

MATCHER = TermMatcher.build(
    [
        ("AMG 103", Hit("agent", "blinatumomab"), False),
        ("acute myeloid leukemia", Hit("disease", "AML"), False),
        ("acute myeloid", Hit("disease", "partial"), False),
        ("CD19", Hit("target", "CD19"), False),
        ("r/r", Hit("setting", "rr"), False),
        ("ALL", Hit("disease", "ALL"), True),
        ("Leukemia, Myeloid, Acute", Hit("disease", "AML-mesh"), False),
    ]
)


def _found(text: str) -> list[tuple[str, str]]:
    return [(text[m.start : m.end], m.hits[0].entry) for m in MATCHER.find(text)]


@pytest.mark.parametrize("written", ["AMG 103", "AMG-103", "AMG103", "amg  103", "AMG_103"])
def test_code_names_match_with_or_without_separators(written: str) -> None:
    assert _found(f"Drug: {written}.") == [(written, "blinatumomab")]


def test_longest_term_wins() -> None:
    assert _found("Acute Myeloid Leukemia (AML)") == [("Acute Myeloid Leukemia", "AML")]


def test_terms_do_not_match_inside_words_or_numbers() -> None:
    assert _found("CD190 and XCD19 and CD19a") == [("CD19", "CD19")]


def test_letters_need_a_separator_where_the_term_has_one() -> None:
    assert _found("rr interval, R/R disease") == [("R/R", "rr")]


def test_abbreviations_are_case_sensitive() -> None:
    assert _found("ALL patients with ALL") == [("ALL", "ALL"), ("ALL", "ALL")]
    assert _found("all patients with all") == []


def test_text_in_capitals_does_not_yield_abbreviations() -> None:
    assert _found("A TRIAL OPEN TO ALL PATIENTS") == []


def test_offsets_hold_for_non_ascii_text() -> None:
    text = "Patients ≥ 18 years with acute myeloid leukæmia or Acute Myeloid Leukemia"
    assert _found(text) == [("acute myeloid", "partial"), ("Acute Myeloid Leukemia", "AML")]


def test_mesh_style_inverted_headings_match() -> None:
    assert _found("Leukemia, Myeloid, Acute") == [("Leukemia, Myeloid, Acute", "AML-mesh")]


def test_find_each_keeps_texts_apart() -> None:
    results = MATCHER.find_each(["acute myeloid", "leukemia", "CD19"])
    assert [[(m.start, m.end) for m in found] for found in results] == [[(0, 13)], [], [(0, 4)]]


def test_templates_and_spelling_variants() -> None:
    assert expand_template("acute {myeloid|lymphoid} {leukemia|}") == [
        "acute myeloid leukemia",
        "acute myeloid",
        "acute lymphoid leukemia",
        "acute lymphoid",
    ]
    assert spelling_variants("pediatric leukemia") == {
        "pediatric leukemia",
        "paediatric leukemia",
        "pediatric leukaemia",
        "paediatric leukaemia",
    }
    with pytest.raises(ValueError, match="unbalanced"):
        expand_template("acute {myeloid")


def test_a_matcher_travels_without_its_compiled_pattern_and_finds_the_same_terms() -> None:
    text = "Relapsed acute myeloid leukemia (AML) or ALL, CD19+, after AMG-103; r/r"
    expected = MATCHER.find(text)
    travelled = pickle.loads(pickle.dumps(MATCHER, protocol=pickle.HIGHEST_PROTOCOL))
    # What a worker process receives: the terms and the pattern's text, compiled when first needed.
    assert travelled._compiled is None and travelled._cache == {}
    assert travelled.find(text) == expected
    assert travelled.compile() is travelled.compile()
