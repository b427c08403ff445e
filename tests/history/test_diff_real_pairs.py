"""diff_versions on every pair of real captures of one study in data/ctgov/versions."""

from __future__ import annotations

import random
from pathlib import Path

import orjson
import pytest

from hemewatch.history import ChangeEvent, EventType, Severity

from .studies import diff, shuffled, version_file, version_pairs

PAIRS = list(version_pairs())
# Captures whose only differences are the registry's own: derived MeSH data, version stamps,
# posting-date types, re-verification. None of them may alert.
CHURN_ONLY = [pair for pair in PAIRS if not pair[0].startswith("NCT05827016")]


def test_the_versions_folder_yields_every_documented_pair(real_records: Path) -> None:
    assert (real_records / "ctgov" / "versions" / "versions_index.json").is_file()
    assert len(PAIRS) == 13 + 13  # 13 studies in versions/, 8 studies with 21 snapshots in ctrdata_reboxed/


@pytest.mark.parametrize(("older", "newer"), PAIRS)
def test_a_version_diffed_with_itself_gives_nothing(older: str, newer: str) -> None:
    for name in (older, newer):
        assert diff(version_file(name), version_file(name), administrative=True) == []


@pytest.mark.parametrize(("older", "newer"), CHURN_ONLY)
def test_registry_churn_alone_is_administrative(older: str, newer: str) -> None:
    old, new = version_file(older), version_file(newer)
    assert diff(old, new) == []
    recorded = diff(old, new, administrative=True)
    assert recorded, "the captures differ, so something must be recorded"
    assert {event.type for event in recorded} == {EventType.RECORD_REFRESHED}
    assert not any(event.alertable for event in recorded)


@pytest.mark.parametrize(("older", "newer"), PAIRS)
def test_events_of_real_pairs_survive_a_json_round_trip(older: str, newer: str) -> None:
    for event in diff(version_file(older), version_file(newer), administrative=True):
        assert ChangeEvent.from_dict(orjson.loads(orjson.dumps(event.to_dict()))) == event


@pytest.mark.parametrize(("older", "newer"), PAIRS)
def test_real_pairs_give_the_same_events_whatever_the_list_order(older: str, newer: str) -> None:
    old, new = version_file(older), version_file(newer)
    rnd = random.Random(older)
    assert diff(shuffled(old, rnd), shuffled(new, rnd)) == diff(old, new)


@pytest.mark.parametrize("nct_id", ["NCT05923112", "NCT05923281"])
def test_posting_date_type_flips_are_recorded_as_administrative(nct_id: str) -> None:
    old = version_file(f"{nct_id}__2023-06-28.json")
    new = version_file(f"{nct_id}__2023-06-28__2.json")
    paths = {event.path for event in diff(old, new, administrative=True)}
    assert "protocolSection.statusModule.lastUpdatePostDateStruct.type" in paths
    assert "protocolSection.statusModule.studyFirstPostDateStruct.type" in paths
    assert diff(old, new) == []


def test_a_re_verification_without_edits_does_not_alert() -> None:
    old = version_file("ctrdata_reboxed/NCT01483820__2023-09-28__2.json")
    new = version_file("ctrdata_reboxed/NCT01483820__2024-04-03.json")
    recorded = {event.path: event for event in diff(old, new, administrative=True)}
    assert recorded["protocolSection.statusModule.statusVerifiedDate"].before == "2023-09"
    assert recorded["protocolSection.statusModule.statusVerifiedDate"].after == "2024-04"
    assert diff(old, new) == []


