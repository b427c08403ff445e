"""Web downloads: /api/v1/export (a workbook, zips of Parquet or CSV tables) and /search?format=csv."""

from __future__ import annotations

import html
import io
import re
import sqlite3
import zipfile

import httpx
import openpyxl
import pandas as pd
import pytest

from hemewatch.pipeline.export import TABLES
from hemewatch.settings import Settings
from tests.web.data import HOSTILE_ID

pytestmark = pytest.mark.anyio
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
GREEK_TITLE = "=1+1 γδ T cells"


async def api_ids(client: httpx.AsyncClient, **params: str) -> list[str]:
    """Every NCT id the search API lists for these filters."""
    ids: list[str] = []
    offset = 0
    while True:
        page = (await client.get("/api/v1/trials", params={**params, "limit": 500, "offset": offset})).json()
        ids += [t["nct_id"] for t in page["trials"]]
        if page["next"] is None:
            return sorted(ids)
        offset += 500


def retitle(settings: Settings, nct_id: str, title: str) -> None:
    """Give one trial of the test's private mirror copy another title."""
    path = settings.effective_database_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE trials SET brief_title = ? WHERE nct_id = ?", (title, nct_id))


async def test_excel_download_holds_the_matching_trials(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    retitle(settings, HOSTILE_ID, GREEK_TITLE)
    response = await client.get("/api/v1/export", params={"format": "xlsx", "disease": "T-ALL"})

    assert response.status_code == 200
    assert response.headers["content-type"] == XLSX
    assert response.headers["content-disposition"] == 'attachment; filename="hemewatch-export.xlsx"'
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == [t.name for t in TABLES]
    sheet = book["trials"]
    assert sheet.freeze_panes == "A2" and all(c.font.bold for c in sheet[1])
    ids = [row[0].value for row in sheet.iter_rows(min_row=2)]
    assert ids == await api_ids(client, disease="T-ALL")
    titles = {row[0].value: row[1] for row in sheet.iter_rows(min_row=2)}
    assert titles[HOSTILE_ID].value == GREEK_TITLE and titles[HOSTILE_ID].data_type == "s"
    frames = pd.read_excel(io.BytesIO(response.content), sheet_name=None)
    assert set(frames["tags"]["nct_id"]) <= set(ids)
    assert (frames["tags"][frames["tags"]["kind"] == "disease"]["value"] == "T-ALL").any()


async def test_parquet_and_csv_downloads_are_zips_of_tables(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    retitle(settings, HOSTILE_ID, GREEK_TITLE)
    wanted = await api_ids(client, target="CD19")

    parquet = await client.get("/api/v1/export", params={"format": "parquet", "target": "CD19"})
    assert parquet.status_code == 200 and parquet.headers["content-type"] == "application/zip"
    assert 'filename="hemewatch-export-parquet.zip"' in parquet.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(parquet.content)) as bundle:
        assert bundle.namelist() == [f"{t.name}.parquet" for t in TABLES]
        trials = pd.read_parquet(io.BytesIO(bundle.read("trials.parquet")))
    assert sorted(trials["nct_id"]) == wanted
    assert all("CD19" in list(targets) for targets in trials["targets"])

    as_csv = await client.get("/api/v1/export", params={"format": "csv", "q": "T-ALL"})
    assert as_csv.status_code == 200 and as_csv.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(as_csv.content)) as bundle:
        assert bundle.namelist() == [f"{t.name}.csv" for t in TABLES]
        raw = bundle.read("trials.csv")
    assert raw.startswith(b"\xef\xbb\xbf")
    frame = pd.read_csv(io.BytesIO(raw), encoding="utf-8-sig")
    assert frame.set_index("nct_id").loc[HOSTILE_ID, "title"] == "'" + GREEK_TITLE


async def test_events_since_a_date_and_bad_parameters(client: httpx.AsyncClient) -> None:
    every = await client.get("/api/v1/export", params={"format": "parquet"})
    later = await client.get("/api/v1/export", params={"format": "parquet", "since": "2100-01-01"})
    with zipfile.ZipFile(io.BytesIO(every.content)) as bundle:
        all_events = pd.read_parquet(io.BytesIO(bundle.read("events.parquet")))
    with zipfile.ZipFile(io.BytesIO(later.content)) as bundle:
        no_events = pd.read_parquet(io.BytesIO(bundle.read("events.parquet")))
        trials = pd.read_parquet(io.BytesIO(bundle.read("trials.parquet")))
    assert len(all_events) > 10 and no_events.empty and len(trials) > 90

    for params in ({"format": "ods"}, {"since": "yesterday"}, {"disease": "flu"}):
        refused = await client.get("/api/v1/export", params=params)
        assert refused.status_code == 422, params
        assert refused.json()["ok"] is False


async def test_export_is_documented_in_openapi(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    operation = schema["paths"]["/api/v1/export"]["get"]
    assert set(operation["responses"]["200"]["content"]) == {XLSX, "application/zip"}
    parameters = {p["name"] for p in operation["parameters"]}
    assert {"format", "since", "disease", "target", "modality", "q", "status", "country"} <= parameters


async def test_search_page_links_the_downloads_with_its_filters(client: httpx.AsyncClient) -> None:
    page = await client.get("/search", params={"disease": "B-ALL", "target": "CD19", "sort": "title"})
    links = dict(
        (label, html.unescape(href))
        for href, label in re.findall(
            r'<a class="button" href="(/api/v1/export\?[^"]+)"[^>]*>(\w+)</a>', page.text
        )
    )
    assert set(links) == {"Excel", "Parquet"}
    assert links["Excel"] == "/api/v1/export?disease=B-ALL&target=CD19&format=xlsx"
    assert links["Parquet"] == "/api/v1/export?disease=B-ALL&target=CD19&format=parquet"
    workbook = await client.get(links["Excel"])
    assert workbook.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(workbook.content))["trials"]
    assert [row[0].value for row in sheet.iter_rows(min_row=2)] == await api_ids(
        client, disease="B-ALL", target="CD19"
    )


async def test_search_csv_opens_in_excel_with_greek_letters(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    retitle(settings, HOSTILE_ID, GREEK_TITLE)
    response = await client.get("/search", params={"q": HOSTILE_ID, "format": "csv"})

    assert response.status_code == 200
    assert response.content.startswith(b"\xef\xbb\xbf")
    frame = pd.read_csv(io.BytesIO(response.content), encoding="utf-8-sig")
    assert frame["nct_id"].tolist() == [HOSTILE_ID]
    assert frame["title"].tolist() == ["'" + GREEK_TITLE]
