"""The OpenAPI document: stable, readable operation ids, valid examples, and the packaged docs page."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from hemewatch.web import schemas

pytestmark = pytest.mark.anyio

# Clients generated from the document name their methods after these: changing one breaks them.
EXPECTED_IDS = {
    ("get", "/healthz"): "getHealthz",
    ("get", "/api/v1/trials"): "getTrials",
    ("get", "/api/v1/trials/{nct_id}"): "getTrial",
    ("get", "/api/v1/trials/{nct_id}/changes"): "getTrialChanges",
    ("get", "/api/v1/trials/{nct_id}/fhir"): "getFhirResearchStudy",
    ("get", "/api/v1/fhir/ResearchStudy"): "getFhirSearch",
    ("get", "/api/v1/changes"): "getChanges",
    ("get", "/api/v1/facets"): "getFacets",
    ("get", "/api/v1/status"): "getStatus",
    ("post", "/api/v1/prescreen"): "postPrescreen",
    ("get", "/api/v1/export"): "getExport",
}


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {
        (method, path): operation["operationId"]
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }


def test_operation_ids_are_the_expected_ones(app: FastAPI) -> None:
    found = _operations(app.openapi())
    assert found == EXPECTED_IDS
    assert len(set(found.values())) == len(found)
    assert all(re.fullmatch(r"(get|post|put|patch|delete)[A-Z][A-Za-z0-9]*", name) for name in found.values())


async def test_the_served_document_is_the_same(app: FastAPI, client: httpx.AsyncClient) -> None:
    served = (await client.get("/openapi.json")).json()
    assert _operations(served) == _operations(app.openapi())


def test_the_main_answers_have_valid_examples(app: FastAPI) -> None:
    document = app.openapi()
    components = document["components"]["schemas"]
    with_examples = {name for name, schema in components.items() if schema.get("examples")}
    assert {"ErrorEnvelope", "TrialSummaryOut", "ChangeOut", "FacetsOut", "HealthOut"} <= with_examples
    # Every example is a valid instance of its model.
    checked = 0
    for name in dir(schemas):
        model = getattr(schemas, name)
        if isinstance(model, type) and issubclass(model, BaseModel) and model is not BaseModel:
            extra = model.model_config.get("json_schema_extra")
            for example in extra.get("examples", []) if isinstance(extra, dict) else []:
                model.model_validate(example)
                checked += 1
    assert checked >= 8


async def test_the_docs_page_is_served_from_the_package(client: httpx.AsyncClient) -> None:
    page = await client.get("/api/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(source.startswith("/") for source in sources)
    assert "<script>" not in page.text  # no inline script: the CSP allows none
    for source in sources:
        asset = await client.get(source)
        assert asset.status_code == 200, source
    init = await client.get("/api/docs/init.js")
    assert '"/openapi.json"' in init.text
    assert init.headers["content-type"].startswith("text/javascript")
    assert "script-src 'self'" in page.headers["content-security-policy"]
