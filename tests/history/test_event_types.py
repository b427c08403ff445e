"""One test per event type, each built by editing a real record (revumenib + chemotherapy, NCT05326516)."""

from __future__ import annotations

import pytest

from hemewatch.errors import InvalidRecord
from hemewatch.history import ChangeEvent, EventType, Severity, left_scope_event, new_trial_event

from .studies import DETECTED_AT, Study, diff, edited, find_study, section, sites, study

BASE = "NCT05326516"


@pytest.fixture
def old() -> Study:
    return study(BASE)


@pytest.fixture
def new(old: Study) -> Study:
    return edited(old)


def only(events: list[ChangeEvent]) -> ChangeEvent:
    assert len(events) == 1, [event.summary for event in events]
    return events[0]


def test_termination_carries_why_stopped(old: Study, new: Study) -> None:
    status = section(new, "statusModule")
    status["overallStatus"] = "TERMINATED"
    status["whyStopped"] = "Sponsor decision: slow accrual"
    event = only(diff(old, new))
    assert event.type is EventType.STATUS_CHANGED
    assert event.severity is Severity.CRITICAL
    assert event.path == "protocolSection.statusModule.overallStatus"
    assert event.before == {"overallStatus": "RECRUITING"}
    assert event.after == {"overallStatus": "TERMINATED", "whyStopped": "Sponsor decision: slow accrual"}
    assert (
        event.summary
        == "Overall status: recruiting → terminated (why stopped: Sponsor decision: slow accrual)"
    )


@pytest.mark.parametrize(
    ("status", "severity"),
    [
        ("SUSPENDED", Severity.CRITICAL),
        ("WITHDRAWN", Severity.CRITICAL),
        ("ACTIVE_NOT_RECRUITING", Severity.NOTABLE),
        ("COMPLETED", Severity.NOTABLE),
        ("UNKNOWN", Severity.MINOR),
    ],
)
def test_status_severities(old: Study, new: Study, status: str, severity: Severity) -> None:
    section(new, "statusModule")["overallStatus"] = status
    assert only(diff(old, new)).severity is severity


def test_a_trial_that_opens_is_notable(old: Study, new: Study) -> None:
    section(old, "statusModule")["overallStatus"] = "NOT_YET_RECRUITING"
    assert only(diff(old, new)).severity is Severity.NOTABLE


def test_new_arm_is_a_protocol_amendment_naming_the_arm(old: Study, new: Study) -> None:
    arm = {
        "label": "SNDX-5613 and Chemotherapy Regimen 3",
        "type": "EXPERIMENTAL",
        "description": "Participants with NPM1c AML will receive SNDX-5613 with venetoclax and azacitidine.",
        "interventionNames": ["Drug: SNDX-5613", "Drug: Venetoclax"],
    }
    section(new, "armsInterventionsModule")["armGroups"].append(arm)
    event = only(diff(old, new))
    assert (event.type, event.severity) == (EventType.PROTOCOL_AMENDED, Severity.NOTABLE)
    assert event.path == "protocolSection.armsInterventionsModule.armGroups"
    assert event.before == []
    assert event.after == [arm]
    assert event.summary == "Protocol amended (arms): added 'SNDX-5613 and Chemotherapy Regimen 3'"


def test_new_intervention_and_changed_other_names(old: Study, new: Study) -> None:
    interventions = section(new, "armsInterventionsModule")["interventions"]
    interventions[0]["otherNames"] = ["revumenib"]
    interventions.append(
        {"type": "DRUG", "name": "Venetoclax", "armGroupLabels": ["SNDX-5613 and Chemotherapy Regimen 2"]}
    )
    event = only(diff(old, new))
    assert (
        event.summary
        == "Protocol amended (interventions): added 'Drug: Venetoclax'; modified 'Drug: SNDX-5613'"
    )
    assert event.severity is Severity.NOTABLE


