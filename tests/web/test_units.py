"""Pure parts of the web package: layouts, filters, labels, record reading, timeline text."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hemewatch.classification.lexicon import default_lexicon
from hemewatch.vocabulary import phase_label, status_label
from hemewatch.web.cache import DataCache
from hemewatch.web.filters import TrialFilters
from hemewatch.web.layouts import PageLayoutError, load_disease_pages, parse_disease_pages
from hemewatch.web.views.record import read_trial_record
from hemewatch.web.views.timeline import describe_value

LEXICON = default_lexicon()


def _layout(**page: object) -> dict[str, object]:
    base: dict[str, object] = {
        "slug": "all",
        "name": "ALL",
        "title": "ALL",
        "summary": "s",
        "filters": {"disease": ["ALL"]},
        "sections": [{"id": "s", "title": "S"}],
    }
    return {"pages": [{**base, **page}]}


def test_the_bundled_layouts_are_valid_and_cover_the_required_pages() -> None:
    pages = load_disease_pages()
    assert {"all", "b-all", "t-all", "ph-all", "aml"} <= {p.slug for p in pages}


@pytest.mark.parametrize(
    ("layout", "problem"),
    [
        (_layout(filters={"disease": ["Leukaemia X"]}), "unknown disease 'Leukaemia X'"),
        (_layout(related=["cml"]), "related page 'cml' does not exist"),
        (
            _layout(sections=[{"id": "s", "title": "S", "filters": {"modality": ["CAR-X"]}}]),
            "unknown modality",
        ),
        (
            _layout(sections=[{"id": "s", "title": "S"}, {"id": "s", "title": "T"}]),
            "section 's' is defined twice",
        ),
        (_layout(sections=[{"id": "s", "title": "S", "filters": {"phase": ["PHASE9"]}}]), "phase"),
        (_layout(colour="red"), "colour"),
        ({"pages": []}, "pages"),
    ],
)
def test_invalid_layouts_name_the_problem(layout: dict[str, object], problem: str) -> None:
    with pytest.raises(PageLayoutError, match="invalid") as caught:
        parse_disease_pages(layout, source="test.yaml", lexicon=LEXICON)
    assert problem in caught.value.message


def test_layouts_load_from_a_file_and_report_bad_yaml(tmp_path: Path) -> None:
    good = tmp_path / "pages.yaml"
    good.write_text(yaml.safe_dump(_layout()), encoding="utf-8")
    assert [p.slug for p in load_disease_pages(good)] == ["all"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("pages: [", encoding="utf-8")
    with pytest.raises(PageLayoutError, match="not valid YAML"):
        load_disease_pages(bad)
    with pytest.raises(PageLayoutError, match="Cannot read"):
        load_disease_pages(tmp_path / "missing.yaml")


def test_a_section_filter_replaces_the_page_filter_of_its_kind() -> None:
    page = load_disease_pages().get("all")
    assert page is not None
    cells = next(s for s in page.sections if s.id == "cell-therapy")
    merged = page.section_filters(cells)
    assert merged.disease == page.filters.disease and "CAR-T" in merged.modality
    recent = next(s for s in page.sections if s.recent)
    assert page.section_filters(recent).sort == "last_change"


def test_filters_accept_what_forms_and_people_send() -> None:
    filters = TrialFilters.model_validate(
        {
            "disease": ["", "B-ALL", "B-ALL"],
            "phase": ["3", "phase 2"],
            "status": ["active, not recruiting"],
            "q": "  ",
        }
    )
    assert filters.disease == ["B-ALL"]
    assert filters.phase == ["PHASE3", "PHASE2"]
    assert filters.status == ["ACTIVE_NOT_RECRUITING"]
    assert filters.q is None
    assert filters.country == [] and TrialFilters(country=["Korea, Republic of"]).country == [
        "Korea, Republic of"
    ]


def test_filters_build_query_strings_sort_links_and_chips() -> None:
    filters = TrialFilters(disease=["Ph+ ALL"], modality=["CAR-T"], sort="phase", order="asc")
    assert filters.query_string() == "disease=Ph%2B+ALL&modality=CAR-T&sort=phase&order=asc"
    assert filters.sorted_by("phase").endswith("sort=phase&order=desc")
    assert filters.sorted_by("nct_id").endswith("sort=nct_id&order=asc")
    chips = list(filters.chips())
    assert chips[0][:2] == ("Disease", "Ph+ ALL") and chips[0][2] == "modality=CAR-T&sort=phase&order=asc"
    query = filters.to_query(limit=10, offset=20)
    assert query.disease == ("Ph+ ALL",) and query.descending is False and query.offset == 20
    assert TrialFilters().is_empty and not filters.is_empty


def test_labels() -> None:
    assert phase_label(["PHASE1", "PHASE2"]) == "Phase 1/2"
    assert phase_label("EARLY_PHASE1") == "Early phase 1"
    assert phase_label([]) == "—"
    assert status_label("ACTIVE_NOT_RECRUITING") == "Active, not recruiting"
    assert status_label("SOMETHING_NEW") == "Something new"


def test_before_and_after_values_read_as_text() -> None:
    assert describe_value(None) == "—"
    assert (
        describe_value({"overallStatus": "TERMINATED", "whyStopped": "funding"})
        == "Terminated (why stopped: funding)"
    )
    assert describe_value({"count": 20, "type": "ESTIMATED"}) == "20 participants (estimated)"
    assert describe_value({"date": "2038-06", "type": "ESTIMATED"}) == "2038-06 (estimated)"
    site = {
        "facility": "UAB Hospital",
        "city": "Birmingham",
        "country": "United States",
        "status": "RECRUITING",
    }
    assert describe_value(site) == "UAB Hospital, Birmingham, United States — Recruiting"
    assert describe_value([{"label": "Arm A"}, {"label": "Arm B"}]) == "Arm A; Arm B"
    assert describe_value("x" * 1000).endswith("…")


def test_a_sparse_record_reads_without_errors() -> None:
    record = read_trial_record({"protocolSection": {"identificationModule": {"nctId": "NCT00000001"}}})
    assert record.brief_title == "Untitled trial"
    assert record.sites == () and record.countries() == [] and record.ages == "—"
    assert record.registry_url == "https://clinicaltrials.gov/study/NCT00000001"


def test_the_data_cache_recomputes_when_the_stamp_moves() -> None:
    cache = DataCache(max_entries=2)
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    assert cache.get_or_compute("k", (1,), compute) == 1
    assert cache.get_or_compute("k", (1,), compute) == 1
    assert cache.get_or_compute("k", (2,), compute) == 2
    cache.get_or_compute("a", (2,), compute)
    cache.get_or_compute("b", (2,), compute)
    assert cache.get_or_compute("k", (2,), compute) == 5  # evicted
