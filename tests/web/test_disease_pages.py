"""Disease pages a newcomer learns from: the about text and its sources, the KMT2A / menin, post-CAR-T
and CD7 sections on the demo data, and the status filter that narrows every section."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from markupsafe import escape

from hemewatch.pipeline.importing import import_files
from hemewatch.registry.scope import load_scope
from hemewatch.settings import Settings
from hemewatch.storage.engine import open_database
from hemewatch.web.app import create_app
from hemewatch.web.layouts import DiseasePage, PageLayoutError, load_disease_pages, parse_disease_pages
from tests.web.data import HOSTILE_ID, hostile_record

pytestmark = pytest.mark.anyio

PAGES = list(load_disease_pages())
SECTION = re.compile(r'<section class="section" id="([a-z0-9-]+)"(.*?)</section>', re.S)
ROW_ID = re.compile(r'<td class="nct"><a href="/trials/(NCT\d{8})">')
STATUS_BADGE = re.compile(r'<span class="status status-([a-z-]+)">')


def _page(slug: str) -> DiseasePage:
    page = load_disease_pages().get(slug)
    assert page is not None
    return page


def _sections(html: str) -> dict[str, str]:
    return {ident: body for ident, body in SECTION.findall(html)}


def _count(body: str) -> int:
    found = re.search(r'<span class="count">([\d,]+)</span>', body)
    assert found is not None
    return int(found.group(1).replace(",", ""))


async def _api_ids(client: httpx.AsyncClient, query: str, limit: int) -> tuple[int, list[str]]:
    response = await client.get(f"/api/v1/trials?{query}&limit={limit}")
    assert response.status_code == 200, response.text
    body = response.json()
    return body["total"], [t["nct_id"] for t in body["trials"]]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.slug)
async def test_every_page_opens_with_an_about_section_and_its_sources(
    client: httpx.AsyncClient, page: DiseasePage
) -> None:
    assert page.about is not None, f"{page.slug} has no about section"
    html = (await client.get(f"/diseases/{page.slug}")).text
    about = html.index('id="about"')
    first_section = html.index(f'id="{page.sections[0].id}"', html.index("</nav>", html.index('class="toc"')))
    assert about < first_section, "the about section must come before the trial sections"
    block = html[about : html.index("</section>", about)]
    for heading in ("Subtypes", "What its trials ask now", "Sources"):
        assert f">{heading}</h3>" in block
    for paragraph in page.about.text:
        assert f"<p>{escape(paragraph)}</p>" in block
    assert len(re.findall(r"<li>", block)) >= len(page.about.subtypes) + len(page.about.questions)
    for source in page.about.sources:
        assert f"<cite>{escape(source.title)}</cite>" in block
        assert f'href="{source.link}"' in block
        assert source.link.startswith(("https://doi.org/10.", "https://"))
    assert "/work/" not in block and "seeds" not in block


def test_a_source_must_say_where_to_find_it() -> None:
    layout = {
        "pages": [
            {
                "slug": "all",
                "name": "ALL",
                "title": "ALL",
                "summary": "s",
                "about": {
                    "text": ["t"],
                    "subtypes": ["s"],
                    "questions": ["q"],
                    "sources": [{"title": "A review", "published": "A journal, 2025"}],
                },
                "filters": {"disease": ["ALL"]},
                "sections": [{"id": "s", "title": "S"}],
            }
        ]
    }
    with pytest.raises(PageLayoutError, match="needs a doi or a url"):
        parse_disease_pages(layout, source="test.yaml")


@pytest.mark.parametrize(
    ("slug", "section", "expected"),
    [
        # Real demo records: the menin-inhibitor trials (revumenib, bleximenib, ziftomenib) and other
        # trials for KMT2A-rearranged leukemia; the base-edited CD7 CAR-T trial (BE-CAR7).
        ("aml", "kmt2a-menin", {"NCT05326516", "NCT04811560", "NCT05521087", "NCT05848687", "NCT05918692"}),
        ("all", "kmt2a-menin", {"NCT05326516", "NCT04811560", "NCT05521087", "NCT05848687"}),
        ("b-all", "kmt2a-menin", {"NCT05326516", "NCT05848687"}),
        ("t-all", "cd7", {"NCT05397184"}),
        ("all", "cd7", {"NCT05397184"}),
    ],
)
async def test_new_sections_list_their_trials_on_the_demo_data(
    client: httpx.AsyncClient, slug: str, section: str, expected: set[str]
) -> None:
    html = (await client.get(f"/diseases/{slug}")).text
    body = _sections(html)[section]
    shown = set(ROW_ID.findall(body))
    assert expected <= shown
    # The section shows what the same filters find through the API, no more and no less.
    page = _page(slug)
    filters = page.section_filters(next(s for s in page.sections if s.id == section))
    assert filters is not None
    total, ids = await _api_ids(client, filters.query_string(), 100)
    assert shown == set(ids) and _count(body) == total


@pytest.mark.parametrize("slug", ["all", "b-all", "ph-all"])
async def test_the_post_car_t_section_uses_the_lexicon_setting(client: httpx.AsyncClient, slug: str) -> None:
    page = _page(slug)
    section = next(s for s in page.sections if s.id == "post-car-t")
    assert section.filters.setting == ["post-CAR-T"]
    filters = page.section_filters(section)
    assert filters is not None
    total, ids = await _api_ids(client, filters.query_string(), 100)
    body = _sections((await client.get(f"/diseases/{slug}")).text)["post-car-t"]
    assert _count(body) == total and set(ROW_ID.findall(body)) == set(ids)
    if total == 0:
        assert "No trial in the mirror matches this section today." in body


async def test_a_status_narrows_every_section(client: httpx.AsyncClient) -> None:
    every = _sections((await client.get("/diseases/all")).text)
    response = await client.get("/diseases/all", params={"status": "recruiting"})
    assert response.status_code == 200
    recruiting = _sections(response.text)
    assert recruiting.keys() == every.keys()
    narrower = 0
    for ident, body in recruiting.items():
        if ident == "related":
            continue
        assert set(STATUS_BADGE.findall(body)) <= {"recruiting"}, ident
        assert _count(body) <= _count(every[ident])
        narrower += _count(body) < _count(every[ident])
    assert narrower >= 2
    # Links out of a narrowed section keep the status.
    assert "status=RECRUITING" in recruiting["cell-therapy"]
    assert '<a class="pill" href="/diseases/all?status=RECRUITING" aria-current="true">' in response.text


async def test_a_status_outside_a_sections_own_lists_nothing_there_and_says_why(
    client: httpx.AsyncClient,
) -> None:
    # NCT05464836 (T-ALL) was terminated on demo day 2.
    html = (await client.get("/diseases/t-all?status=TERMINATED")).text
    sections = _sections(html)
    # "Active phase 3 programs" lists open trials only: a terminated one is not mixed in.
    assert ROW_ID.findall(sections["phase-3"]) == []
    assert "This section lists only trials that are recruiting" in sections["phase-3"]
    # A section without statuses of its own shows the terminated trial, and nothing else.
    assert ROW_ID.findall(sections["recent"]) == ["NCT05464836"]
    badges = [badge for body in sections.values() for badge in STATUS_BADGE.findall(body)]
    assert badges and set(badges) == {"terminated"}


async def test_several_statuses_combine(client: httpx.AsyncClient) -> None:
    query = "status=TERMINATED&status=SUSPENDED&status=WITHDRAWN"
    html = (await client.get(f"/diseases/t-all?{query}")).text
    badges = {badge for body in _sections(html).values() for badge in STATUS_BADGE.findall(body)}
    assert badges == {"terminated"}
    # The "Stopped early" choice is the one shown as current.
    assert f'href="/diseases/t-all?{query.replace("&", "&amp;")}" aria-current="true">Stopped early' in html
    assert "with status terminated or suspended or withdrawn" in html


@pytest.mark.parametrize("value", ["bogus", "OPEN", "<script>"])
async def test_an_unknown_status_is_a_clear_422(client: httpx.AsyncClient, value: str) -> None:
    response = await client.get("/diseases/b-all", params={"status": value})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "unknown status" in response.text and "RECRUITING" in response.text
    assert "<script>" not in response.text


async def test_trial_text_stays_escaped_on_disease_pages(client: httpx.AsyncClient) -> None:
    html = (await client.get("/diseases/t-all")).text
    assert HOSTILE_ID in html
    assert "&lt;script&gt;alert(" in html
    assert '<script>alert("pwned")' not in html and "<img src=x" not in html


async def test_a_page_kept_rendered_shows_new_data_and_its_own_path(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    # The page's HTML is kept until the data change, one per path and statuses.
    settings = make_settings()
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    fresh = "A T-ALL trial stored after the page was first rendered"
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            before = (await http.get("/diseases/t-all")).text
            assert fresh not in before and (await http.get("/diseases/t-all")).text == before
            # The same page under another spelling of its path marks its own path in the navigation.
            upper = (await http.get("/diseases/T-ALL")).text
            assert 'href="/diseases/t-all"' in upper and upper != before
            study = json.loads(hostile_record(tmp_path).read_text(encoding="utf-8"))
            study["protocolSection"]["identificationModule"].update(nctId="NCT99999977", briefTitle=fresh)
            record = tmp_path / "fresh.jsonl"
            record.write_text(json.dumps(study) + "\n", encoding="utf-8")
            assert settings.database_url is not None
            engine = open_database(settings.database_url)
            try:
                import_files(engine, [record], scope=load_scope(), in_scope_only=True)
            finally:
                engine.dispose()
            after = (await http.get("/diseases/t-all")).text
            assert fresh in after and "NCT99999977" in after
            # Its statuses are a page of their own, and the trial text stays escaped in every one.
            recruiting = (await http.get("/diseases/t-all?status=RECRUITING")).text
            for html in (before, after, recruiting):
                assert '<script>alert("pwned")' not in html
    finally:
        app.state.web.engine.dispose()


def test_section_filters_narrow_to_the_statuses_a_section_shares() -> None:
    page = _page("aml")
    by_id = {section.id: section for section in page.sections}
    phase_3 = page.section_filters(by_id["phase-3"], ["RECRUITING", "COMPLETED"])
    assert phase_3 is not None and phase_3.status == ["RECRUITING"] and phase_3.phase == ["PHASE3"]
    assert page.section_filters(by_id["phase-3"], ["COMPLETED"]) is None
    cells = page.section_filters(by_id["cell-therapy"], ["COMPLETED"])
    assert cells is not None and cells.status == ["COMPLETED"] and cells.disease == page.filters.disease
    unfiltered = page.section_filters(by_id["cell-therapy"])
    assert unfiltered is not None and unfiltered.status == []
