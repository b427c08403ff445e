"""Every HTML page, in process: disease pages, trial pages, search, landscape, front page."""

from __future__ import annotations

import csv
import io
import json
import re

import httpx
import pytest

from hemewatch.web.layouts import load_disease_pages

pytestmark = pytest.mark.anyio

SLUGS = [page.slug for page in load_disease_pages()]


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def test_front_page_lists_disease_pages_and_latest_changes(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    for slug in SLUGS:
        assert f'href="/diseases/{slug}"' in response.text
    assert "Latest changes" in response.text
    assert "NCT05464836" in response.text  # terminated on demo day 2


@pytest.mark.parametrize("slug", SLUGS)
async def test_disease_page_has_its_sections_related_pages_and_track_button(
    client: httpx.AsyncClient, slug: str
) -> None:
    page = load_disease_pages().get(slug)
    assert page is not None
    response = await client.get(f"/diseases/{slug}")
    assert response.status_code == 200
    html = response.text
    assert html.count("<h1") == 1
    for section in page.sections:
        assert f'id="{section.id}"' in html
        assert section.title.replace("–", "–") in html
    for related in page.related:
        assert f'href="/diseases/{related}"' in html
    assert "/trackers/new?" in html and "Track these trials" in html


async def test_all_page_shows_the_generated_drug_mechanism_lines(client: httpx.AsyncClient) -> None:
    html = _text((await client.get("/diseases/all")).text)
    # Real day-2 trials: CD22 CAR-T (NCT02650414), inotuzumab with TKIs (NCT04747912).
    assert "CD22 CAR-T" in html
    assert "Inotuzumab ozogamicin (CD22 antibody-drug conjugate)" in html
    assert "Blinatumomab (CD19 × CD3 T-cell engager)" in html
    for column in ("NCT ID", "Drug / mechanism", "Sponsor", "Phase", "Status", "Last change"):
        assert column in html


async def test_recently_changed_section_lists_trials_with_their_latest_change(
    client: httpx.AsyncClient,
) -> None:
    html = (await client.get("/diseases/aml")).text
    recent = html[html.index('id="recent"') :]
    assert "NCT05918692" in recent or "NCT05886491" in recent
    assert "New enrolling site" in recent


async def test_unknown_disease_page_is_a_404_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/diseases/cml")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "There is no disease page" in response.text


async def test_trial_page_shows_essentials_tags_sites_and_timeline(client: httpx.AsyncClient) -> None:
    response = await client.get("/trials/NCT05464836")
    assert response.status_code == 200
    html = response.text
    text = _text(html)
    assert "CB-103" in text and "Venetoclax (BCL-2 inhibitor)" in text
    assert "M.D. Anderson Cancer Center" in text
    assert "Terminated" in text and "Sponsor decision: enrollment slower than planned" in text
    assert 'href="https://clinicaltrials.gov/study/NCT05464836"' in html
    # Tags with their evidence.
    assert "Tags and their evidence" in html
    assert '<span class="tag">T-ALL</span>' in html
    assert "<code>protocolSection." in html
    # Sites with recruitment status, and the country list.
    assert "Sites by country" in html and "United States" in html and "Recruiting" in html
    # The timeline with before → after.
    timeline = text[text.index("Change timeline") :]
    assert "Status changed" in timeline
    assert re.search(r"Before Recruiting → After Terminated", timeline)


async def test_trial_timeline_can_include_administrative_changes(client: httpx.AsyncClient) -> None:
    alertable = (await client.get("/trials/NCT05464836")).text
    everything = (await client.get("/trials/NCT05464836?all=1")).text
    assert "lastUpdateSubmitDate" not in alertable
    assert "lastUpdateSubmitDate" in everything


async def test_site_events_show_the_site_before_and_after(client: httpx.AsyncClient) -> None:
    text = _text((await client.get("/trials/NCT05886491")).text)
    site = "University of Alabama at Birmingham (UAB) Hospital, Birmingham, Alabama, United States"
    assert f"{site} — Not yet recruiting" in text
    assert "— Recruiting" in text


async def test_trial_address_is_canonical(client: httpx.AsyncClient) -> None:
    response = await client.get("/trials/nct05464836")
    assert response.status_code == 308
    assert response.headers["location"] == "http://testserver/trials/NCT05464836"


@pytest.mark.parametrize("nct_id", ["NCT00000000", "not-an-id"])
async def test_unknown_trial_is_a_404_page(client: httpx.AsyncClient, nct_id: str) -> None:
    response = await client.get(f"/trials/{nct_id}")
    assert response.status_code == 404
    assert "<h1>Not found</h1>" in response.text


async def test_search_filters_facets_and_chips(client: httpx.AsyncClient) -> None:
    response = await client.get("/search", params={"modality": "CAR-T", "target": "CD22"})
    assert response.status_code == 200
    html = response.text
    assert "NCT02650414" in html  # CD22 CAR-T
    assert "NCT05464836" not in html
    assert 'aria-label="Remove filter Modality: CAR-T"' in html
    # Facets keep the alternatives to a selected value (disjunctive counts); with a target chosen,
    # the modalities are those of therapies directed at it (inotuzumab: a CD22 antibody-drug conjugate).
    assert re.search(r'name="modality" value="CAR-T" checked', html)
    assert re.search(r'name="modality" value="antibody-drug conjugate"', html)
    # Every facet checkbox has its label.
    ids = re.findall(r'<input type="checkbox" id="([^"]+)"', html)
    assert ids and all(f'<label for="{i}">' in html for i in ids)


async def test_search_text_sort_and_pagination(client: httpx.AsyncClient) -> None:
    first = await client.get("/search", params={"sort": "nct_id", "order": "asc"})
    ids = re.findall(r'<td class="nct"><a href="/trials/(NCT\d{8})"', first.text)
    assert ids == sorted(ids) and len(ids) == 25
    assert 'aria-sort="ascending"' in first.text
    second = await client.get("/search", params={"sort": "nct_id", "order": "asc", "page": 2})
    more = re.findall(r'<td class="nct"><a href="/trials/(NCT\d{8})"', second.text)
    assert more and more[0] > ids[-1]
    found = await client.get("/search", params={"q": "brexucabtagene"})
    assert "NCT05993949" in found.text


async def test_search_with_no_result_says_so(client: httpx.AsyncClient) -> None:
    response = await client.get("/search", params={"q": "no trial has this text"})
    assert response.status_code == 200
    assert "No trial matches these filters" in response.text


async def test_empty_form_fields_do_not_filter(client: httpx.AsyncClient) -> None:
    everything = await client.get("/api/v1/trials")
    blank = await client.get("/search?q=&sponsor=&disease=&phase=&status=")
    assert blank.status_code == 200
    assert f"{everything.json()['total']} trials" in blank.text


async def test_export_csv_and_json_list_every_matching_trial(client: httpx.AsyncClient) -> None:
    csv_response = await client.get("/search", params={"disease": "AML", "format": "csv"})
    assert csv_response.status_code == 200
    assert csv_response.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv_response.headers["content-disposition"]
    # A byte-order mark first, so Excel reads the file as UTF-8; readers drop it with utf-8-sig.
    assert csv_response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(csv_response.content.decode("utf-8-sig"))))
    json_response = await client.get("/search", params={"disease": "AML", "format": "json"})
    body = json.loads(json_response.text)
    assert body["ok"] is True and body["total"] == len(rows) == len(body["trials"]) > 20
    api_total = (await client.get("/api/v1/trials", params={"disease": "AML"})).json()["total"]
    assert api_total == len(rows)
    assert {row["nct_id"] for row in rows} == {trial["nct_id"] for trial in body["trials"]}
    assert all(row["url"].startswith("http://testserver/trials/NCT") for row in rows)


