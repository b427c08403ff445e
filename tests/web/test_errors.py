"""One error envelope for every error of every endpoint: 404, 422 and 500, and error pages for people."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from hemewatch.settings import Settings
from hemewatch.web import create_app

pytestmark = pytest.mark.anyio

# For every documented endpoint: a request that is not found and one that is invalid.
NOT_FOUND: dict[str, str] = {
    "/api/v1/trials/{nct_id}": "/api/v1/trials/NCT00000000",
    "/api/v1/trials/{nct_id}/changes": "/api/v1/trials/NCT00000000/changes",
    "/api/v1/trials": "/api/v1/trialz",
    "/api/v1/changes": "/api/v1/changes/1",
    "/api/v1/facets": "/api/v1/facets/disease",
    "/api/v1/status": "/api/v1/status/scheduler",
    "/api/v1/prescreen": "/api/v1/prescreen/NCT05464836",
    "/api/v1/trials/{nct_id}/fhir": "/api/v1/trials/NCT00000000/fhir",
    "/api/v1/fhir/ResearchStudy": "/api/v1/fhir/ResearchStudy/NCT05464836",
    "/api/v1/export": "/api/v1/export/xlsx",
    "/healthz": "/healthz/deep",
}
INVALID: dict[str, str] = {
    "/api/v1/trials/{nct_id}": "/api/v1/trials/" + "N" * 30,
    "/api/v1/trials/{nct_id}/changes": "/api/v1/trials/NCT05464836/changes?include_administrative=perhaps",
    "/api/v1/trials": "/api/v1/trials?phase=PHASE9&limit=0",
    "/api/v1/changes": "/api/v1/changes?since=yesterday",
    "/api/v1/facets": "/api/v1/facets?status=OPEN",
    "/api/v1/status": None,  # type: ignore[dict-item]  (takes no parameter)
    "/api/v1/prescreen": "/api/v1/prescreen",
    "/api/v1/trials/{nct_id}/fhir": "/api/v1/trials/" + "N" * 30 + "/fhir",
    "/api/v1/fhir/ResearchStudy": "/api/v1/fhir/ResearchStudy?_count=0&phase=PHASE9",
    "/api/v1/export": "/api/v1/export?format=ods&since=yesterday",
    "/healthz": None,  # type: ignore[dict-item]  (takes no parameter)
}
WORKING: dict[str, str] = {
    "/api/v1/trials/{nct_id}": "/api/v1/trials/NCT05464836",
    "/api/v1/trials/{nct_id}/changes": "/api/v1/trials/NCT05464836/changes",
    "/api/v1/trials": "/api/v1/trials",
    "/api/v1/changes": "/api/v1/changes",
    "/api/v1/facets": "/api/v1/facets",
    "/api/v1/status": "/api/v1/status",
    "/api/v1/prescreen": "/api/v1/prescreen",
    "/api/v1/trials/{nct_id}/fhir": "/api/v1/trials/NCT05464836/fhir",
    "/api/v1/fhir/ResearchStudy": "/api/v1/fhir/ResearchStudy",
    "/api/v1/export": "/api/v1/export?format=csv",
    "/healthz": "/healthz",
}
# Endpoints that take a JSON body: the body of a working and of an invalid request.
POSTED: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "/api/v1/prescreen": ({"age": 34, "diseases": ["B-ALL"]}, {"age": -3, "diseases": ["B-ALLL"]}),
}


async def _request(http: httpx.AsyncClient, endpoint: str, url: str, *, valid: bool) -> httpx.Response:
    if endpoint in POSTED:
        return await http.post(url, json=POSTED[endpoint][0 if valid else 1])
    return await http.get(url)


def _assert_envelope(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert set(body) == {"ok", "error"} and body["ok"] is False
    assert set(body["error"]) == {"status", "message", "problems"}
    assert body["error"]["status"] == status
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body


async def test_the_tables_cover_every_documented_endpoint(client: httpx.AsyncClient) -> None:
    paths = set((await client.get("/openapi.json")).json()["paths"])
    assert paths == set(NOT_FOUND) == set(INVALID) == set(WORKING)


@pytest.mark.parametrize("endpoint", sorted(NOT_FOUND))
async def test_not_found_is_the_envelope(client: httpx.AsyncClient, endpoint: str) -> None:
    _assert_envelope(await client.get(NOT_FOUND[endpoint]), 404)


@pytest.mark.parametrize("endpoint", sorted(k for k, v in INVALID.items() if v))
async def test_invalid_parameters_are_the_envelope_naming_each_problem(
    client: httpx.AsyncClient, endpoint: str
) -> None:
    body = _assert_envelope(await _request(client, endpoint, INVALID[endpoint], valid=False), 422)
    assert body["error"]["problems"]
    assert body["error"]["message"].startswith("Invalid request:")


async def test_trials_validation_names_every_problem(client: httpx.AsyncClient) -> None:
    body = _assert_envelope(await client.get("/api/v1/trials?phase=PHASE9&limit=0"), 422)
    problems = " ".join(body["error"]["problems"])
    assert "phase" in problems and "limit" in problems


async def test_unknown_method_is_the_envelope(client: httpx.AsyncClient) -> None:
    _assert_envelope(await client.post("/api/v1/trials"), 405)


@pytest.fixture
def broken_app(make_settings: Callable[..., Settings]) -> FastAPI:
    """An app whose database lost its trials and events after start-up: every read fails."""
    app = create_app(make_settings())
    with app.state.web.engine.begin() as conn:
        conn.execute(text("ALTER TABLE trials RENAME TO trials_gone"))
        conn.execute(text("ALTER TABLE change_events RENAME TO change_events_gone"))
    return app


@pytest.mark.parametrize("endpoint", sorted(WORKING))
async def test_server_errors_are_the_envelope(broken_app: FastAPI, endpoint: str) -> None:
    transport = httpx.ASGITransport(app=broken_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await _request(http, endpoint, WORKING[endpoint], valid=True)
    body = _assert_envelope(response, 500)
    assert "trials_gone" not in body["error"]["message"]  # no internals in the message
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_server_error_on_a_page_is_an_error_page(broken_app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=broken_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.get("/diseases/all")
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    assert "Something went wrong" in response.text
    assert "content-security-policy" in response.headers


@pytest.mark.parametrize(
    ("path", "status"),
    [("/nowhere", 404), ("/trials/NCT00000000", 404), ("/search?phase=PHASE9", 422), ("/search?page=0", 422)],
)
async def test_pages_answer_errors_with_an_html_page(
    client: httpx.AsyncClient, path: str, status: int
) -> None:
    response = await client.get(path)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.count("<h1") == 1


async def test_clients_that_ask_for_json_get_the_envelope_anywhere(client: httpx.AsyncClient) -> None:
    response = await client.get("/nowhere", headers={"accept": "application/json"})
    _assert_envelope(response, 404)
    export = await client.get("/search?format=csv&phase=PHASE9")
    _assert_envelope(export, 422)
