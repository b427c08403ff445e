"""Filter values on the web: every spelling the vocabulary accepts works, unknown values are refused (422)."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from hemewatch.settings import Settings
from hemewatch.storage.tables import trackers
from hemewatch.web import create_app
from tests.alerts.servers import SmtpServer
from tests.web.forms import csrf_token

pytestmark = pytest.mark.anyio

# (parameter, unknown value, what the message must say)
UNKNOWN = [
    ("disease", "AMLL", ["unknown disease 'AMLL' (did you mean AML", "`hemewatch values disease`"]),
    ("target", "CD999", ["unknown target 'CD999'", "targets are known, e.g. CD19"]),
    ("modality", "CAR-X", ["unknown modality 'CAR-X' (did you mean CAR-T", "modalities are known"]),
    ("phase", "PHASE9", ["unknown phase 'PHASE9'", "valid phases are EARLY_PHASE1, PHASE1, PHASE2, PHASE3"]),
    ("phase", "1/2", ["phase '1/2' names two phases"]),
    ("status", "open", ["unknown status 'open'", "valid statuses are NOT_YET_RECRUITING, RECRUITING"]),
    (
        "agent",
        "Blincito",
        ["unknown agent 'Blincito' (did you mean blinatumomab?)", "`hemewatch values agent`"],
    ),
    ("setting", "MRD-negative", ["unknown setting 'MRD-negative'", "valid settings are relapsed/refractory"]),
    ("population", "veterans", ["unknown population 'veterans'", "pediatric, AYA, adult, older adult"]),
]


def _envelope(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert body["ok"] is False and body["error"]["status"] == 422
    assert body["error"]["message"].startswith("Invalid request:")
    return body


async def _ids(client: httpx.AsyncClient, **params: str | list[str]) -> set[str]:
    response = await client.get("/api/v1/trials", params={**params, "limit": "500"})
    assert response.status_code == 200, response.text
    return {trial["nct_id"] for trial in response.json()["trials"]}


@pytest.mark.parametrize(("name", "value", "expected"), UNKNOWN)
async def test_the_api_refuses_unknown_values_with_the_envelope(
    client: httpx.AsyncClient, name: str, value: str, expected: list[str]
) -> None:
    for path in ("/api/v1/trials", "/api/v1/facets"):
        body = _envelope(await client.get(path, params={name: value}))
        [problem] = body["error"]["problems"]
        assert problem.startswith(f"{name}: ")
        for text in expected:
            assert text in problem, problem


async def test_every_unknown_value_is_named_at_once(client: httpx.AsyncClient) -> None:
    body = _envelope(await client.get("/api/v1/trials?disease=AMLL&agent=Blincito&phase=9&limit=0"))
    problems = " | ".join(body["error"]["problems"])
    for text in ("unknown disease 'AMLL'", "unknown agent 'Blincito'", "unknown phase '9'", "limit"):
        assert text in problems


async def test_the_api_accepts_every_spelling_of_a_value(client: httpx.AsyncClient) -> None:
    phase_2 = await _ids(client, phase="PHASE2")
    assert phase_2
    for spelling in ("2", "phase 2", "Phase 2", "phase2", "Phase II"):
        assert await _ids(client, phase=spelling) == phase_2, spelling
    recruiting = await _ids(client, status="NOT_YET_RECRUITING")
    for spelling in ("not yet recruiting", "Not yet recruiting", "not-yet-recruiting"):
        assert await _ids(client, status=spelling) == recruiting, spelling
    blinatumomab = await _ids(client, agent="blinatumomab")
    assert blinatumomab
    for spelling in ("Blincyto", "AMG 103", "blinatumumab"):
        assert await _ids(client, agent=spelling) == blinatumomab, spelling
    assert await _ids(client, disease="b-all") == await _ids(client, disease="B-ALL")
    assert await _ids(client, modality="car t") == await _ids(client, modality="CAR-T")


async def test_the_api_answers_in_canonical_values(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/v1/facets", params={"agent": "Blincyto", "phase": "2"})).json()
    assert body["ok"] is True and body["total"] >= 1
    assert body["facets"]["agent"]["blinatumomab"] >= 1


async def test_openapi_lists_the_canonical_values(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    parameters = {p["name"]: p for p in spec["paths"]["/api/v1/trials"]["get"]["parameters"]}
    assert "blinatumomab" in parameters["agent"]["schema"]["items"]["enum"]
    assert "Ph+ ALL" in parameters["disease"]["schema"]["items"]["enum"]
    assert "refused" in parameters["target"]["description"]


@pytest.mark.parametrize(("name", "value", "expected"), UNKNOWN)
async def test_search_shows_a_page_saying_what_is_wrong(
    client: httpx.AsyncClient, name: str, value: str, expected: list[str]
) -> None:
    response = await client.get("/search", params={name: value, "q": "leukemia"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    text = html.unescape(response.text)
    assert text.count("<h1") == 1
    for part in expected:
        assert part in text


async def test_search_exports_refuse_unknown_values_with_the_envelope(client: httpx.AsyncClient) -> None:
    for export in ("csv", "json"):
        body = _envelope(await client.get("/search", params={"format": export, "target": "CD999"}))
        assert "unknown target 'CD999'" in body["error"]["message"]


async def test_search_chips_show_the_canonical_value(client: httpx.AsyncClient) -> None:
    response = await client.get("/search", params={"agent": "Blincyto", "status": "recruiting"})
    assert response.status_code == 200
    assert 'aria-label="Remove filter Agent: blinatumomab"' in response.text
    assert 'aria-label="Remove filter Status: Recruiting"' in response.text


async def test_the_tracker_form_refuses_unknown_values(
    web: httpx.AsyncClient, smtp: SmtpServer, settings: Settings
) -> None:
    assert (await web.get("/trackers/new", params={"disease": "AMLL"})).status_code == 422
    form = await web.get("/trackers/new", params={"disease": "AML"})
    response = await web.post(
        "/trackers/new",
        data={
            "csrf_token": csrf_token(form.text),
            "name": "AML",
            "email": "dr.lee@example.org",
            "disease": "AML",
            "agent": "Blincito",
            "phase": "PHASE9",
        },
    )
    assert response.status_code == 422
    text = html.unescape(response.text)
    assert "unknown agent 'Blincito' (did you mean blinatumomab?)" in text
    assert "unknown phase 'PHASE9'" in text and "valid phases are EARLY_PHASE1" in text
    assert smtp.messages == []
    engine = create_app(settings).state.web.engine
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(trackers)).scalar_one() == 0
    engine.dispose()


async def test_the_tracker_form_stores_canonical_values(
    web: httpx.AsyncClient, smtp: SmtpServer, settings: Settings
) -> None:
    form = await web.get("/trackers/new", params={"agent": "Blincyto", "phase": "2"})
    assert re.search(r'name="agent" value="blinatumomab" checked', form.text)
    assert re.search(r'name="phase" value="PHASE2" checked', form.text)
    response = await web.post(
        "/trackers/new",
        data={
            "csrf_token": csrf_token(form.text),
            "name": "Blinatumomab",
            "email": "dr.lee@example.org",
            "agent": "Blincyto",
            "status": "not yet recruiting",
        },
    )
    assert response.status_code == 201, response.text
    assert len(smtp.messages) == 1
    engine = create_app(settings).state.web.engine
    with engine.connect() as conn:
        criteria = conn.execute(select(trackers.c.criteria)).scalar_one()
    engine.dispose()
    assert criteria["agents"] == ["blinatumomab"] and criteria["statuses"] == ["NOT_YET_RECRUITING"]