async def test_export_defuses_spreadsheet_formulas(client: httpx.AsyncClient) -> None:
    from hemewatch.pipeline.export import spreadsheet_text

    assert spreadsheet_text("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert spreadsheet_text(["a", "b"]) == "a; b"
    assert spreadsheet_text(None) == ""


async def test_landscape_page_has_three_charts_with_text_alternatives(client: httpx.AsyncClient) -> None:
    response = await client.get("/landscape")
    assert response.status_code == 200
    html = response.text
    images = re.findall(r'<img src="(/landscape/\w+\.svg)" alt="([^"]+)"', html)
    assert [src for src, _ in images] == [
        "/landscape/targets.svg",
        "/landscape/phases.svg",
        "/landscape/years.svg",
    ]
    assert all(len(alt) > 40 for _, alt in images)
    assert html.count("Data table") == 3
    assert "CD19" in html and "CAR-T" in html


@pytest.mark.parametrize("chart", ["targets", "phases", "years"])
async def test_charts_are_standalone_svg_without_scripts(client: httpx.AsyncClient, chart: str) -> None:
    response = await client.get(f"/landscape/{chart}.svg", params={"disease": "all"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.text.lstrip().startswith("<?xml") and "<svg" in response.text
    assert "<script" not in response.text
    # Nothing is fetched from elsewhere: the chart works offline.
    assert not re.search(r'(?:href|src)\s*=\s*"(?:https?:)?//', response.text)
    assert "url(http" not in response.text and "@import" not in response.text


async def test_landscape_for_one_disease_and_unknown_ones(client: httpx.AsyncClient) -> None:
    assert (await client.get("/landscape", params={"disease": "aml"})).status_code == 200
    assert (await client.get("/landscape", params={"disease": "nope"})).status_code == 404
    assert (await client.get("/landscape/pie.svg")).status_code == 404


async def test_static_assets_are_served_from_the_package(client: httpx.AsyncClient) -> None:
    for name in ("site.css", "site.js", "favicon.svg"):
        response = await client.get(f"/static/{name}")
        assert response.status_code == 200, name
