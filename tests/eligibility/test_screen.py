"""The pre-screen matcher: a verdict per fact, implications, polarity, alternatives, outcome and ranking."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hemewatch.classification.lexicon import default_lexicon
from hemewatch.eligibility.model import GENETICS, Fact
from hemewatch.eligibility.profile_values import UnknownProfileValue, parse_finding, parse_setting
from hemewatch.eligibility.screen import (
    DiseaseKnowledge,
    Profile,
    Screening,
    expand_settings,
    expand_therapies,
    purpose_rank,
    rank_key,
    screen,
    status_rank,
)
from hemewatch.pipeline.prescreen import agent_implications, disease_knowledge

KNOWLEDGE = disease_knowledge(default_lexicon())
AGENTS = agent_implications(default_lexicon())


def fact(
    kind: str,
    value: str,
    polarity: str = "required",
    *,
    low: float | None = None,
    high: float | None = None,
    evidence: str | None = None,
    section: str = "inclusion",
) -> Fact:
    written = evidence or f"{kind} {value} {polarity}"
    return Fact(kind, value, polarity, section, written, low, high)  # type: ignore[arg-type]


def one(profile: Profile, item: Fact) -> str:
    """The verdict of one fact alone."""
    result = screen(profile, [item], knowledge=KNOWLEDGE, agent_implications=AGENTS)
    (assessment,) = result.assessments
    assert assessment.evidence == item.evidence and assessment.fact is item
    return assessment.verdict


POST_CAR_T = Profile(
    age=34,
    disease="B-ALL",
    settings=("relapsed",),
    prior_therapies=("CD19 CAR-T",),
    antigens_positive=("CD22",),
    antigens_negative=("CD19",),
)


def test_age_bounds_are_inclusive_and_unknown_without_an_age() -> None:
    assert one(Profile(age=18), fact("age", "years", low=18, section="record")) == "meets"
    assert one(Profile(age=17.9), fact("age", "years", low=18)) == "fails"
    assert one(Profile(age=75), fact("age", "years", low=18, high=75)) == "meets"
    assert one(Profile(), fact("age", "years", low=18)) == "unknown"


@pytest.mark.parametrize(
    ("antigen", "polarity", "expected"),
    [
        ("CD22", "required", "meets"),
        ("CD19", "required", "fails"),
        ("CD33", "required", "unknown"),
        ("CD19", "excluded", "meets"),  # a trial for CD19-negative relapse
        ("CD22", "excluded", "fails"),
        ("CD19", "allowed", "meets"),
    ],
)
def test_antigen_polarity(antigen: str, polarity: str, expected: str) -> None:
    assert one(POST_CAR_T, fact("antigen", antigen, polarity)) == expected


@pytest.mark.parametrize(
    ("therapy", "polarity", "expected"),
    [
        ("CD19 CAR-T", "excluded", "fails"),
        ("CAR-T", "excluded", "fails"),  # CD19 CAR-T is a CAR-T
        ("CD19-directed therapy", "excluded", "fails"),
        ("CD19-directed therapy", "required", "meets"),
        ("CD22-directed therapy", "excluded", "meets"),  # not given
        ("blinatumomab", "excluded", "meets"),
        ("allogeneic HSCT", "required", "fails"),
        ("HSCT", "excluded", "meets"),
        ("CD19 CAR-T", "allowed", "meets"),
    ],
)
def test_prior_therapy_implications(therapy: str, polarity: str, expected: str) -> None:
    assert one(POST_CAR_T, fact("prior_therapy", therapy, polarity)) == expected


def test_agents_imply_their_classes_and_a_broader_therapy_leaves_the_narrower_open() -> None:
    assert expand_therapies(["blinatumomab"]) >= {"CD19-directed therapy"}
    assert expand_therapies(["inotuzumab ozogamicin"]) >= {"CD22-directed therapy"}
    kymriah = Profile(prior_therapies=("tisagenlecleucel",))
    assert one(kymriah, fact("prior_therapy", "CD19 CAR-T", "excluded")) == "fails"
    assert one(Profile(prior_therapies=("gilteritinib",)), fact("prior_therapy", "FLT3 inhibitor")) == "meets"
    # "CAR-T" given: whether it was directed at CD19 is not known.
    assert (
        one(Profile(prior_therapies=("CAR-T",)), fact("prior_therapy", "CD19 CAR-T", "excluded")) == "unknown"
    )


def test_a_treated_patient_may_not_list_the_first_line_backbone() -> None:
    relapsed = Profile(settings=("relapsed",), prior_therapies=("CD19 CAR-T",))
    assert one(relapsed, fact("prior_therapy", "intensive chemotherapy")) == "unknown"
    newly = Profile(settings=("newly diagnosed",))
    assert one(newly, fact("prior_therapy", "intensive chemotherapy")) == "fails"


@pytest.mark.parametrize(
    ("settings", "value", "expected"),
    [
        (("first relapse",), "relapsed", "meets"),
        (("first relapse",), "relapsed/refractory", "meets"),
        (("relapsed",), "first relapse", "unknown"),
        (("relapsed/refractory",), "refractory", "unknown"),
        (("relapsed",), "newly diagnosed", "fails"),
        (("MRD-positive",), "complete remission", "meets"),
        ((), "relapsed", "unknown"),
    ],
)
def test_settings(settings: tuple[str, ...], value: str, expected: str) -> None:
    assert one(Profile(settings=settings), fact("setting", value)) == expected


def test_a_treated_patient_without_a_listed_history_leaves_prior_therapies_open() -> None:
    untold = Profile(settings=("relapsed",))
    assert one(untold, fact("prior_therapy", "CAR-T")) == "unknown"
    assert one(untold, fact("prior_therapy", "CAR-T", "excluded")) == "unknown"
    assert one(Profile(settings=("newly diagnosed",)), fact("prior_therapy", "CAR-T", "excluded")) == "meets"
    # "Relapse after CAR-T, OR relapse after HSCT", in two bullets: one met is enough.
    after = [fact("prior_therapy", "CAR-T"), fact("prior_therapy", "allogeneic HSCT")]
    assert screen(POST_CAR_T, after).outcome == "candidate"
    assert screen(Profile(prior_therapies=("blinatumomab",)), after).outcome == "fails"


def test_post_hsct_relapse_implies_a_prior_transplant() -> None:
    profile = Profile(settings=("post-HSCT relapse",))
    assert expand_settings(profile.settings) >= {"relapsed", "relapsed/refractory"}
    assert one(profile, fact("prior_therapy", "allogeneic HSCT", "excluded")) == "fails"
    assert one(profile, fact("prior_therapy", "HSCT", "excluded")) == "fails"  # a transplant, of any kind
    assert one(Profile(prior_therapies=("HSCT",)), fact("prior_therapy", "allogeneic HSCT")) == "unknown"


def test_disease_facts_and_subtypes() -> None:
    ph = Profile(disease="Ph+ ALL")
    assert one(ph, fact("disease", "B-ALL")) == "meets"  # Ph+ ALL is a B-ALL
    assert one(ph, fact("disease", "T-ALL")) == "fails"
    assert one(ph, fact("genetic", "Ph+ / BCR::ABL1")) == "meets"  # the subtype names the finding
    aml = Profile(disease="AML")
    assert one(aml, fact("disease", "FLT3-mutated AML")) == "unknown"
    flt3_negative = Profile(disease="AML", genetics_negative=("FLT3 mutation",))
    assert one(flt3_negative, fact("disease", "FLT3-mutated AML")) == "fails"
    flt3 = Profile(disease="AML", genetics_positive=("FLT3 mutation",))
    assert one(flt3, fact("disease", "FLT3-mutated AML")) == "meets"
    assert one(aml, fact("disease", "APL", "excluded")) == "unknown"
    assert one(Profile(disease="B-ALL"), fact("disease", "APL", "excluded")) == "meets"


def test_trial_disease_tags_decide_the_disease() -> None:
    b_all = Profile(disease="B-ALL")
    t_all_only = screen(b_all, [], disease_tags=["T-ALL"], knowledge=KNOWLEDGE)
    assert t_all_only.outcome == "fails"
    assert "T-ALL" in t_all_only.failing[0].reason
    both = screen(b_all, [], disease_tags=["B-ALL", "T-ALL"], knowledge=KNOWLEDGE)
    assert both.outcome == "candidate" and both.disease_match == 2
    # Broad names count only when nothing narrower is tagged.
    aml_study = screen(b_all, [], disease_tags=["AML", "leukemia"], knowledge=KNOWLEDGE)
    assert aml_study.outcome == "fails"
    broad = screen(b_all, [], disease_tags=["acute leukemia"], knowledge=KNOWLEDGE)
    assert broad.outcome == "candidate" and broad.disease_match == 1
    kmt2a_tags = ["KMT2A-rearranged", "AML"]
    subtype = screen(Profile(disease="KMT2A-rearranged"), [], disease_tags=kmt2a_tags, knowledge=KNOWLEDGE)
    assert subtype.disease_match == 3
    # A child with a KMT2A-rearranged leukemia of no stated lineage: B-ALL trials stay open.
    kmt2a = screen(Profile(disease="KMT2A-rearranged"), [], disease_tags=["B-ALL"], knowledge=KNOWLEDGE)
    assert kmt2a.outcome == "candidate" and kmt2a.assessments[0].verdict == "unknown"


def test_required_alternatives_are_not_held_against_the_patient() -> None:
    aml = Profile(disease="AML", age=34)
    facts = [fact("disease", "AML"), fact("disease", "MDS")]
    result = screen(aml, facts, knowledge=KNOWLEDGE)
    assert result.outcome == "candidate"
    one_sentence = "CD19- or CD22-positive disease"
    antigens = [
        fact("antigen", "CD19", evidence=one_sentence),
        fact("antigen", "CD22", evidence=one_sentence),
    ]
    assert screen(POST_CAR_T, antigens, knowledge=KNOWLEDGE).outcome == "candidate"
    separate = [fact("antigen", "CD19"), fact("antigen", "CD22")]
    assert screen(POST_CAR_T, separate, knowledge=KNOWLEDGE).outcome == "fails"
    cohorts = [fact("age", "years", low=1, high=7), fact("age", "years", low=19, high=70)]
    assert screen(aml, cohorts).outcome == "candidate"
    record = [fact("age", "years", low=1, high=17, section="record"), fact("age", "years", low=19, high=70)]
    assert screen(aml, record).outcome == "fails"


def test_performance_status_converts_ecog_to_karnofsky() -> None:
    assert one(Profile(ecog=1), fact("performance", "ECOG", high=2)) == "meets"
    assert one(Profile(ecog=3), fact("performance", "ECOG", high=2)) == "fails"
    assert one(Profile(ecog=1), fact("performance", "Karnofsky", low=70)) == "meets"
    assert one(Profile(ecog=2), fact("performance", "Karnofsky", low=60)) == "unknown"  # 50–60
    assert one(Profile(ecog=3), fact("performance", "Lansky", low=50)) == "fails"
    assert one(Profile(), fact("performance", "ECOG", high=2)) == "unknown"


@pytest.mark.parametrize(
    ("cns", "polarity", "expected"),
    [(True, "excluded", "fails"), (False, "excluded", "meets"), (None, "excluded", "unknown"),
     (True, "required", "meets"), (False, "required", "fails"), (True, "allowed", "meets")],
)  # fmt: skip
def test_cns(cns: bool | None, polarity: str, expected: str) -> None:
    assert one(Profile(cns=cns), fact("cns", "CNS involvement", polarity)) == expected


def test_prior_lines() -> None:
    assert one(Profile(prior_lines=2), fact("prior_lines", "lines", low=2)) == "meets"
    assert one(Profile(prior_lines=1), fact("prior_lines", "lines", low=2)) == "fails"
    assert one(Profile(prior_lines=4), fact("prior_lines", "lines", "excluded", low=4)) == "fails"
    assert one(Profile(settings=("newly diagnosed",)), fact("prior_lines", "lines", high=0)) == "meets"
    assert one(Profile(settings=("relapsed",)), fact("prior_lines", "lines", high=3)) == "unknown"


def test_a_trial_without_facts_has_an_unknown_for_its_criteria() -> None:
    result = screen(Profile(age=30), [])
    assert result.outcome == "candidate" and result.unknown_count == 1


def test_ranking_puts_open_trials_first_then_fewer_unknowns_then_the_closer_disease() -> None:
    def made(unknown: int, match: int) -> Screening:
        base = screen(Profile(), [fact("age", "years", low=1)] * unknown)
        return Screening(base.assessments, "candidate", match)

    keys = {
        "recruiting, 2 unknown": rank_key("RECRUITING", made(2, 2)),
        "recruiting, 1 unknown, broad": rank_key("RECRUITING", made(1, 1)),
        "recruiting, 1 unknown, subtype": rank_key("RECRUITING", made(1, 3)),
        "recruiting, supportive care": rank_key(
            "RECRUITING", made(0, 3), purpose=purpose_rank("INTERVENTIONAL", "SUPPORTIVE_CARE")
        ),
        "recruiting, observational": rank_key(
            "RECRUITING", made(0, 3), purpose=purpose_rank("OBSERVATIONAL", None)
        ),
        "not yet, 0 unknown": rank_key("NOT_YET_RECRUITING", made(0, 3)),
        "active": rank_key("ACTIVE_NOT_RECRUITING", made(0, 3)),
    }
    assert sorted(keys, key=keys.__getitem__) == [
        "recruiting, 1 unknown, subtype",
        "recruiting, 1 unknown, broad",
        "recruiting, 2 unknown",
        "recruiting, supportive care",
        "recruiting, observational",
        "not yet, 0 unknown",
        "active",
    ]
    assert status_rank("RECRUITING") < status_rank("NOT_YET_RECRUITING") < status_rank("COMPLETED")


def test_profile_values_parse() -> None:
    assert parse_setting("R/R") == "relapsed/refractory"
    assert parse_setting("First relapse") == "first relapse"
    assert parse_finding("CD22+", "antigen") == ("CD22", True)
    assert parse_finding("CD19 negative", "antigen") == ("CD19", False)
    assert parse_finding("FLT3-ITD", "genetic") == ("FLT3 mutation", True)
    assert parse_finding("TP53-", "genetic") == ("TP53 mutation", False)
    assert parse_finding("Ph+", "genetic") == ("Ph+ / BCR::ABL1", True)
    assert parse_finding("MLL", "genetic") == ("KMT2A rearrangement", True)
    with pytest.raises(UnknownProfileValue, match="settings are"):
        parse_setting("sort of better")
    with pytest.raises(UnknownProfileValue, match="KMT2A rearrangement"):
        parse_finding("XYZ1+", "genetic")


KINDS = st.sampled_from(["antigen", "genetic", "cns"])


@given(
    positive=st.sets(st.sampled_from(GENETICS)),
    negative=st.sets(st.sampled_from(GENETICS)),
    value=st.sampled_from(GENETICS),
)
def test_required_and_excluded_are_opposites(positive: set[str], negative: set[str], value: str) -> None:
    """For one finding, requiring and excluding it give opposite verdicts, or both unknown."""
    profile = Profile(genetics_positive=tuple(positive), genetics_negative=tuple(negative - positive))
    required = one(profile, fact("genetic", value, "required"))
    excluded = one(profile, fact("genetic", value, "excluded"))
    opposite = {"meets": "fails", "fails": "meets", "unknown": "unknown"}
    assert opposite[required] == excluded
    assert one(profile, fact("genetic", value, "allowed")) == "meets"


@given(age=st.floats(min_value=0, max_value=120), low=st.integers(0, 100), span=st.integers(0, 50))
def test_a_trial_fails_exactly_when_a_verdict_fails(age: float, low: int, span: int) -> None:
    result = screen(Profile(age=age, disease="AML"), [fact("age", "years", low=low, high=low + span)],
                    disease_tags=["AML"], knowledge=KNOWLEDGE)  # fmt: skip
    assert (result.outcome == "fails") == (not low <= age <= low + span)
    assert (result.outcome == "fails") == bool(result.failing)


def test_disease_knowledge_is_empty_by_default() -> None:
    assert DiseaseKnowledge().including("AML") == {"AML"}


def screened(profile: Profile, facts: list[Fact], **trial: object) -> Screening:
    return screen(profile, facts, knowledge=KNOWLEDGE, agent_implications=AGENTS, **trial)  # type: ignore[arg-type]


def test_a_therapy_whose_every_target_the_disease_lacks_rules_the_trial_out() -> None:
    cd19_car_t = [("tisagenlecleucel", ("CD19",))]
    result = screened(POST_CAR_T, [], targeted=cd19_car_t)
    assert result.outcome == "fails"
    (failing,) = result.failing
    assert failing.kind == "target" and "CD19-negative" in failing.reason
    # A dual CD19/CD22 CAR-T still reaches a CD22-positive relapse; a CD22 one meets it.
    for targets in (("CD19", "CD22"), ("CD22",)):
        result = screened(POST_CAR_T, [], targeted=[("car", targets)])
        assert result.outcome == "candidate"
        assert [a.verdict for a in result.assessments if a.kind == "target"] == ["meets"]
    # One of two studied therapies reaching the disease keeps the trial.
    both = [("tisagenlecleucel", ("CD19",)), ("inotuzumab ozogamicin", ("CD22",))]
    assert screened(POST_CAR_T, [], targeted=both).outcome == "candidate"
    # Without antigen findings the targets say nothing.
    unknown = Profile(age=34, disease="B-ALL")
    assert all(a.kind != "target" for a in screened(unknown, [], targeted=cd19_car_t).assessments)


def test_excluding_the_trials_own_disease_is_a_qualified_exclusion_not_a_failure() -> None:
    # "Acute leukemia with CNS status 3 involvement" under Exclusion, in a trial for acute leukemia.
    qualified = fact("disease", "acute leukemia", "excluded", section="exclusion")
    patient = Profile(age=40, disease="AML")
    own = screened(patient, [qualified], disease_tags=["AML", "acute leukemia"])
    assert own.outcome == "candidate"
    assert [a.verdict for a in own.assessments if a.fact is qualified] == ["unknown"]
    # A narrower disease excluded by a trial for the broader one still rules the patient out (APL in AML).
    apl = fact("disease", "APL", "excluded", section="exclusion")
    assert screened(Profile(age=40, disease="APL"), [apl], disease_tags=["AML"]).outcome == "fails"
    # Without the trial's tags the exclusion stands.
    assert screened(patient, [qualified]).outcome == "fails"