def test_eligibility_change_says_what_was_added_and_removed(old: Study, new: Study) -> None:
    eligibility = section(new, "eligibilityModule")
    eligibility["eligibilityCriteria"] = eligibility["eligibilityCriteria"].replace(
        "* Adequate liver, kidney, and cardiac function", "* Adequate liver and kidney function; LVEF ≥ 45%"
    )
    eligibility["minimumAge"] = "1 Year"
    event = only(diff(old, new))
    assert (event.type, event.severity) == (EventType.PROTOCOL_AMENDED, Severity.NOTABLE)
    assert event.path == "protocolSection.eligibilityModule"
    assert event.before[:2] == [
        {"field": "inclusion", "value": "Adequate liver, kidney, and cardiac function"},
        {"field": "minimumAge", "value": "30 Days"},
    ]
    assert event.after[:2] == [
        {"field": "inclusion", "value": "Adequate liver and kidney function; LVEF ≥ 45%"},
        {"field": "minimumAge", "value": "1 Year"},
    ]
    # The minimum age is an eligibility fact too: the amendment names the fact it changed.
    assert [(f["kind"], f["low"]) for f in event.before[2]["value"]] == [("age", 0.08)]
    assert [(f["kind"], f["low"]) for f in event.after[2]["value"]] == [("age", 1.0)]


def test_a_criterion_moved_from_inclusion_to_exclusion_is_an_amendment(old: Study, new: Study) -> None:
    eligibility = section(new, "eligibilityModule")
    line = "* Adequate liver, kidney, and cardiac function\n"
    eligibility["eligibilityCriteria"] = eligibility["eligibilityCriteria"].replace(line, "") + "\n" + line
    event = only(diff(old, new))
    assert event.before == [{"field": "inclusion", "value": "Adequate liver, kidney, and cardiac function"}]
    assert event.after == [{"field": "exclusion", "value": "Adequate liver, kidney, and cardiac function"}]


def test_punctuation_only_rewording_is_administrative(old: Study, new: Study) -> None:
    eligibility = section(new, "eligibilityModule")
    eligibility["eligibilityCriteria"] = eligibility["eligibilityCriteria"].replace(
        "cardiac function", "Cardiac Function."
    )
    assert diff(old, new) == []
    event = only(diff(old, new, administrative=True))
    assert (event.type, event.severity) == (EventType.PROTOCOL_AMENDED, Severity.ADMINISTRATIVE)


def test_primary_outcome_change_is_notable_secondary_minor(old: Study, new: Study) -> None:
    outcomes = section(new, "outcomesModule")
    outcomes["secondaryOutcomes"].append({"measure": "Overall survival", "timeFrame": "Up to 2 years"})
    assert only(diff(old, new)).severity is Severity.MINOR
    outcomes["primaryOutcomes"][0]["timeFrame"] = "Day 1 through 28"
    event = only(diff(old, new))
    assert event.severity is Severity.NOTABLE
    assert "modified 'primary: Number of Participants With Dose Limiting" in event.summary


def test_design_change_names_the_field(old: Study, new: Study) -> None:
    section(new, "designModule")["designInfo"]["allocation"] = "RANDOMIZED"
    event = only(diff(old, new))
    assert event.path == "protocolSection.designModule"
    assert event.before == [{"field": "designInfo.allocation", "value": "NON_RANDOMIZED"}]
    assert event.after == [{"field": "designInfo.allocation", "value": "RANDOMIZED"}]
    assert event.summary == "Protocol amended (design): modified 'designInfo.allocation: RANDOMIZED'"


def test_completion_date_moved_by_n_days(old: Study, new: Study) -> None:
    section(old, "statusModule")["completionDateStruct"] = {"date": "2024-06-30", "type": "ESTIMATED"}
    section(new, "statusModule")["completionDateStruct"] = {"date": "2025-01-15", "type": "ESTIMATED"}
    event = only(diff(old, new))
    assert event.type is EventType.DATES_CHANGED
    assert event.path == "protocolSection.statusModule.completionDateStruct"
    assert event.after == {"date": "2025-01-15", "type": "ESTIMATED", "shift_days": 199}
    assert event.summary == "Study completion date moved 199 days later: 2024-06-30 → 2025-01-15 (estimated)"


