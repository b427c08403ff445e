"""The fake ClinicalTrials.gov API behaves like the real one where the client depends on it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from tests.fakeapi import FakeRegistryServer, Fault, load_sample_studies, make_studies


@pytest.fixture
def http(fake_api: FakeRegistryServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake_api.base_url) as client:
        yield client


def nct_ids(body: dict[str, Any]) -> list[str]:
    return [study["protocolSection"]["identificationModule"]["nctId"] for study in body["studies"]]


def last_update(study: dict[str, Any]) -> str:
    return str(study["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"])


def test_page_token_is_bound_to_its_query(http: httpx.Client) -> None:
    first = http.get("/studies", params={"query.cond": "leukemia", "pageSize": "5"}).json()
    token = first["nextPageToken"]

    other_query = http.get("/studies", params={"query.cond": "lymphoma", "pageSize": "5", "pageToken": token})
    dropped_param = http.get("/studies", params={"pageSize": "5", "pageToken": token})
    same_query = http.get("/studies", params={"query.cond": "leukemia", "pageSize": "5", "pageToken": token})

    assert other_query.status_code == dropped_param.status_code == 400
    assert other_query.headers["content-type"].startswith("text/plain")
    assert "pageToken" in other_query.text
    assert same_query.status_code == 200
    assert set(nct_ids(same_query.json())).isdisjoint(nct_ids(first))


def test_page_size_and_count_total_may_change_between_pages(http: httpx.Client) -> None:
    first = http.get("/studies", params={"query.cond": "leukemia", "pageSize": "5"}).json()

    second = http.get(
        "/studies",
        params={
            "query.cond": "leukemia",
            "pageSize": "7",
            "countTotal": "true",
            "pageToken": first["nextPageToken"],
        },
    )

    assert second.status_code == 200
    assert len(second.json()["studies"]) == 7


def test_tokens_are_opaque_and_cannot_be_made_up(http: httpx.Client) -> None:
    first = http.get("/studies", params={"pageSize": "1"}).json()
    second = http.get("/studies", params={"pageSize": "1", "pageToken": first["nextPageToken"]}).json()

    forged = http.get("/studies", params={"pageSize": "1", "pageToken": "AAAAAQ"})

    assert len(first["nextPageToken"]) >= 38
    assert first["nextPageToken"][:8] != second["nextPageToken"][:8]
    assert forged.status_code == 400


def test_count_total_only_on_the_first_page(http: httpx.Client) -> None:
    params = {"query.cond": "leukemia", "pageSize": "10", "countTotal": "true"}
    first = http.get("/studies", params=params).json()
    second = http.get("/studies", params={**params, "pageToken": first["nextPageToken"]}).json()
    no_count = http.get("/studies", params={"query.cond": "leukemia"}).json()

    assert first["totalCount"] >= 30
    assert "totalCount" not in second
    assert "totalCount" not in no_count


def test_walking_all_pages_returns_each_match_once(http: httpx.Client) -> None:
    params = {"query.cond": "leukemia", "pageSize": "4", "countTotal": "true"}
    body = http.get("/studies", params=params).json()
    total, seen = body["totalCount"], nct_ids(body)
    while "nextPageToken" in body:
        body = http.get("/studies", params={**params, "pageToken": body["nextPageToken"]}).json()
        seen += nct_ids(body)

    assert len(seen) == len(set(seen)) == total


@pytest.mark.parametrize("name", ["filter.phase", "query.recrs", "page_size", "studies"])
def test_unknown_parameter_is_400_in_plain_text(http: httpx.Client, name: str) -> None:
    response = http.get("/studies", params={name: "x"})

    assert response.status_code == 400
    assert response.text == f"`{name}` is unknown parameter"


def test_version_takes_no_parameters(http: httpx.Client) -> None:
    assert http.get("/version", params={"format": "json"}).status_code == 400


@pytest.mark.parametrize(("given", "served"), [(None, 10), ("0", 10), ("3", 3), ("5000", 1000)])
def test_page_size_defaults_and_is_coerced_like_the_spec(
    fake_api: FakeRegistryServer, http: httpx.Client, given: str | None, served: int
) -> None:
    fake_api.set_studies(make_studies(1200))

    body = http.get("/studies", params={} if given is None else {"pageSize": given}).json()

    assert len(body["studies"]) == served


@pytest.mark.parametrize("bad", ["ten", "-1", "1.5"])
def test_invalid_page_size_is_400(http: httpx.Client, bad: str) -> None:
    assert http.get("/studies", params={"pageSize": bad}).status_code == 400


def test_filter_advanced_last_update_from_a_date(http: httpx.Client) -> None:
    expected = sorted(
        s["protocolSection"]["identificationModule"]["nctId"]
        for s in load_sample_studies()
        if last_update(s) >= "2025-06-01"
    )

    body = http.get(
        "/studies",
        params={"filter.advanced": "AREA[LastUpdatePostDate]RANGE[2025-06-01,MAX]", "pageSize": "100"},
    ).json()

    assert len(expected) >= 5
    assert sorted(nct_ids(body)) == expected


def test_filter_advanced_closed_date_range(http: httpx.Client) -> None:
    expected = sorted(
        s["protocolSection"]["identificationModule"]["nctId"]
        for s in load_sample_studies()
        if "2023-10-01" <= last_update(s) <= "2023-10-31"
    )

    body = http.get(
        "/studies",
        params={"filter.advanced": "AREA[LastUpdatePostDate]RANGE[2023-10-01,2023-10-31]", "pageSize": "100"},
    ).json()

    assert len(expected) >= 3
    assert sorted(nct_ids(body)) == expected


def test_filter_advanced_combines_with_and(http: httpx.Client) -> None:
    body = http.get(
        "/studies",
        params={
            "filter.advanced": "AREA[LastUpdatePostDate]RANGE[2023-01-01,MAX] AND AREA[Phase]PHASE1",
            "pageSize": "100",
        },
    ).json()

    assert body["studies"]
    for study in body["studies"]:
        assert last_update(study) >= "2023-01-01"
        assert "PHASE1" in study["protocolSection"]["designModule"]["phases"]


def test_query_cond_phrases_or_and_case(http: httpx.Client) -> None:
    body = http.get(
        "/studies",
        params={"query.cond": '"ACUTE MYELOID LEUKAEMIA" OR "acute myelogenous leukemia"', "pageSize": "100"},
    ).json()

    assert {"NCT02724163", "NCT05321940", "NCT05739409"} <= set(nct_ids(body))
    for study in body["studies"]:
        text = orjson.dumps(study).decode().lower()
        assert "acute myeloid leukaemia" in text or "acute myelogenous leukemia" in text


def test_query_intr_searches_interventions_not_conditions(http: httpx.Client) -> None:
    blinatumomab = http.get("/studies", params={"query.intr": "blinatumomab", "pageSize": "100"}).json()
    leukemia = http.get("/studies", params={"query.intr": "leukemia", "pageSize": "100"}).json()

    assert {"NCT05645718", "NCT06111625"} <= set(nct_ids(blinatumomab))
    assert len(leukemia["studies"]) < 5


def test_query_term_not_excludes(http: httpx.Client) -> None:
    everything = http.get("/studies", params={"query.term": "leukemia", "pageSize": "100"}).json()
    without_chronic = http.get(
        "/studies", params={"query.term": "leukemia NOT chronic", "pageSize": "100"}
    ).json()

    assert "NCT03294980" in nct_ids(everything)  # a chronic lymphoid leukaemia study
    assert "NCT03294980" not in nct_ids(without_chronic)
    assert 0 < len(without_chronic["studies"]) < len(everything["studies"])


def test_invalid_query_syntax_is_400(http: httpx.Client) -> None:
    assert http.get("/studies", params={"query.cond": "(leukemia OR"}).status_code == 400
    assert http.get("/studies", params={"filter.advanced": "RANGE[1,2]"}).status_code == 400


def test_filter_overall_status(http: httpx.Client) -> None:
    body = http.get(
        "/studies", params={"filter.overallStatus": "NOT_YET_RECRUITING|TERMINATED", "pageSize": "100"}
    ).json()
    bad = http.get("/studies", params={"filter.overallStatus": "OPEN"})

    statuses = {s["protocolSection"]["statusModule"]["overallStatus"] for s in body["studies"]}
    assert statuses == {"NOT_YET_RECRUITING", "TERMINATED"}
    assert bad.status_code == 400


def test_filter_ids_matches_ids_and_aliases(http: httpx.Client) -> None:
    body = http.get("/studies", params={"filter.ids": "NCT05923112,nct4747912|NCT00075127"}).json()
    bad = http.get("/studies", params={"filter.ids": "NCT05923112,12345"})

    assert sorted(nct_ids(body)) == ["NCT00057759", "NCT04747912", "NCT05923112"]
    assert bad.status_code == 400


def test_fields_projects_pieces_and_modules(http: httpx.Client) -> None:
    body = http.get(
        "/studies", params={"fields": "NCTId|OverallStatus,ConditionsModule", "pageSize": "3"}
    ).json()
    bad = http.get("/studies", params={"fields": "StudyDesign"})

    for study in body["studies"]:
        assert set(study) == {"protocolSection"}
        assert set(study["protocolSection"]) == {"identificationModule", "statusModule", "conditionsModule"}
        assert set(study["protocolSection"]["identificationModule"]) == {"nctId"}
    assert bad.status_code == 400
    assert bad.text == "Parameter 'fields' contains invalid field name: 'StudyDesign'"


def test_sort_by_last_update_descending(http: httpx.Client) -> None:
    body = http.get("/studies", params={"sort": "LastUpdatePostDate", "pageSize": "100"}).json()
    ascending = http.get("/studies", params={"sort": "LastUpdatePostDate:asc", "pageSize": "100"}).json()

    dates = [last_update(study) for study in body["studies"]]
    assert dates == sorted(dates, reverse=True)
    assert [last_update(study) for study in ascending["studies"]] == sorted(dates)
    assert http.get("/studies", params={"sort": "BriefTitle"}).status_code == 400


def test_single_study_found_missing_malformed_and_alias(
    fake_api: FakeRegistryServer, http: httpx.Client
) -> None:
    found = http.get("/studies/NCT05923112")
    missing = http.get("/studies/NCT00000001")
    malformed = http.get("/studies/leukemia")
    alias = http.get("/studies/NCT00075127")

    assert found.status_code == 200
    assert found.json() == next(
        s for s in fake_api.studies if s["protocolSection"]["identificationModule"]["nctId"] == "NCT05923112"
    )
    assert missing.status_code == 404
    assert malformed.status_code == 400
    assert alias.status_code == 301
    assert alias.headers["location"] == "/api/v2/studies/NCT00057759"


def test_version_and_data_change_like_two_registry_days(
    fake_api: FakeRegistryServer, http: httpx.Client
) -> None:
    day_one = http.get("/version").json()
    fake_api.set_studies(make_studies(3, last_update="2026-11-21"))
    fake_api.data_timestamp = "2026-11-21T09:00:07"
    day_two = http.get("/version").json()
    studies = http.get("/studies").json()

    assert day_one == {"apiVersion": "2.0.5", "dataTimestamp": "2026-11-20T09:00:05"}
    assert day_two == {"apiVersion": "2.0.5", "dataTimestamp": "2026-11-21T09:00:07"}
    assert nct_ids(studies) == ["NCT99000000", "NCT99000001", "NCT99000002"]


def test_unknown_endpoint_is_404(http: httpx.Client) -> None:
    assert http.get("/trials").status_code == 404
    assert httpx.get(str(http.base_url).replace("/api/v2/", "/version")).status_code == 404


def test_status_fault_with_retry_after_applies_once(fake_api: FakeRegistryServer, http: httpx.Client) -> None:
    fake_api.inject(Fault.rate_limited(retry_after="12"))

    limited = http.get("/version")
    after = http.get("/version")

    assert (limited.status_code, limited.headers["retry-after"]) == (429, "12")
    assert after.status_code == 200
    assert fake_api.pending_faults == []


def test_fault_for_a_path_waits_for_that_path(fake_api: FakeRegistryServer, http: httpx.Client) -> None:
    fake_api.inject(Fault.http_error(500, path="/studies"), times=2)

    assert http.get("/version").status_code == 200
    assert http.get("/studies").status_code == 500
    assert http.get("/studies").status_code == 500
    assert http.get("/studies").status_code == 200
    assert [request.fault is not None for request in fake_api.requests] == [False, True, True, False]


def test_truncated_body_breaks_the_connection(fake_api: FakeRegistryServer, http: httpx.Client) -> None:
    fake_api.inject(Fault.truncated())

    with pytest.raises(httpx.RemoteProtocolError):
        http.get("/studies")

    assert http.get("/studies").status_code == 200


def test_invalid_json_is_a_complete_200(fake_api: FakeRegistryServer, http: httpx.Client) -> None:
    fake_api.inject(Fault.invalid_json())

    response = http.get("/studies")

    assert response.status_code == 200
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(response.content)


def test_timeout_fault_answers_nothing_within_the_client_timeout(
    fake_api: FakeRegistryServer, http: httpx.Client
) -> None:
    fake_api.inject(Fault.timeout())

    with pytest.raises(httpx.ReadTimeout):
        http.get("/version", timeout=0.2)


def test_short_delay_still_answers(fake_api: FakeRegistryServer, http: httpx.Client) -> None:
    fake_api.inject(Fault.delay(0.05))

    assert http.get("/version").status_code == 200


def test_disconnect_sends_nothing(fake_api: FakeRegistryServer, http: httpx.Client) -> None:
    fake_api.inject(Fault.disconnect())

    with pytest.raises(httpx.RemoteProtocolError):
        http.get("/version")


def test_request_log_has_params_and_headers(fake_api: FakeRegistryServer, http: httpx.Client) -> None:
    http.get("/studies", params={"query.cond": "leukemia", "pageSize": "2"})
    fake_api.clear_requests()
    http.get("/studies", params={"filter.advanced": "AREA[LastUpdatePostDate]RANGE[2026-11-20,MAX]"})

    [request] = fake_api.requests
    assert request.method == "GET"
    assert request.path == "/studies"
    assert request.param("filter.advanced") == "AREA[LastUpdatePostDate]RANGE[2026-11-20,MAX]"
    assert request.headers["user-agent"].startswith("python-httpx/")


def test_base_url_needs_a_running_server() -> None:
    with pytest.raises(RuntimeError, match="not running"):
        _ = FakeRegistryServer().base_url


def test_no_next_page_token_fault_waits_for_its_page(
    fake_api: FakeRegistryServer, http: httpx.Client
) -> None:
    fake_api.set_studies(make_studies(25))
    fake_api.inject(Fault.no_next_page_token(page=2))

    first = http.get("/studies", params={"pageSize": "10", "countTotal": "true"}).json()
    second = http.get("/studies", params={"pageSize": "10", "pageToken": first["nextPageToken"]}).json()
    again = http.get("/studies", params={"pageSize": "10", "pageToken": first["nextPageToken"]}).json()

    assert first["totalCount"] == 25 and "nextPageToken" in first
    assert len(second["studies"]) == 10 and "nextPageToken" not in second  # the list ends early
    assert "nextPageToken" in again  # used once
    assert [r.page for r in fake_api.requests] == [1, 2, 2]
    assert [r.fault is not None for r in fake_api.requests] == [False, True, False]


def test_wrong_total_fault_miscounts_the_first_page(fake_api: FakeRegistryServer, http: httpx.Client) -> None:
    fake_api.set_studies(make_studies(25))
    fake_api.inject(Fault.wrong_total(+7))

    lying = http.get("/studies", params={"pageSize": "50", "countTotal": "true"}).json()
    honest = http.get("/studies", params={"pageSize": "50", "countTotal": "true"}).json()

    assert (lying["totalCount"], len(lying["studies"])) == (32, 25)
    assert honest["totalCount"] == 25


def test_waiting_for_a_request_blocks_until_it_arrives(
    fake_api: FakeRegistryServer, http: httpx.Client
) -> None:
    with pytest.raises(TimeoutError):
        fake_api.wait_for_request(lambda r: r.path == "/version", timeout=0.01)
    http.get("/version")
    assert fake_api.wait_for_request(lambda r: r.path == "/version").path == "/version"
