"""The record-history endpoints: captured answers parsed, HTML read, shape changes and faults met clearly."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import orjson
import pytest

from hemewatch.errors import (
    ConfigurationError,
    RecordHistoryChanged,
    RecordHistoryNotFound,
    RegistryUnavailable,
)
from hemewatch.registry.client import RegistryClient
from hemewatch.registry.history import (
    fetch_history,
    fetch_version,
    internal_api_base,
    parse_history,
    parse_version,
    site_study,
    site_text,
)
from hemewatch.registry.records import parse_study
from hemewatch.settings import USER_AGENT
from hemewatch.text import criteria_lines
from tests.fakeapi.faults import Fault
from tests.fakeapi.history import built_history, built_ids, captured, real_study
from tests.fakeapi.server import FakeRegistryServer

ACTT = "NCT04280705"
CRPC = "NCT03690141"


# --- The captured answers ---


def test_the_captured_list_is_read_with_its_dates_statuses_and_modules() -> None:
    history = parse_history(CRPC, captured("NCT03690141-history.json.gz"))
    assert [v.version for v in history.versions] == list(range(10))
    first, last = history.versions[0], history.versions[-1]
    assert (first.date, first.status, first.module_labels) == (date(2018, 9, 27), "NOT_YET_RECRUITING", ())
    assert (last.date, last.status, last.module_labels) == (date(2020, 4, 27), "COMPLETED", ("Study Status",))
    assert "Outcome Measures" in history.versions[5].module_labels
    assert [v.status for v in history.versions].count("RECRUITING") == 6


def test_the_list_inside_a_study_answer_reads_the_same() -> None:
    # GET …/studies/{nct}?history=true carries the same list as its `history` member.
    member = captured("NCT03690141-history.json.gz")
    assert parse_history(CRPC, {"study": {}, "history": member}) == parse_history(CRPC, member)


def test_the_captured_version_is_read_as_a_data_api_study() -> None:
    body = captured("NCT04280705-history-0.json.gz")
    record = parse_version(ACTT, 0, body)
    protocol = record.study["protocolSection"]
    assert record.nct_id == ACTT and record.last_update_post_date == date(2020, 2, 21)
    assert record.version_holder is None  # the site's versions have no derivedSection
    assert protocol["statusModule"]["overallStatus"] == "NOT_YET_RECRUITING"
    assert protocol["designModule"]["enrollmentInfo"] == {"count": 394, "type": "ESTIMATED"}
    # Entities decoded, in every text.
    summary = protocol["descriptionModule"]["briefSummary"]
    assert "evolve/improve" in summary and "&#x2F;" not in summary and "SpO2 </= 94%" in summary
    measure = protocol["outcomesModule"]["secondaryOutcomes"][-1]["measure"]
    assert measure.startswith("Time to discharge or to a National Early Warning Score (NEWS) of </= 2")
    # HTML lists as the Data API's Markdown: each criterion on its line, in its section.
    criteria = protocol["eligibilityModule"]["eligibilityCriteria"]
    assert "<li>" not in criteria and "<p>" not in criteria
    assert criteria.startswith("Inclusion Criteria:\n\n1. Subject (or legally authorized representative)")
    lines = list(criteria_lines(criteria))
    assert [section for section, _, _ in lines].count("inclusion") == 10  # 7 criteria and 3 sub-criteria
    # 5 criteria, one of them written over two lines ("(i.e.\nestimated glomerular filtration rate").
    assert [section for section, _, _ in lines].count("exclusion") == 6
    assert ("inclusion", "Requiring mechanical ventilation and/or supplemental oxygen.") in [
        (section, text) for section, text, _ in lines
    ]
    # Nothing else changed: the same record as read by hand, with the site's text decoded.
    assert record.study == site_study(body["study"])
    assert record.content_hash == parse_study(site_study(body["study"])).content_hash


def test_site_text_turns_html_into_the_data_api_form() -> None:
    assert site_text("<ul><li>A ≥50% PSA decline</li><li>RECIST 1.1</li></ul>") == (
        "* A ≥50% PSA decline\n* RECIST 1.1"
    )
    nested = (
        "<p>Inclusion Criteria:</p><ol><li><p>Illness:</p><ul><li>Fever</li></ul></li><li>Adult</li></ol>"
    )
    assert site_text(nested) == "Inclusion Criteria:\n\n1. Illness:\n   * Fever\n2. Adult"
    assert site_text('Study (<mark class="hl-term">CRPC</mark>)') == "Study (CRPC)"
    assert site_text("Gilbert&#x27;s &amp; &lt;3 &gt;/= 2") == "Gilbert's & <3 >/= 2"
    # Text in the Data API's own form (Markdown, bare ampersands) passes unchanged.
    for text in ("R&D and AT&T", "* age \\>= 18\n* ECOG 0-1", "x < 3 and y > 2", "&copy without semicolon"):
        assert site_text(text) == text


def test_the_built_histories_match_their_real_contents() -> None:
    # Each built list entry says what its version's study says (PROVENANCE.md).
    for nct_id in built_ids():
        history = built_history(nct_id)
        listed = parse_history(nct_id, history.listing)
        for entry in listed.versions:
            study = history.versions[entry.version]["study"]
            status = study["protocolSection"]["statusModule"]
            assert entry.date.isoformat() == status["lastUpdateSubmitDate"]
            assert entry.status == status["overallStatus"]
            assert parse_version(nct_id, entry.version, history.versions[entry.version]).nct_id == nct_id


# --- Shape changes fail clearly ---


def _list() -> dict[str, Any]:
    return dict(captured("NCT03690141-history.json.gz"))


def _changed_list(change: Any) -> dict[str, Any]:
    body = _list()
    body["changes"] = copy.deepcopy(body["changes"])
    change(body)
    return body


@pytest.mark.parametrize(
    ("body", "expected", "got"),
    [
        ([], "a JSON object with a `changes` list", "[]"),
        ({"versions": []}, "a non-empty `changes` list", "None"),
        ({"changes": []}, "a non-empty `changes` list", "[]"),
        (_changed_list(lambda b: b["changes"][3].update(version="3")), "`version`: a whole number", "'3'"),
        (_changed_list(lambda b: b["changes"][0].update(version=True)), "`version`: a whole number", "True"),
        (
            _changed_list(lambda b: b["changes"][1].update(date="16/10/2018")),
            "`date`: a date",
            "'16/10/2018'",
        ),
        (_changed_list(lambda b: b["changes"][1].pop("date")), "`date`: a date as YYYY-MM-DD", "None"),
        (_changed_list(lambda b: b["changes"][2].update(moduleLabels="Study Status")), "`moduleLabels`", ""),
        (_changed_list(lambda b: b["changes"][2].update(status=3)), "`status`: a status code", "3"),
        (
            _changed_list(lambda b: b["changes"][4].update(version=3)),
            "each version listed once",
            "'version 3 twice'",
        ),
    ],
)
def test_a_list_in_another_shape_fails_naming_what_was_expected_and_what_came(
    body: Any, expected: str, got: str
) -> None:
    with pytest.raises(RecordHistoryChanged) as raised:
        parse_history(CRPC, body)
    message = raised.value.message
    assert f"the record history of {CRPC}" in message and f"expected {expected}" in message
    assert f"got {got}" in message and "nothing was stored" in message


def _version() -> dict[str, Any]:
    return dict(captured("NCT04280705-history-0.json.gz"))


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ([_version()], 'a JSON object {"studyVersion": …, "study": {…}}'),
        ({**_version(), "studyVersion": 1}, "`studyVersion`: 0"),
        ({"studyVersion": 0, "record": _version()["study"]}, "`study`: a v2 study object"),
        (
            {"studyVersion": 0, "study": real_study("data/ctgov/versions/NCT05923112__2023-06-28.json")},
            f"{ACTT}",
        ),
    ],
)
def test_a_version_in_another_shape_fails_clearly(body: Any, expected: str) -> None:
    with pytest.raises(RecordHistoryChanged) as raised:
        parse_version(ACTT, 0, body)
    assert f"version 0 of the record history of {ACTT}" in raised.value.message
    assert expected in raised.value.message


def test_a_version_whose_study_cannot_be_read_fails_clearly() -> None:
    body = _version()
    del body["study"]["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]
    with pytest.raises(RecordHistoryChanged, match="lastUpdatePostDateStruct"):
        parse_version(ACTT, 0, body)


def test_the_internal_api_is_found_beside_the_data_api() -> None:
    assert internal_api_base("https://clinicaltrials.gov/api/v2") == "https://clinicaltrials.gov/api/int"
    assert internal_api_base("http://127.0.0.1:8080/api/v2/") == "http://127.0.0.1:8080/api/int"
    with pytest.raises(ConfigurationError, match="registry_url to end in /api/v2"):
        internal_api_base("https://mirror.example.org/ctgov")


# --- Over HTTP, against the fake registry ---


def test_fetching_a_history_and_a_version_over_http(
    fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    fake_api.history.add(ACTT, built_history(ACTT))
    history = fetch_history(client, ACTT.lower())
    assert [(v.version, v.date) for v in history.versions] == [(0, date(2020, 2, 20)), (1, date(2022, 3, 9))]
    record = fetch_version(client, ACTT, 0)
    assert (
        record.content_hash == parse_version(ACTT, 0, captured("NCT04280705-history-0.json.gz")).content_hash
    )
    paths = [r.path for r in fake_api.requests]
    assert paths == [f"/api/int/studies/{ACTT}/history", f"/api/int/studies/{ACTT}/history/0"]
    assert all(r.headers["user-agent"] == USER_AGENT for r in fake_api.requests)


def test_a_trial_without_history_is_named(fake_api: FakeRegistryServer, client: RegistryClient) -> None:
    with pytest.raises(RecordHistoryNotFound, match=f"no record history for {CRPC}"):
        fetch_history(client, CRPC)
    fake_api.history.add(ACTT, built_history(ACTT))
    with pytest.raises(RecordHistoryNotFound, match=f"no version 7 in the record history of {ACTT}"):
        fetch_version(client, ACTT, 7)


def test_rate_limits_and_server_errors_are_retried(
    fake_api: FakeRegistryServer, client: RegistryClient, delays: list[float]
) -> None:
    fake_api.history.add(ACTT, built_history(ACTT))
    listing = f"/api/int/studies/{ACTT}/history"
    fake_api.inject(Fault.rate_limited("3", path=listing))
    fake_api.inject(Fault.http_error(500, path=f"{listing}/1"), times=2)
    assert len(fetch_history(client, ACTT).versions) == 2
    assert fetch_version(client, ACTT, 1).last_update_post_date == date(2022, 3, 14)
    assert delays[0] == 3.0  # the server's Retry-After, then two back-offs for the 500s
    assert len(delays) == 3 and fake_api.pending_faults == []
    assert [r.path for r in fake_api.requests].count(f"{listing}/1") == 3


def test_a_server_that_keeps_failing_is_reported(
    fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    fake_api.history.add(ACTT, built_history(ACTT))
    fake_api.inject(Fault.http_error(503, path=f"/api/int/studies/{ACTT}/history"), times=3)
    with pytest.raises(RegistryUnavailable, match="did not answer"):
        fetch_history(client, ACTT)


def test_a_reshaped_answer_over_http_fails_clearly(
    fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    fake_api.history.add(ACTT, built_history(ACTT))
    reshaped = orjson.dumps({"versions": [{"n": 0, "postedOn": "2020-02-21"}]})
    fake_api.inject(Fault.reshaped(reshaped, path=f"/api/int/studies/{ACTT}/history"))
    with pytest.raises(RecordHistoryChanged, match="expected a non-empty `changes` list, got None"):
        fetch_history(client, ACTT)
    fake_api.inject(
        Fault.reshaped(orjson.dumps({"studyVersion": 0}), path=f"/api/int/studies/{ACTT}/history/0")
    )
    with pytest.raises(RecordHistoryChanged, match="expected `study`: a v2 study object, got None"):
        fetch_version(client, ACTT, 0)


def test_the_client_reads_only_its_registrys_site(client: RegistryClient) -> None:
    with pytest.raises(ValueError, match="not on the registry's site"):
        client.get_json("https://example.org/api/int/studies/NCT04280705/history")
