"""The eligibility parser: sections, negation and "allowed" decide polarity; numbers become bounds."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hemewatch.eligibility.model import FACT_KINDS, POLARITIES, SECTIONS, Fact
from hemewatch.eligibility.parse import parse_eligibility


def study(criteria: str, minimum: str | None = None, maximum: str | None = None) -> dict[str, Any]:
    module: dict[str, Any] = {"eligibilityCriteria": criteria}
    if minimum:
        module["minimumAge"] = minimum
    if maximum:
        module["maximumAge"] = maximum
    return {"protocolSection": {"eligibilityModule": module}}


def keys(criteria: str, **ages: str) -> set[tuple[str, str, str, float | None, float | None]]:
    return {fact.key() for fact in parse_eligibility(study(criteria, **ages))}


def criteria(inclusion: list[str], exclusion: list[str]) -> str:
    lines = ["Inclusion Criteria:", *(f"* {line}" for line in inclusion), "", "Exclusion Criteria:"]
    return "\n".join(lines + [f"* {line}" for line in exclusion])


def test_structured_ages_are_a_record_fact_in_years() -> None:
    (fact,) = parse_eligibility(study("", minimum="30 Days", maximum="17 Years"))
    assert (fact.kind, fact.section, fact.low, fact.high) == ("age", "record", 0.08, 17.0)
    assert fact.describe() == "Age 0.08–17 years"


def test_a_negated_prior_therapy_under_exclusion_and_inclusion_is_excluded() -> None:
    text = criteria(["No prior CD19-directed therapy"], ["Prior treatment with blinatumomab"])
    found = keys(text)
    assert ("prior_therapy", "CD19-directed therapy", "excluded", None, None) in found
    assert ("prior_therapy", "blinatumomab", "excluded", None, None) in found


def test_allowed_is_said_plainly_and_wins_over_the_section() -> None:
    text = criteria([], ["Prior blinatumomab is allowed", "Patients with CNS2 disease are eligible"])
    found = keys(text)
    assert ("prior_therapy", "blinatumomab", "allowed", None, None) in found
    assert ("cns", "CNS involvement", "allowed", None, None) in found


def test_a_condition_on_a_subgroup_allows_what_it_names_and_the_rest_still_counts() -> None:
    text = criteria(
        ["In individuals previously treated with blinatumomab, CD19 expression must be confirmed"],
        ["If prior allogeneic HSCT, active graft-versus-host disease"],
    )
    found = keys(text)
    assert ("prior_therapy", "blinatumomab", "allowed", None, None) in found
    assert ("antigen", "CD19", "required", None, None) in found
    assert not any(key[0] == "prior_therapy" and key[2] != "allowed" for key in found), found


def test_active_cns_disease_under_exclusion_is_excluded_and_cns_function_is_not_involvement() -> None:
    found = keys(
        criteria(["Adequate central nervous system (CNS) function"], ["Patients with active CNS disease"])
    )
    assert [key for key in found if key[0] == "cns"] == [("cns", "CNS involvement", "excluded", None, None)]


def test_antigens_positive_negative_and_therapies_named_by_target() -> None:
    found = keys(
        criteria(
            ["CD22-positive B-ALL", "Leukemic blasts must express CD19"],
            ["CD33 negative disease", "Prior CD19 CAR T-cell therapy"],
        )
    )
    assert ("antigen", "CD22", "required", None, None) in found
    assert ("antigen", "CD19", "required", None, None) in found
    assert ("antigen", "CD33", "required", None, None) in found  # CD33-negative rules the patient out
    assert ("prior_therapy", "CD19 CAR-T", "excluded", None, None) in found
    assert ("disease", "B-ALL", "required", None, None) in found


def test_genetic_findings_required_and_excluded() -> None:
    found = keys(
        criteria(["Philadelphia chromosome-positive ALL", "FLT3-ITD mutated AML"], ["TP53 mutation"])
    )
    assert ("genetic", "Ph+ / BCR::ABL1", "required", None, None) in found
    assert ("genetic", "FLT3 mutation", "required", None, None) in found
    assert ("genetic", "TP53 mutation", "excluded", None, None) in found
    assert ("disease", "ALL", "required", None, None) in found
    negative = keys(criteria(["Ph-negative B-ALL"], []))
    assert ("genetic", "Ph+ / BCR::ABL1", "excluded", None, None) in negative


def test_settings() -> None:
    found = keys(
        criteria(
            ["Relapsed or refractory AML", "In first complete remission", "MRD positive (≥ 0.01%)"],
            ["Patients with newly diagnosed disease"],
        )
    )
    assert ("setting", "relapsed/refractory", "required", None, None) in found
    assert ("setting", "complete remission", "required", None, None) in found
    assert ("setting", "MRD-positive", "required", None, None) in found
    assert ("setting", "newly diagnosed", "excluded", None, None) in found
    assert ("setting", "first relapse", "required", None, None) in keys("B-ALL in first relapse")


@pytest.mark.parametrize(
    ("inclusion", "exclusion", "bound"),
    [
        (["ECOG performance status 0-2"], [], ("ECOG", None, 2.0)),
        (["ECOG performance status of 0 or 1"], [], ("ECOG", None, 1.0)),
        (["ECOG ≤ 2"], [], ("ECOG", None, 2.0)),
        ([], ["ECOG performance status ≥ 3"], ("ECOG", None, 2.0)),
        (["Karnofsky ≥ 60%"], [], ("Karnofsky", 60.0, None)),
        (["Lansky score of at least 50"], [], ("Lansky", 50.0, None)),
        ([], ["Karnofsky < 50%"], ("Karnofsky", 50.0, None)),
    ],
)
def test_performance_limits(inclusion: list[str], exclusion: list[str], bound: tuple[str, Any, Any]) -> None:
    scale, low, high = bound
    assert ("performance", scale, "required", low, high) in keys(criteria(inclusion, exclusion))


@pytest.mark.parametrize(
    ("line", "section", "bounds"),
    [
        ("Age 18-65 years", "inclusion", (18.0, 65.0)),
        ("Patients aged ≥ 18 years", "inclusion", (18.0, None)),
        ("Age < 18 years", "inclusion", (None, 17.0)),
        ("Age < 18 years", "exclusion", (18.0, None)),
        ("Patients older than 75 years of age", "exclusion", (None, 75.0)),
    ],
)
def test_ages_in_text(line: str, section: str, bounds: tuple[float | None, float | None]) -> None:
    text = criteria([line], []) if section == "inclusion" else criteria([], [line])
    assert ("age", "years", "required", *bounds) in keys(text)


def test_prior_lines_and_washouts() -> None:
    found = keys(criteria(["Received at least 2 prior lines of therapy"], ["More than 3 prior regimens"]))
    assert ("prior_lines", "lines", "required", 2.0, None) in found
    assert ("prior_lines", "lines", "required", None, 3.0) in found
    # A washout says when, not whether: it does not exclude the therapy.
    washout = keys(criteria([], ["Allogeneic HSCT within 3 months prior to enrollment"]))
    assert not [key for key in washout if key[0] == "prior_therapy"]
    assert ("prior_therapy", "allogeneic HSCT", "excluded", None, None) in keys(
        criteria([], ["Prior allogeneic stem cell transplantation"])
    )


def test_donor_criteria_are_left_out_and_evidence_is_the_criterion() -> None:
    text = "\n".join(
        [
            "Inclusion Criteria:",
            "* Relapsed AML",
            "Donor inclusion criteria:",
            "* Donor age 18 to 60 years",
        ]
    )
    facts = parse_eligibility(study(text))
    assert not [fact for fact in facts if fact.kind == "age"]
    (setting,) = [fact for fact in facts if fact.kind == "setting"]
    assert setting.evidence == "Relapsed AML" and setting.section == "inclusion"


def test_no_criteria_no_facts() -> None:
    assert parse_eligibility({}) == ()
    assert parse_eligibility({"protocolSection": {"eligibilityModule": {"eligibilityCriteria": None}}}) == ()


_WORDS = st.sampled_from(
    [
        "no", "prior", "CD19", "CAR-T", "relapsed", "AML", "ECOG", "0-2", "allowed", "excluded", "CNS3",
        "≥", "18", "years", "age", "Ph+", "blinatumomab", "negative", "except", "Karnofsky", "60%", ";", ".",
    ]
)  # fmt: skip


@settings(max_examples=150)
@given(st.lists(st.lists(_WORDS, max_size=12).map(" ".join), max_size=6), st.booleans())
def test_any_text_gives_facts_in_the_vocabulary_with_their_evidence(lines: list[str], headed: bool) -> None:
    text = criteria(lines, lines) if headed else "\n".join(lines)
    facts = parse_eligibility(study(text))
    assert len({fact.key() for fact in facts}) == len(facts)
    for fact in facts:
        assert fact.kind in FACT_KINDS and fact.polarity in POLARITIES and fact.section in SECTIONS
        assert (fact.evidence and fact.evidence in " ".join(text.split())) or fact.section == "record"
        if fact.low is not None and fact.high is not None:
            assert fact.low <= fact.high or fact.kind != "age"
        assert Fact.from_dict(fact.to_dict()) == fact


def test_examples_of_a_required_class_are_not_each_required_but_excluded_examples_are() -> None:
    required = keys(criteria(["Must have failed a TKI (e.g. imatinib, dasatinib)"], []))
    assert ("prior_therapy", "TKI", "required", None, None) in required
    assert not {key for key in required if key[1] in ("imatinib", "dasatinib")}
    excluded = keys(criteria([], ["Prior CD19-directed therapy (e.g. blinatumomab)"]))
    assert ("prior_therapy", "blinatumomab", "excluded", None, None) in excluded