def test_month_only_dates_shift_by_whole_months(old: Study, new: Study) -> None:
    section(new, "statusModule")["primaryCompletionDateStruct"] = {"date": "2025-10", "type": "ESTIMATED"}
    event = only(diff(old, new))  # 2024-04 -> 2025-10
    assert event.after == {"date": "2025-10", "type": "ESTIMATED", "shift_days": 548}
    assert event.severity is Severity.NOTABLE  # primary completion slipping by more than the threshold


def test_a_small_primary_completion_slip_is_minor(old: Study, new: Study) -> None:
    section(new, "statusModule")["primaryCompletionDateStruct"] = {"date": "2024-05", "type": "ESTIMATED"}
    assert only(diff(old, new)).severity is Severity.MINOR


def test_a_month_date_made_precise_or_confirmed_is_administrative(old: Study, new: Study) -> None:
    status = section(new, "statusModule")
    status["completionDateStruct"] = {"date": "2024-06-18", "type": "ESTIMATED"}
    status["startDateStruct"] = {"date": "2022-03-09", "type": "ESTIMATED"}
    assert diff(old, new) == []
    rules = {
        event.summary
        for event in diff(old, new, administrative=True)
        if event.type is EventType.DATES_CHANGED
    }
    assert rules == {
        "Study completion date given as 2024-06-18 (was 2024-06)",
        "Start date 2022-03-09 now marked estimated (was actual)",
    }


def test_results_posted_is_critical() -> None:
    new = find_study(lambda record: record["hasResults"])
    old = edited(new)
    old["hasResults"] = False
    del old["resultsSection"]
    for key in ("resultsFirstSubmitDate", "resultsFirstSubmitQcDate", "resultsFirstPostDateStruct"):
        section(old, "statusModule").pop(key, None)
    event = only(diff(old, new))
    assert (event.type, event.severity, event.path) == (
        EventType.RESULTS_POSTED,
        Severity.CRITICAL,
        "resultsSection",
    )
    posted = new["protocolSection"]["statusModule"]["resultsFirstPostDateStruct"]["date"]
    assert event.summary == f"Results posted on {posted}"
    assert isinstance(event.after, dict)
    assert "outcomeMeasuresModule" in event.after["modules"]  # type: ignore[operator]


def test_results_updated_is_notable() -> None:
    old = find_study(lambda record: record["hasResults"])
    new = edited(old)
    new["resultsSection"]["moreInfoModule"]["limitationsAndCaveats"] = {"description": "Early termination."}
    event = only(diff(old, new))
    assert (event.type, event.severity) == (EventType.RESULTS_POSTED, Severity.NOTABLE)
    assert event.after == {"modules": ["moreInfoModule"]}


def test_new_enrolling_site_names_facility_city_and_country(old: Study, new: Study) -> None:
    sites(new).append(
        {"facility": "St. Jude Children's Research Hospital", "status": "RECRUITING", "city": "Memphis",
         "state": "Tennessee", "zip": "38105", "country": "United States"}
    )  # fmt: skip
    event = only(diff(old, new))
    assert (event.type, event.severity) == (EventType.SITE_ADDED, Severity.NOTABLE)
    assert (
        event.summary
        == "New enrolling site: St. Jude Children's Research Hospital, Memphis, United States (site added)"
    )
    assert event.path == (
        "protocolSection.contactsLocationsModule.locations"
        "[st. jude children's research hospital|memphis|united states]"
    )


def test_site_becoming_recruiting_is_a_new_enrolling_site(old: Study, new: Study) -> None:
    sites(old)[0]["status"] = "NOT_YET_RECRUITING"
    event = only(diff(old, new))
    assert (event.type, event.severity) == (EventType.SITE_STATUS_CHANGED, Severity.NOTABLE)
    assert event.summary == (
        "New enrolling site: Phoenix Children's Hospital, Phoenix, United States (was not yet recruiting)"
    )


def test_site_matched_by_name_city_country_not_position(old: Study, new: Study) -> None:
    listed = sites(new)
    listed.reverse()
    listed[0]["facility"] = listed[0]["facility"].upper() + "  "
    listed[-1]["status"] = "SUSPENDED"
    event = only(diff(old, new))
    assert (
        event.summary
        == "Site now suspended: Phoenix Children's Hospital, Phoenix, United States (was recruiting)"
    )
    assert event.severity is Severity.MINOR


