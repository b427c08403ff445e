"""RegistryClient against the fake ClinicalTrials.gov API: paging, retries, throttling, errors."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from hemewatch.errors import (
    IncompleteResults,
    InvalidNctId,
    RegistryRequestRejected,
    RegistryUnavailable,
    StudyNotFound,
)
from hemewatch.registry.backoff import RetryPolicy, parse_retry_after
from hemewatch.registry.client import RegistryClient, RegistryVersion
from hemewatch.registry.ratelimit import RateLimiter
from hemewatch.settings import USER_AGENT
from tests.fakeapi import FakeRegistryServer, Fault, make_studies


class FakeTime:
    """A clock that moves only when something sleeps on it; remembers every sleep."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def make_client(fake_api: FakeRegistryServer, fake_time: FakeTime):
    """Build clients on the fake API that never really sleep; unthrottled unless asked."""
    clients: list[RegistryClient] = []

    def build(**options: object) -> RegistryClient:
        settings: dict[str, object] = {
            "user_agent": USER_AGENT,
            "requests_per_minute": 0,
            "timeout": 5.0,
            "max_retries": 3,
            "sleep": fake_time.sleep,
            "clock": fake_time.clock,
        }
        settings.update(options)
        client = RegistryClient(fake_api.base_url, **settings)  # type: ignore[arg-type]
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client) -> RegistryClient:
    return make_client()


