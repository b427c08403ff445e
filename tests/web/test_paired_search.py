"""Paired target + modality questions, text search by drug and condition, and suggestions, over HTTP.

The app runs on a mirror of trials whose classifications (therapies included) are built by the test,
on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterator
from html import unescape
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from hemewatch.classification import default_lexicon
from hemewatch.settings import Settings
from hemewatch.web import create_app
from hemewatch.web.cache import DataCache
from hemewatch.web.views.context import ViewContext
from hemewatch.web.views.landscape import landscape
from tests.storage.test_paired_and_text import ADC, BLINA_INO, CAR19_INO, CAR22, MENIN, seed_world

pytestmark = pytest.mark.anyio


@pytest.fixture
def paired_app(engine: Engine, db_url: str, make_settings: Callable[..., Settings]) -> Iterator[FastAPI]:
    """The app on a mirror of the paired world only."""
    with engine.begin() as conn:
        seed_world(conn)
    application = create_app(make_settings(database_url=db_url))
    yield application
    application.state.web.engine.dispose()


@pytest.fixture
async def http(paired_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=paired_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def listed(http: httpx.AsyncClient, **params: str | list[str]) -> set[str]:
    response = await http.get("/api/v1/trials", params=params)
    assert response.status_code == 200, response.text
    return {trial["nct_id"] for trial in response.json()["trials"]}


def shown(html: str) -> set[str]:
    return set(re.findall(r'<td class="nct"><a href="/trials/(NCT\d{8})"', html))


async def test_api_and_search_ask_target_and_modality_of_one_therapy(http: httpx.AsyncClient) -> None:
    assert await listed(http, target="CD22", modality=ADC) == {BLINA_INO, CAR19_INO}
    assert await listed(http, target="CD19", modality=ADC) == set()
    assert await listed(http, target="CD22", modality="CAR-T") == {CAR22}
    page = await http.get("/search", params={"target": "CD22", "modality": ADC})
    assert shown(page.text) == {BLINA_INO, CAR19_INO}
    page = await http.get("/search", params={"target": "CD19", "modality": ADC})
    assert shown(page.text) == set() and "No trial matches these filters" in page.text


async def test_facets_of_a_paired_search_agree_with_clicking(http: httpx.AsyncClient) -> None:
    facets = (await http.get("/api/v1/facets", params={"target": "CD19"})).json()["facets"]
    assert facets["modality"] == {"CAR-T": 1, "T-cell engager": 1}
    for modality, count in facets["modality"].items():
        body = (await http.get("/api/v1/trials", params={"target": "CD19", "modality": modality})).json()
        assert body["total"] == count
    facets = (await http.get("/api/v1/facets", params={"modality": ADC})).json()["facets"]
    assert facets["target"] == {"CD22": 2}
    page = (await http.get("/search", params={"target": "CD19"})).text
    assert 'name="modality" value="CAR-T"' in page and 'name="modality" value="T-cell engager"' in page
    assert f'name="modality" value="{ADC}"' not in page


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("revumenib", {MENIN}),
        ("SNDX-5613", {MENIN}),
        ("sndx5613", {MENIN}),
        ("Revuforj", {MENIN}),
        ("Blincyto", {BLINA_INO}),
        ("Besponsa", {BLINA_INO, CAR19_INO}),
        ("obe-cel", {CAR19_INO}),
        ("KMT2A", {MENIN}),
    ],
)
async def test_text_search_finds_drugs_by_any_name(
    http: httpx.AsyncClient, text: str, expected: set[str]
) -> None:
    assert await listed(http, q=text) == expected
    assert shown((await http.get("/search", params={"q": text})).text) == expected


async def test_a_search_that_finds_nothing_suggests_names_and_keeps_its_facets(
    http: httpx.AsyncClient,
) -> None:
    body = (await http.get("/api/v1/trials", params={"q": "blinatumomb", "limit": "10"})).json()
    assert body["total"] == 0
    (suggestion,) = body["suggestions"]
    assert suggestion["kind"] == "agent" and suggestion["value"] == "blinatumomab"
    assert parse_qs(urlsplit(suggestion["url"]).query) == {"q": ["blinatumomab"], "limit": ["10"]}
    assert await listed(http, q="blinatumomab") == {BLINA_INO}
    # A search with results, or without text, suggests nothing.
    assert (await http.get("/api/v1/trials", params={"q": "blinatumomab"})).json()["suggestions"] == []
    assert (await http.get("/api/v1/trials", params={"target": "CD7"})).json()["suggestions"] == []

    page = (await http.get("/search", params={"q": "blinatumomb", "disease": "B-ALL"})).text
    assert "No trial matches these filters" in page
    link = re.search(r'Did you mean <a href="([^"]+)">blinatumomab</a> \(agent\)', page)
    assert link is not None
    assert parse_qs(urlsplit(unescape(link.group(1))).query) == {"disease": ["B-ALL"], "q": ["blinatumomab"]}
    # The facets of the other filters stay, said to leave the text out.
    assert "the counts below leave the text out" in page
    assert re.search(r'name="disease" value="B-ALL" checked', page)
    assert 'name="modality" value="CAR-T"' in page


async def test_search_text_is_escaped(http: httpx.AsyncClient) -> None:
    hostile = '<script>alert("q")</script><img src=x onerror=alert(1)>'
    page = await http.get("/search", params={"q": hostile})
    assert page.status_code == 200
    assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert(" in page.text
    body = (await http.get("/api/v1/trials", params={"q": hostile})).json()
    assert body["total"] == 0 and body["suggestions"] == []


async def test_landscape_counts_real_therapy_pairs(http: httpx.AsyncClient, paired_app: FastAPI) -> None:
    state = paired_app.state.web
    with state.engine.connect() as conn:
        matrix = landscape(ViewContext(conn, DataCache(), default_lexicon()), ()).target_modality
    assert matrix.get("CD22", "antibody-drug conjugate") == 2
    assert matrix.get("CD19", "antibody-drug conjugate") == 0  # blinatumomab + inotuzumab is no CD19 ADC
    assert matrix.get("CD19", "T-cell engager") == 1 and matrix.get("CD19", "CAR-T") == 1
    assert matrix.get("CD22", "CAR-T") == 1
    assert set(matrix.rows) == {"CD19", "CD22"}
    page = await http.get("/landscape")
    assert page.status_code == 200 and "CD22" in page.text