def test_site_removed_and_not_yet_recruiting_site_added_are_minor(old: Study, new: Study) -> None:
    removed = sites(new).pop(0)
    sites(new).append({"facility": "Texas Children's Hospital", "city": "Houston", "country": "United States",
                       "status": "NOT_YET_RECRUITING"})  # fmt: skip
    events = {event.type: event for event in diff(old, new)}
    assert set(events) == {EventType.SITE_ADDED, EventType.SITE_REMOVED}
    assert events[EventType.SITE_REMOVED].before["facility"] == removed["facility"]  # type: ignore[index,call-overload]
    assert all(event.severity is Severity.MINOR for event in events.values())


def test_duplicated_sites_are_paired_by_zip_and_status(old: Study, new: Study) -> None:
    atlanta = [site for site in sites(new) if site["facility"] == "Children's Healthcare of Atlanta"]
    assert len(atlanta) == 2
    atlanta[1]["status"] = "COMPLETED"
    event = only(diff(old, new))
    assert event.summary.startswith("Site now completed: Children's Healthcare of Atlanta, Atlanta")
    assert event.after["zip"] == atlanta[1]["zip"]  # type: ignore[index,call-overload]


def test_site_contact_change_is_a_minor_other_change(old: Study, new: Study) -> None:
    sites(new)[0]["contacts"] = [{"name": "Research Office", "role": "CONTACT", "phone": "602-555-0100"}]
    event = only(diff(old, new))
    assert (event.type, event.severity) == (EventType.OTHER_CHANGED, Severity.MINOR)
    assert (
        event.summary
        == "Contacts or address changed at 1 site(s): 'Phoenix Children's Hospital, Phoenix, United States'"
    )


def test_enrollment_target_reached(old: Study, new: Study) -> None:
    section(new, "designModule")["enrollmentInfo"] = {"count": 61, "type": "ACTUAL"}
    event = only(diff(old, new))
    assert (event.type, event.severity) == (EventType.ENROLLMENT_CHANGED, Severity.NOTABLE)
    assert event.after == {"count": 61, "type": "ACTUAL", "milestone": "target_reached"}
    assert event.summary == "Enrollment target reached: 61 participants enrolled (target 54)"


def test_actual_enrollment_reported_below_target(old: Study, new: Study) -> None:
    section(new, "designModule")["enrollmentInfo"] = {"count": 27, "type": "ACTUAL"}
    event = only(diff(old, new))
    assert event.after == {"count": 27, "type": "ACTUAL", "milestone": "actual_reported"}
    assert event.summary == "Actual enrollment reported: 27 participants (50% of the target of 54)"


def test_enrollment_estimated_to_actual_with_the_same_count_is_a_milestone(old: Study, new: Study) -> None:
    section(new, "designModule")["enrollmentInfo"]["type"] = "ACTUAL"
    assert only(diff(old, new)).after == {"count": 54, "type": "ACTUAL", "milestone": "target_reached"}


def test_enrollment_actual_to_estimated_with_the_same_count_is_administrative(old: Study, new: Study) -> None:
    section(old, "designModule")["enrollmentInfo"]["type"] = "ACTUAL"
    assert diff(old, new) == []
    assert only(diff(old, new, administrative=True)).severity is Severity.ADMINISTRATIVE


@pytest.mark.parametrize(
    ("count", "severity"), [(60, Severity.MINOR), (90, Severity.NOTABLE), (30, Severity.NOTABLE)]
)
def test_enrollment_target_revision(old: Study, new: Study, count: int, severity: Severity) -> None:
    section(new, "designModule")["enrollmentInfo"]["count"] = count
    event = only(diff(old, new))
    assert (event.type, event.severity) == (EventType.ENROLLMENT_CHANGED, severity)


def test_phase_changed(old: Study, new: Study) -> None:
    section(new, "designModule")["phases"] = ["PHASE2", "PHASE1"]
    event = only(diff(old, new))
    assert (event.type, event.severity) == (EventType.PHASE_CHANGED, Severity.NOTABLE)
    assert (event.before, event.after) == (["PHASE1"], ["PHASE1", "PHASE2"])
    assert event.summary == "Phase: phase 1 → phase 1/phase 2"