def test_pages_follow_next_page_token_across_2500_studies(
    fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    studies = make_studies(2500)
    fake_api.set_studies(studies)
    query = {"query.cond": "acute lymphoblastic leukemia", "filter.overallStatus": "ACTIVE_NOT_RECRUITING"}

    pages = list(client.iter_study_pages(query, page_size=1000))

    assert [len(page.studies) for page in pages] == [1000, 1000, 500]
    assert [page.page_number for page in pages] == [1, 2, 3]
    assert [page.total_count for page in pages] == [2500, None, None]
    assert pages[-1].next_page_token is None
    received = [s["protocolSection"]["identificationModule"]["nctId"] for page in pages for s in page.studies]
    assert received == [s["protocolSection"]["identificationModule"]["nctId"] for s in studies]
    requests = fake_api.requests
    assert len(requests) == 3
    for request, previous in zip(requests, [None, *pages[:-1]], strict=True):
        assert request.path == "/studies"
        assert request.param("pageSize") == "1000"
        assert request.param("format") == "json"
        assert request.param("countTotal") == "true"
        assert request.param("query.cond") == query["query.cond"]
        assert request.param("filter.overallStatus") == query["filter.overallStatus"]
        assert request.param("pageToken") == (previous.next_page_token if previous else None)


def test_count_total_can_be_left_out(fake_api: FakeRegistryServer, client: RegistryClient) -> None:
    pages = list(client.iter_study_pages({"query.cond": "leukemia"}, page_size=10, count_total=False))

    assert len(pages) > 1
    assert all(page.total_count is None for page in pages)
    assert all(request.param("countTotal") is None for request in fake_api.requests)


def test_a_list_that_ends_before_its_count_raises_after_its_last_page(
    fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    fake_api.set_studies(make_studies(2528))
    fake_api.inject(Fault.no_next_page_token(page=2))
    pages = []

    with pytest.raises(IncompleteResults) as raised:
        for page in client.iter_study_pages({"query.cond": "leukemia"}, page_size=500):
            pages.append(page)

    assert [len(page.studies) for page in pages] == [500, 500]  # every page received is yielded
    assert (raised.value.received, raised.value.expected) == (1000, 2528)
    assert raised.value.message == (
        "received 1,000 of 2,528 studies for query.cond=leukemia (page 2 came without nextPageToken)"
    )


def test_a_registry_that_counts_more_than_it_sends_is_caught(
    fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    fake_api.set_studies(make_studies(30))
    fake_api.inject(Fault.wrong_total(+1))

    with pytest.raises(IncompleteResults, match="received 30 of 31 studies"):
        list(client.iter_study_pages({"query.cond": "leukemia"}, page_size=10))
    # Without countTotal nothing is counted, so nothing is checked.
    fake_api.inject(Fault.no_next_page_token(page=1))
    assert (
        len(list(client.iter_study_pages({"query.cond": "leukemia"}, page_size=10, count_total=False))) == 1
    )


def test_empty_result_is_one_empty_page(client: RegistryClient) -> None:
    pages = list(client.iter_study_pages({"query.cond": "no-such-disease-anywhere"}))

    assert [(page.studies, page.total_count, page.next_page_token) for page in pages] == [([], 0, None)]


def test_paging_parameters_belong_to_the_client(client: RegistryClient) -> None:
    with pytest.raises(ValueError, match="pageToken"):
        client.iter_study_pages({"pageToken": "abc"})
    with pytest.raises(ValueError, match="page_size"):
        client.iter_study_pages({}, page_size=1001)


def test_429_waits_as_long_as_retry_after_says(
    fake_api: FakeRegistryServer, client: RegistryClient, fake_time: FakeTime
) -> None:
    fake_api.inject(Fault.rate_limited(retry_after="7"))

    version = client.get_version()

    assert version.api_version == "2.0.5"
    assert fake_time.sleeps == [7.0]
    assert [r.fault.status if r.fault else None for r in fake_api.requests] == [429, None]


def test_retry_after_is_capped_by_backoff_max(
    fake_api: FakeRegistryServer, make_client, fake_time: FakeTime
) -> None:
    fake_api.inject(Fault.rate_limited(retry_after="3600"))

    make_client(backoff_max=30.0).get_version()

    assert fake_time.sleeps == [30.0]


def test_503_retry_after_as_http_date_is_honoured(
    fake_api: FakeRegistryServer, client: RegistryClient, fake_time: FakeTime
) -> None:
    fake_api.inject(Fault.http_error(503, retry_after="Wed, 21 Oct 2015 07:28:00 GMT"))

    client.get_version()

    # A date in the past means "now"; the parsing itself is checked against a fixed clock below.
    assert fake_time.sleeps == [0.0]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", 120.0),
        (" 2 ", 2.0),
        ("Fri, 20 Nov 2026 09:01:05 GMT", 60.0),
        ("Fri, 20 Nov 2026 08:00:00 GMT", 0.0),
        ("soon", None),
        ("-5", None),
        (None, None),
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    now = datetime(2026, 11, 20, 9, 0, 5, tzinfo=UTC)

    assert parse_retry_after(header, now) == expected


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_error_then_success(
    fake_api: FakeRegistryServer, client: RegistryClient, fake_time: FakeTime, status: int
) -> None:
    fake_api.inject(Fault.http_error(status), times=1)

    assert (
        client.get_study("NCT05923112")["protocolSection"]["identificationModule"]["nctId"] == "NCT05923112"
    )
    assert len(fake_api.requests) == 2
    assert len(fake_time.sleeps) == 1
    assert 0.5 <= fake_time.sleeps[0] <= 1.0


def test_backoff_doubles_with_jitter(fake_api: FakeRegistryServer, make_client, fake_time: FakeTime) -> None:
    fake_api.inject(Fault.http_error(503), times=4)

    make_client(max_retries=4, backoff_base=2.0, backoff_max=10.0).get_version()

    ceilings = [2.0, 4.0, 8.0, 10.0]
    assert len(fake_time.sleeps) == 4
    for slept, ceiling in zip(fake_time.sleeps, ceilings, strict=True):
        assert ceiling / 2 <= slept <= ceiling


@pytest.mark.parametrize(
    "fault",
    [Fault.timeout(path="/studies"), Fault.truncated(path="/studies"), Fault.invalid_json(path="/studies"),
     Fault.disconnect(path="/studies")],
    ids=lambda fault: fault.kind.value,
)  # fmt: skip
def test_broken_answer_then_success(fake_api: FakeRegistryServer, make_client, fault: Fault) -> None:
    # A short timeout keeps the timeout case fast; the fake waits far longer than that.
    client = make_client(timeout=0.3)
    fake_api.inject(fault)

    pages = list(client.iter_study_pages({"filter.ids": "NCT05923112,NCT04747912"}))

    assert [len(page.studies) for page in pages] == [2]
    assert [request.fault for request in fake_api.requests] == [fault, None]


def test_persistent_failure_raises_registry_unavailable(
    fake_api: FakeRegistryServer, client: RegistryClient, fake_time: FakeTime
) -> None:
    fake_api.inject(Fault.http_error(503), times=10)

    with pytest.raises(RegistryUnavailable) as raised:
        client.get_version()

    message = raised.value.message
    assert f"{fake_api.base_url}/version" in message
    assert "4 attempt(s)" in message
    assert "HTTP 503" in message
    assert len(fake_api.requests) == 4
    assert len(fake_time.sleeps) == 3


def test_body_that_never_parses_is_unavailable_not_empty(
    fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    fake_api.inject(Fault.invalid_json(), times=4)

    with pytest.raises(RegistryUnavailable, match="not valid JSON"):
        list(client.iter_study_pages({"query.cond": "leukemia"}))


def test_failure_in_the_middle_of_paging_raises(fake_api: FakeRegistryServer, client: RegistryClient) -> None:
    fake_api.set_studies(make_studies(2500))
    pages = client.iter_study_pages({}, page_size=1000)
    first = next(pages)
    fake_api.inject(Fault.http_error(502, path="/studies"), times=4)

    with pytest.raises(RegistryUnavailable, match="HTTP 502"):
        next(pages)

    assert len(first.studies) == 1000
    assert all(request.param("pageToken") == first.next_page_token for request in fake_api.requests[1:])


def test_timeouts_until_the_end_say_so(fake_api: FakeRegistryServer, make_client) -> None:
    fake_api.inject(Fault.timeout(), times=2)

    with pytest.raises(RegistryUnavailable, match="timed out"):
        make_client(timeout=0.2, max_retries=1).get_version()


def test_unknown_parameter_is_rejected_without_retrying(
    fake_api: FakeRegistryServer, client: RegistryClient
) -> None:
    with pytest.raises(RegistryRequestRejected, match=r"`filter\.phase` is unknown parameter"):
        list(client.iter_study_pages({"filter.phase": "PHASE3"}))

    assert len(fake_api.requests) == 1


def test_bad_query_syntax_is_rejected(client: RegistryClient) -> None:
    with pytest.raises(RegistryRequestRejected, match="HTTP 400"):
        list(client.iter_study_pages({"filter.advanced": "AREA[NoSuchField]x"}))


def test_get_study_normalises_the_id(fake_api: FakeRegistryServer, client: RegistryClient) -> None:
    study = client.get_study(" nct04747912 ")

    assert study["protocolSection"]["identificationModule"]["nctId"] == "NCT04747912"
    assert "derivedSection" in study
    assert fake_api.requests[0].path == "/studies/NCT04747912"


@pytest.mark.parametrize("bad", ["", "NCT123", "NCT0474791200", "04747912", "NCT0474791X", "NCT04747912/x"])
def test_get_study_refuses_malformed_ids_before_asking(
    fake_api: FakeRegistryServer, client: RegistryClient, bad: str
) -> None:
    with pytest.raises(InvalidNctId, match="eight digits"):
        client.get_study(bad)

    assert fake_api.requests == []


def test_unknown_study_is_not_found(fake_api: FakeRegistryServer, client: RegistryClient) -> None:
    with pytest.raises(StudyNotFound, match="NCT00000001"):
        client.get_study("NCT00000001")

    assert len(fake_api.requests) == 1


def test_alias_id_follows_the_redirect_to_the_study(client: RegistryClient) -> None:
    study = client.get_study("NCT00075127")

    assert study["protocolSection"]["identificationModule"]["nctId"] == "NCT00057759"


def test_version_reports_the_current_release(fake_api: FakeRegistryServer, client: RegistryClient) -> None:
    first = client.get_version()
    fake_api.data_timestamp = "2026-11-21T09:00:02"

    assert first == RegistryVersion(api_version="2.0.5", data_timestamp="2026-11-20T09:00:05")
    assert client.get_version().data_timestamp == "2026-11-21T09:00:02"


def test_every_request_carries_the_user_agent(fake_api: FakeRegistryServer, client: RegistryClient) -> None:
    client.get_version()
    list(client.iter_study_pages({"query.cond": "leukemia"}, page_size=20))
    client.get_study("NCT05923112")

    assert len(fake_api.requests) >= 4
    for request in fake_api.requests:
        assert request.headers["user-agent"] == USER_AGENT
        assert request.headers["accept"] == "application/json"


def test_requests_are_spaced_by_the_rate_limit(
    fake_api: FakeRegistryServer, make_client, fake_time: FakeTime
) -> None:
    client = make_client(requests_per_minute=50)

    for _ in range(4):
        client.get_version()

    assert fake_time.sleeps == pytest.approx([1.2, 1.2, 1.2])
    assert len(fake_api.requests) == 4


def test_retries_count_against_the_rate_limit(
    fake_api: FakeRegistryServer, make_client, fake_time: FakeTime
) -> None:
    fake_api.inject(Fault.rate_limited(retry_after="0.5"))
    client = make_client(requests_per_minute=60)

    client.get_version()

    # 0.5 s asked for by the server, then 0.5 s more to keep a full second between the two requests.
    assert fake_time.sleeps == pytest.approx([0.5, 0.5])


def test_rate_limiter_leaves_room_after_a_late_call(fake_time: FakeTime) -> None:
    limiter = RateLimiter(30, clock=fake_time.clock, sleep=fake_time.sleep)

    limiter.wait()
    fake_time.now += 5.0  # the caller was busy well past its next slot
    limiter.wait()
    limiter.wait()

    assert limiter.interval == 2.0
    assert fake_time.sleeps == [2.0]


def test_rate_limiter_rejects_negative_rates(fake_time: FakeTime) -> None:
    with pytest.raises(ValueError, match="requests_per_minute"):
        RateLimiter(-1, clock=fake_time.clock, sleep=fake_time.sleep)


def test_retry_policy_prefers_retry_after_but_caps_it() -> None:
    policy = RetryPolicy(max_retries=2, base=1.0, cap=10.0)
    rng = random.Random(7)

    assert policy.max_attempts == 3
    assert policy.delay(0, 4.0, rng) == 4.0
    assert policy.delay(0, 99.0, rng) == 10.0
    assert all(5.0 <= policy.delay(9, None, rng) <= 10.0 for _ in range(50))


def test_client_requires_a_user_agent(fake_api: FakeRegistryServer) -> None:
    with pytest.raises(ValueError, match="user_agent"):
        RegistryClient(fake_api.base_url, user_agent=" ")
