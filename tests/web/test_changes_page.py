"""/changes: the change stream across trials, filtered, newest first, each event's before → after."""

from __future__ import annotations

import re
from datetime import date

import httpx
import pytest

from tests.web.data import HOSTILE_ID

pytestmark = pytest.mark.anyio


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def _events(html: str) -> list[dict[str, str]]:
    """Each listed event: its id, date, severity, label, trial, before and after."""
    found = []
    for item in re.findall(r'<li class="event severity-\w+" id="change-\d+">.*?</li>', html, re.S):
        head = re.search(
            r'id="change-(\d+)".*?<span class="change-date">(.*?)</span>\s*'
            r'<span class="badge severity-(\w+)">\w+</span>\s*<strong>(.*?)</strong>\s*'
            r'<a href="/trials/(NCT\d+)">',
            item,
            re.S,
        )
        values = re.search(r"<dt>Before</dt><dd>(.*?)</dd>.*?<dt>After</dt><dd>(.*?)</dd>", item, re.S)
        assert head is not None and values is not None, item
        found.append(
            {
                "id": head.group(1),
                "date": head.group(2),
                "severity": head.group(3),
                "label": head.group(4),
                "nct_id": head.group(5),
                "before": values.group(1),
                "after": values.group(2),
            }
        )
    return found


async def _page(client: httpx.AsyncClient, **params: str | list[str]) -> list[dict[str, str]]:
    response = await client.get("/changes", params=params)
    assert response.status_code == 200, response.text
    return _events(response.text)


async def _api_ids(client: httpx.AsyncClient) -> set[str]:
    body = (await client.get("/api/v1/changes", params={"limit": 1000})).json()
    return {str(c["id"]) for c in body["changes"]}


async def _trials(client: httpx.AsyncClient, **params: str) -> set[str]:
    body = (await client.get("/api/v1/trials", params={**params, "limit": 500})).json()
    return {t["nct_id"] for t in body["trials"]}


def _day(shown: str) -> date:
    return date.fromisoformat(shown)


async def test_every_alertable_change_newest_first(client: httpx.AsyncClient) -> None:
    response = await client.get("/changes")
    assert response.status_code == 200
    assert "<h1>Changes</h1>" in response.text
    events = _events(response.text)
    assert {e["id"] for e in events} == await _api_ids(client)
    days = [_day(e["date"]) for e in events]
    assert days == sorted(days, reverse=True)
    assert events[-1]["nct_id"] == HOSTILE_ID  # the oldest registry date (2023-10-06)
    same_day = [int(e["id"]) for e in events if e["date"] == events[0]["date"]]
    assert same_day == sorted(same_day, reverse=True)  # then the latest detected first


async def test_each_event_shows_before_and_after(client: httpx.AsyncClient) -> None:
    (status,) = await _page(client, type="status_changed", min_severity="critical")
    assert (status["nct_id"], status["label"]) == ("NCT05464836", "Status changed")
    assert status["before"] == "Recruiting"
    assert status["after"] == "Terminated (why stopped: Sponsor decision: enrollment slower than planned)"
    (site,) = await _page(client, type="site_status_changed")
    assert site["before"].endswith("— Not yet recruiting") and site["after"].endswith("— Recruiting")
    html = (await client.get("/changes", params={"type": "status_changed"})).text
    assert '<div class="arrow" aria-hidden="true">→</div>' in html
    assert "<code>protocolSection.statusModule" in html


async def test_filter_by_type_severity_and_administrative(client: httpx.AsyncClient) -> None:
    added = await _page(client, type="site_added")
    assert [(e["label"], e["nct_id"]) for e in added] == [("Site added", "NCT05918692")]
    two = await _page(client, type=["site_added", "results_posted"])
    assert {e["label"] for e in two} == {"Site added", "Results posted"}
    critical = await _page(client, min_severity="critical")
    assert critical and all(e["severity"] == "critical" for e in critical)
    notable = await _page(client, min_severity="notable")
    assert {e["severity"] for e in notable} == {"critical", "notable"}
    everything = await _page(client, include_administrative="true")
    assert len(everything) > len(await _page(client))
    assert "administrative" in {e["severity"] for e in everything}