def test_lead_sponsor_changed(old: Study, new: Study) -> None:
    section(new, "sponsorCollaboratorsModule")["leadSponsor"]["name"] = (
        "Syndax Pharmaceuticals, a Incyte company"
    )
    event = only(diff(old, new))
    assert (event.type, event.severity) == (EventType.SPONSOR_CHANGED, Severity.NOTABLE)
    assert event.summary == "Lead sponsor: Syndax Pharmaceuticals → Syndax Pharmaceuticals, a Incyte company"


def test_collaborator_added_is_minor(old: Study, new: Study) -> None:
    section(new, "sponsorCollaboratorsModule")["collaborators"] = [
        {"name": "Children's Oncology Group", "class": "NETWORK"}
    ]
    event = only(diff(old, new))
    assert (event.type, event.severity) == (EventType.SPONSOR_CHANGED, Severity.MINOR)
    assert event.summary == "Collaborators: added 'Children's Oncology Group'"


def test_title_changed(old: Study, new: Study) -> None:
    identification = section(new, "identificationModule")
    identification["briefTitle"] = "Revumenib With Chemotherapy in Children With Relapsed Acute Leukemia"
    event = only(diff(old, new))
    assert (event.type, event.severity) == (EventType.TITLE_CHANGED, Severity.MINOR)
    assert event.path == "protocolSection.identificationModule.briefTitle"
    assert event.after == identification["briefTitle"]


def test_title_case_change_is_administrative(old: Study, new: Study) -> None:
    identification = section(new, "identificationModule")
    identification["briefTitle"] = identification["briefTitle"].upper()
    assert diff(old, new) == []
    assert only(diff(old, new, administrative=True)).type is EventType.TITLE_CHANGED


def test_central_contact_change_is_an_other_change(old: Study, new: Study) -> None:
    section(new, "contactsLocationsModule")["centralContacts"] = [
        {"name": "Syndax Clinical Trials", "role": "CONTACT"}
    ]
    event = only(diff(old, new))
    assert (event.type, event.severity) == (EventType.OTHER_CHANGED, Severity.MINOR)
    assert event.summary == "Central contacts changed"


def test_new_trial_and_left_scope_events(old: Study) -> None:
    entered = new_trial_event(old, version_id=7, detected_at=DETECTED_AT)
    assert (entered.type, entered.severity) == (EventType.NEW_TRIAL, Severity.NOTABLE)
    assert (entered.old_version_id, entered.new_version_id, entered.before) == (None, 7, None)
    assert entered.summary.startswith("New trial: A Study of SNDX-5613 in Combination With Chemotherapy")
    assert entered.summary.endswith("(recruiting, phase 1, Syndax Pharmaceuticals)")
    assert str(entered.registry_date) == "2023-11-01"
    left = left_scope_event(old, version_id=9, detected_at=DETECTED_AT)
    assert (left.type, left.before, left.after) == (EventType.LEFT_SCOPE, entered.after, None)


def test_records_of_two_trials_cannot_be_diffed(old: Study) -> None:
    other = study("NCT05645718")
    with pytest.raises(InvalidRecord, match="two different trials"):
        diff(old, other)
    with pytest.raises(InvalidRecord):
        diff({"protocolSection": {}}, old)


def test_removed_duplicates_are_numbered_whatever_their_order(old: Study, new: Study) -> None:
    twins = [
        {
            "facility": "Research Site",
            "city": "Berlin",
            "zip": zip_code,
            "country": "Germany",
            "status": "RECRUITING",
        }
        for zip_code in ("10117", "13156")
    ]
    sites(old).extend(twins)
    reordered = edited(old)
    sites(reordered)[-2:] = reversed(sites(reordered)[-2:])
    assert diff(old, new) == diff(reordered, new)
    base = "protocolSection.contactsLocationsModule.locations[research site|berlin|germany]"
    assert sorted(event.path for event in diff(old, new)) == [base, f"{base}#2"]
