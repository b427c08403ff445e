"""Disease settings and age populations."""

from __future__ import annotations

import pytest

from hemewatch.classification import classify_study, to_guideline_labels

from .conftest import StudyBuilder


@pytest.mark.parametrize(
    ("title", "settings"),
    [
        ("Venetoclax in relapsed or refractory AML", ["relapsed/refractory"]),
        ("Ponatinib in R/R Ph+ ALL", ["relapsed/refractory"]),
        ("Frontline therapy for newly diagnosed AML", ["newly diagnosed"]),
        ("De novo acute myeloid leukemia in older adults", ["newly diagnosed"]),
        ("Blinatumomab for MRD-positive B-ALL", ["MRD-positive"]),
        ("Donor lymphocytes after allogeneic HSCT in AML", ["post-HSCT"]),
        ("CD22 CAR T cells after CD19 CAR-T failure in B-ALL", ["post-CAR-T"]),
        ("CD7 CAR T cells as a bridge to allogeneic transplant in T-ALL", ["bridge to HSCT"]),
        ("Maintenance therapy for AML in first complete remission", ["consolidation/maintenance"]),
    ],
)
def test_title_settings(study: StudyBuilder, title: str, settings: list[str]) -> None:
    record = study(title=title, conditions=["Leukemia"])
    assert to_guideline_labels(classify_study(record))["settings"] == settings


def test_consolidation_inside_a_frontline_programme_is_not_a_setting(study: StudyBuilder) -> None:
    record = study(title="Induction followed by consolidation for untreated AML", conditions=["AML"])
    assert to_guideline_labels(classify_study(record))["settings"] == ["newly diagnosed"]


def test_no_setting_outside_cancer(study: StudyBuilder) -> None:
    record = study(
        title="Maintenance of sobriety after first-line counselling", conditions=["Alcohol use disorder"]
    )
    assert to_guideline_labels(classify_study(record))["settings"] == []


@pytest.mark.parametrize(
    ("minimum", "maximum", "std_ages", "populations"),
    [
        ("1 Year", "17 Years", ("CHILD",), {"pediatric"}),
        ("15 Years", "39 Years", ("CHILD", "ADULT"), {"pediatric", "AYA", "adult"}),
        ("18 Years", None, ("ADULT", "OLDER_ADULT"), {"adult"}),
        ("60 Years", None, ("ADULT", "OLDER_ADULT"), {"adult", "older adult"}),
        ("30 Days", "21 Years", ("CHILD", "ADULT"), {"pediatric", "AYA", "adult"}),
    ],
)
def test_population_from_eligibility_ages(
    study: StudyBuilder, minimum: str, maximum: str | None, std_ages: tuple[str, ...], populations: set[str]
) -> None:
    record = study(minimum_age=minimum, maximum_age=maximum, std_ages=std_ages)
    assert set(classify_study(record).values("population")) == populations


def test_population_from_text(study: StudyBuilder) -> None:
    record = study(title="Venetoclax in elderly patients and in adolescents and young adults with AML")
    assert {"older adult", "AYA"} <= set(classify_study(record).values("population"))


def test_age_evidence_points_at_the_age_field(study: StudyBuilder) -> None:
    tag = classify_study(study(minimum_age="65 Years")).get("population", "older adult")
    assert tag is not None
    assert tag.evidence[0].path == "protocolSection.eligibilityModule.minimumAge"
    assert tag.evidence[0].text == "65 Years"