class TestNCT05827016OpensForRecruitment:
    """NOT_YET_RECRUITING (2023) -> RECRUITING (2025): sites gain a status, placeholders get names."""

    @pytest.fixture(scope="class")
    @classmethod
    def events(cls) -> list[ChangeEvent]:
        return diff(
            version_file("NCT05827016__2023-06-07.json"), version_file("NCT05827016__2025-07-01.json")
        )

    def test_exactly_one_status_change(self, events: list[ChangeEvent]) -> None:
        (status,) = [event for event in events if event.type is EventType.STATUS_CHANGED]
        assert status.before == {"overallStatus": "NOT_YET_RECRUITING"}
        assert status.after == {"overallStatus": "RECRUITING"}
        assert status.severity is Severity.NOTABLE
        assert str(status.registry_date) == "2025-07-01"
        assert (status.old_version_id, status.new_version_id) == (1, 2)

    def test_sites_that_gain_recruiting_status_are_new_enrolling_sites(
        self, events: list[ChangeEvent]
    ) -> None:
        by_summary = {event.summary: event for event in events if event.type is EventType.SITE_STATUS_CHANGED}
        site = "Rocky Mountain Cancer Centers, Aurora, United States"
        event = by_summary[f"New enrolling site: {site} (no status given before)"]
        assert event.severity is Severity.NOTABLE
        assert event.before == {
            "facility": "Rocky Mountain Cancer Centers",
            "city": "Aurora",
            "state": "Colorado",
            "zip": "80012-5405",
            "country": "United States",
        }
        assert isinstance(event.after, dict)
        assert event.after["status"] == "RECRUITING"

    def test_placeholder_sites_renamed_by_the_sponsor_are_the_same_site(
        self, events: list[ChangeEvent]
    ) -> None:
        summaries = {event.summary for event in events}
        assert (
            "New enrolling site: Azienda Ospedaliero Universitaria Pisana - Ospedale Santa Chiara, "
            "Pisa, Italy (listed before as Local Institution - 0139) (no status given before)"
        ) in summaries
        assert not any("Local Institution - 0139" in s for s in summaries if s.startswith("Site removed"))

    def test_site_events_are_unique_by_path(self, events: list[ChangeEvent]) -> None:
        site_types = {EventType.SITE_ADDED, EventType.SITE_REMOVED, EventType.SITE_STATUS_CHANGED}
        paths = [event.path for event in events if event.type in site_types]
        assert len(paths) == len(set(paths))

    def test_start_date_moved_a_week_is_minor(self, events: list[ChangeEvent]) -> None:
        (moved,) = [event for event in events if event.type is EventType.DATES_CHANGED]
        assert moved.path == "protocolSection.statusModule.startDateStruct"
        assert moved.after == {"date": "2023-06-22", "type": "ACTUAL", "shift_days": 7}
        assert moved.severity is Severity.MINOR

    def test_eligibility_rewording_names_the_criteria_that_changed(self, events: list[ChangeEvent]) -> None:
        (amended,) = [event for event in events if event.path == "protocolSection.eligibilityModule"]
        assert amended.severity is Severity.NOTABLE
        assert isinstance(amended.after, list)
        added = {
            item["value"]
            for item in amended.after
            if isinstance(item, dict) and isinstance(item["value"], str)
        }
        assert any("15 months (tandem transplant)" in text for text in added)
        # Criteria that only gained a full stop are not reported as amended.
        assert not any(
            text.startswith("Confirmed diagnosis of symptomatic multiple myeloma") for text in added
        )

    def test_new_keywords_are_a_minor_amendment(self, events: list[ChangeEvent]) -> None:
        (conditions,) = [event for event in events if event.path == "protocolSection.conditionsModule"]
        assert conditions.after == [
            {"field": "keyword", "value": "ASCT"},
            {"field": "keyword", "value": "CELMoD"},
            {"field": "keyword", "value": "Cereblon Modulators"},
        ]
        assert conditions.before == [{"field": "keyword", "value": "ASCTm"}]
        assert conditions.severity is Severity.MINOR

    def test_nothing_alerts_from_the_emptied_beta_field(self, events: list[ChangeEvent]) -> None:
        # interventionMappedName: [] disappeared from one intervention between the captures.
        assert not any(event.path.startswith("protocolSection.armsInterventionsModule") for event in events)