async def test_filter_by_date_range(client: httpx.AsyncClient) -> None:
    recent = await _page(client, since="2025-01-01")
    assert recent and all(_day(e["date"]) >= date(2025, 1, 1) for e in recent)
    assert HOSTILE_ID not in {e["nct_id"] for e in recent}
    old = await _page(client, until="2024-12-31")
    assert [e["nct_id"] for e in old] == [HOSTILE_ID]
    one_day = await _page(client, since="2025-07-08", until="2025-07-08")
    assert {e["id"] for e in one_day} == {e["id"] for e in recent}
    assert await _page(client, since="2030-01-01") == []
    # A form sends empty fields for the bounds it leaves out.
    assert len(await _page(client, since="", until="", min_severity="")) == len(await _page(client))


@pytest.mark.parametrize(
    ("params", "trial_filter"),
    [
        ({"disease": "AML"}, {"disease": "AML"}),
        ({"disease": "aml"}, {"disease": "AML"}),
        ({"target": "CD19"}, {"target": "CD19"}),
        ({"modality": "CAR-T"}, {"modality": "CAR-T"}),
        ({"target": "CD22", "modality": "CAR-T"}, {"target": "CD22", "modality": "CAR-T"}),
        ({"country": "united states"}, {"country": "United States"}),
    ],
)
async def test_filter_by_the_trials_tags_and_countries(
    client: httpx.AsyncClient, params: dict[str, str], trial_filter: dict[str, str]
) -> None:
    events = await _page(client, **params)
    allowed = await _trials(client, **trial_filter)
    everything = await _page(client)
    assert events, params
    assert {e["nct_id"] for e in events} == {e["nct_id"] for e in everything if e["nct_id"] in allowed}


async def test_a_country_without_trials_lists_nothing(client: httpx.AsyncClient) -> None:
    html = (await client.get("/changes", params={"country": "Atlantis"})).text
    assert _events(html) == [] and "No change matches these filters." in html


async def test_pages_of_a_chosen_size_follow_each_other(client: httpx.AsyncClient) -> None:
    everything = [e["id"] for e in await _page(client)]
    assert len(everything) > 6
    seen: list[str] = []
    url: str | None = "/changes?limit=4&min_severity=minor"
    while url is not None:
        html = (await client.get(url)).text
        ids = [e["id"] for e in _events(html)]
        assert 0 < len(ids) <= 4
        seen.extend(ids)
        following = re.search(r'<a rel="next" href="([^"]+)">', html)
        url = following.group(1).replace("&amp;", "&") if following else None
        if url is not None:
            assert "limit=4" in url and "min_severity=minor" in url
    assert seen == everything
    last = (await client.get("/changes", params={"limit": 4, "page": 99})).text
    assert "No more changes" in last and 'href="/changes?limit=4"' in last


async def test_the_form_keeps_what_was_chosen(client: httpx.AsyncClient) -> None:
    html = (
        await client.get(
            "/changes",
            params={"type": "site_added", "disease": "AML", "country": "France", "since": "2025-01-02"},
        )
    ).text
    assert re.search(r'name="type" value="site_added" checked', html)
    assert re.search(r'<option value="AML" selected>', html)
    assert 'name="country" type="text" value="France"' in html
    assert 'id="since" name="since" type="date" value="2025-01-02"' in html


async def test_the_navigation_links_the_changes_page(client: httpx.AsyncClient) -> None:
    home = (await client.get("/")).text
    assert '<a href="/changes">Changes</a>' in home
    assert '<a href="/changes" aria-current="page">Changes</a>' in (await client.get("/changes")).text


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"disease": "nonsense"}, "disease: unknown disease 'nonsense'"),
        ({"target": "CD999"}, "target: unknown target"),
        ({"type": "exploded"}, "type."),
        ({"min_severity": "urgent"}, "min_severity:"),
        ({"since": "0"}, "since: expected a date as YYYY-MM-DD"),
        ({"until": "2025-02-30"}, "until:"),
        ({"since": "2025-02-01", "until": "2025-01-01"}, "until: 2025-01-01 is before since (2025-02-01)"),
        ({"page": "0"}, "page:"),
        ({"limit": "5000"}, "limit:"),
        ({"country": "Fr\x01ance"}, "control characters are not allowed"),
    ],
)
async def test_bad_filter_values_are_a_422_that_names_them(
    client: httpx.AsyncClient, params: dict[str, str], problem: str
) -> None:
    page = await client.get("/changes", params=params)
    assert page.status_code == 422
    assert page.headers["content-type"].startswith("text/html")
    shown = _text(page.text).replace("&#39;", "'")
    assert "That request is not valid" in shown
    assert problem in shown, shown
    as_json = await client.get("/changes", params=params, headers={"accept": "application/json"})
    body = as_json.json()
    assert as_json.status_code == 422 and body["ok"] is False
    assert any(problem in p for p in body["error"]["problems"]), body
