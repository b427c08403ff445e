"""Trials as HL7 FHIR R5 ResearchStudy resources and searchset Bundles, validated with fhir.resources."""

from __future__ import annotations

import copy
import gzip
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fhir.resources.bundle import Bundle
from fhir.resources.researchstudy import ResearchStudy
from sqlalchemy import text

from hemewatch.demo import demo_days
from hemewatch.settings import Settings
from hemewatch.web import create_app
from hemewatch.web.fhir import (
    MESH_SYSTEM,
    NCT_SYSTEM,
    PHASE_SYSTEM,
    STATUS_SYSTEM,
    phase_concept,
    research_study,
)
from hemewatch.web.views.record import read_trial_record
from tests.web.data import HOSTILE_ID, HOSTILE_SOURCE, HOSTILE_TITLE

pytestmark = pytest.mark.anyio

FHIR_JSON = "application/fhir+json"
TERMINATED = "NCT05464836"  # phase 2, recruiting on day 1, terminated on day 2


@pytest.fixture(scope="module")
def studies() -> dict[str, dict[str, Any]]:
    """The newest bundled version of every demo record (the mirror's current versions)."""
    found: dict[str, dict[str, Any]] = {}
    for position, day in enumerate(demo_days()):
        with gzip.open(day, "rt", encoding="utf-8") as handle:
            for line in handle:
                study = json.loads(line)
                nct_id = study["protocolSection"]["identificationModule"]["nctId"]
                found[nct_id] = study
                if nct_id == HOSTILE_SOURCE and position == 0:  # the hostile copy is of day 1's version
                    found[HOSTILE_ID] = study
    return found


async def _all_ids(client: httpx.AsyncClient, query: str = "") -> list[str]:
    body = (await client.get(f"/api/v1/trials?limit=500{query}")).json()
    assert body["total"] == len(body["trials"])
    return [t["nct_id"] for t in body["trials"]]


async def _study(client: httpx.AsyncClient, nct_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/trials/{nct_id}/fhir")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(FHIR_JSON)
    resource: dict[str, Any] = response.json()
    ResearchStudy.model_validate(resource)
    return resource


def _codes(concept: dict[str, Any], system: str) -> list[str]:
    return [c["code"] for c in concept.get("coding", []) if c["system"] == system]


def _contained(resource: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in resource.get("contained", []) if r["resourceType"] == kind}


async def test_every_trial_is_a_valid_research_study_true_to_its_record(
    client: httpx.AsyncClient, studies: dict[str, dict[str, Any]]
) -> None:
    ids = await _all_ids(client)
    assert len(ids) > 50
    coded_conditions = 0
    for nct_id in ids:
        resource = await _study(client, nct_id)
        assert resource["id"] == nct_id
        assert {"use": "official", "system": NCT_SYSTEM, "value": nct_id} in resource["identifier"]
        assert resource["status"] == "active"  # the publication status, not the recruitment status
        detail = (await client.get(f"/api/v1/trials/{nct_id}")).json()["trial"]
        # Every site is a contained Location the study references, with its address and status.
        locations = _contained(resource, "Location")
        assert len(locations) == len(detail["sites"])
        assert [s["reference"] for s in resource.get("site", [])] == [f"#{i}" for i in locations]
        for location, site in zip(locations.values(), detail["sites"], strict=True):
            assert location["name"] == site["facility"]
            assert location.get("address", {}).get("country") == site["country"]
            if site["status"]:
                (extension,) = location["extension"]
                assert extension["valueCodeableConcept"]["text"] == site["status"]
        # The conditions carry the record's own MeSH ids.
        meshes = studies[nct_id]["derivedSection"]["conditionBrowseModule"].get("meshes", [])
        coded = [code for c in resource.get("condition", []) for code in _codes(c, MESH_SYSTEM)]
        assert coded == [m["id"] for m in meshes]
        coded_conditions += bool(coded)
        texts = {c["text"].casefold() for c in resource.get("condition", [])}
        assert {c.casefold() for c in detail["conditions"]} <= texts
        # The recruitment status is a progressStatus state; the registry's value stays as text.
        if detail["overall_status"]:
            assert resource["progressStatus"][0]["state"]["text"] == detail["overall_status"]
        # Every reference to a contained resource resolves.
        contained_ids = {r["id"] for r in resource.get("contained", [])}
        references = [s["reference"] for s in resource.get("site", [])]
        references += [p["party"]["reference"] for p in resource.get("associatedParty", []) if "party" in p]
        references += [
            e["reference"] for g in resource.get("comparisonGroup", []) for e in g.get("intendedExposure", [])
        ]
        assert {r.removeprefix("#") for r in references} <= contained_ids
    assert coded_conditions > 50


async def test_phase_status_arms_identifiers_and_tags(client: httpx.AsyncClient) -> None:
    phase_1_2 = [
        t["nct_id"]
        for t in (await client.get("/api/v1/trials?limit=500&phase=PHASE2")).json()["trials"]
        if t["phases"] == ["PHASE1", "PHASE2"]
    ]
    assert phase_1_2
    for nct_id in phase_1_2:
        resource = await _study(client, nct_id)
        assert _codes(resource["phase"], PHASE_SYSTEM) == ["phase-1-phase-2"]

    resource = await _study(client, TERMINATED)
    assert _codes(resource["phase"], PHASE_SYSTEM) == ["phase-2"]
    assert _codes(resource["progressStatus"][0]["state"], STATUS_SYSTEM) == ["terminated"]
    assert resource["whyStopped"]["text"] == "Sponsor decision: enrollment slower than planned"
    assert _codes(resource["primaryPurposeType"], "http://hl7.org/fhir/research-study-prim-purp-type") == [
        "treatment"
    ]
    assert resource["period"] == {"start": "2023-04-06", "end": "2026-07-01"}
    assert resource["recruitment"] == {"targetNumber": 30}
    values = {i["value"]: i for i in resource["identifier"]}
    assert values["2021-0547"]["assigner"]["display"] == "M.D. Anderson Cancer Center"
    assert values["NCI-2022-05687"]["assigner"]["display"] == "NCI-CTRP Clinical Trials Reporting Registry"
    (arm,) = resource["comparisonGroup"]
    assert arm["name"] == "CB-103+Venetoclax"
    assert _codes(arm["type"], "http://hl7.org/fhir/research-study-arm-type") == ["experimental"]
    variables = _contained(resource, "EvidenceVariable")
    exposures = [variables[e["reference"].removeprefix("#")]["title"] for e in arm["intendedExposure"]]
    assert exposures == ["CB-103", "Venetoclax"]
    (sponsor,) = [p for p in resource["associatedParty"] if "party" in p]
    assert _codes(sponsor["role"], "http://hl7.org/fhir/research-study-party-role") == ["lead-sponsor"]
    assert _contained(resource, "Organization")["sponsor"]["name"] == "M.D. Anderson Cancer Center"
    tags = {(c["coding"][0]["system"], c["coding"][0]["code"]) for c in resource["classifier"]}
    assert ("http://testserver/fhir/CodeSystem/agent", "venetoclax") in tags
    assert ("http://testserver/fhir/CodeSystem/disease", "T-ALL") in tags
    # Catch-all diseases are no tag the page shows, so no classifier either.
    assert not {code for system, code in tags if system.endswith("/disease")} & {"leukemia", "cancer"}


async def test_the_code_systems_follow_the_public_url(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings(public_url="https://hemewatch.example.org/watch"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://internal") as http:
        resource = await _study(http, TERMINATED)
        bundle = (await http.get("/api/v1/fhir/ResearchStudy?_count=1")).json()
    app.state.web.engine.dispose()
    systems = {c["coding"][0]["system"] for c in resource["classifier"]}
    assert systems and all(
        s.startswith("https://hemewatch.example.org/watch/fhir/CodeSystem/") for s in systems
    )
    assert all(
        link["url"].startswith("https://hemewatch.example.org/watch/api/v1/") for link in bundle["link"]
    )
    assert bundle["entry"][0]["fullUrl"].startswith("https://hemewatch.example.org/watch/api/v1/trials/")


async def test_paging_walks_the_whole_set_in_order(client: httpx.AsyncClient) -> None:
    expected = await _all_ids(client)
    url: str | None = "/api/v1/fhir/ResearchStudy?_count=7"
    seen: list[str] = []
    pages = 0
    while url:
        response = await client.get(url)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith(FHIR_JSON)
        bundle = response.json()
        Bundle.model_validate(bundle)
        assert bundle["type"] == "searchset" and bundle["total"] == len(expected)
        links = {link["relation"]: link["url"] for link in bundle["link"]}
        assert urlsplit(links["self"]).path == "/api/v1/fhir/ResearchStudy"
        assert len(bundle["entry"]) <= 7
        for entry in bundle["entry"]:
            assert entry["fullUrl"] == f"http://testserver/api/v1/trials/{entry['resource']['id']}/fhir"
            assert entry["search"]["mode"] == "match"
        seen += [entry["resource"]["id"] for entry in bundle["entry"]]
        pages += 1
        url = links.get("next")
    assert seen == expected
    assert pages == -(-len(expected) // 7)


async def test_bundle_entries_are_the_trials_resources(client: httpx.AsyncClient) -> None:
    bundle = (await client.get("/api/v1/fhir/ResearchStudy?_count=100")).json()
    Bundle.model_validate(bundle)
    assert len(bundle["entry"]) == min(100, bundle["total"])
    for entry in bundle["entry"][:40]:
        path = urlsplit(entry["fullUrl"]).path
        assert entry["resource"] == (await client.get(path)).json()


async def test_the_bundle_takes_the_trial_filters(client: httpx.AsyncClient) -> None:
    expected = await _all_ids(client, "&phase=PHASE1&status=RECRUITING")
    assert expected
    bundle = (await client.get("/api/v1/fhir/ResearchStudy?phase=1&status=recruiting&_count=100")).json()
    Bundle.model_validate(bundle)
    assert bundle["total"] == len(expected)
    assert [e["resource"]["id"] for e in bundle["entry"]] == expected
    for entry in bundle["entry"]:
        study = entry["resource"]
        assert _codes(study["phase"], PHASE_SYSTEM)[0] in {"phase-1", "phase-1-phase-2"}
        assert _codes(study["progressStatus"][0]["state"], STATUS_SYSTEM) == ["recruiting"]
    nothing = (await client.get("/api/v1/fhir/ResearchStudy?q=zzzzzzzzzzzz")).json()
    Bundle.model_validate(nothing)
    assert nothing["total"] == 0 and "entry" not in nothing
    assert [link["relation"] for link in nothing["link"]] == ["self", "first"]


@pytest.mark.parametrize("query", ["_count=0", "_count=101", "_offset=-1", "phase=PHASE9"])
async def test_page_size_is_bounded_and_filters_validated(client: httpx.AsyncClient, query: str) -> None:
    response = await client.get(f"/api/v1/fhir/ResearchStudy?{query}")
    assert response.status_code == 422
    body = response.json()
    assert body["ok"] is False and body["error"]["status"] == 422 and body["error"]["problems"]


@pytest.mark.parametrize("nct_id", ["NCT00000000", "NOT-AN-ID"])
async def test_unknown_trial_is_the_error_envelope(client: httpx.AsyncClient, nct_id: str) -> None:
    response = await client.get(f"/api/v1/trials/{nct_id}/fhir")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"ok", "error"} and body["error"]["status"] == 404 and body["error"]["message"]


async def test_hostile_text_is_data(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/api/v1/trials/{HOSTILE_ID}/fhir")
    assert response.headers["content-type"].startswith(FHIR_JSON)
    assert response.headers["x-content-type-options"] == "nosniff"
    resource = response.json()
    ResearchStudy.model_validate(resource)
    assert resource["title"] == HOSTILE_TITLE  # as written: JSON carries it, nothing renders it
    assert "&lt;" not in response.text
    bundle = (await client.get("/api/v1/fhir/ResearchStudy", params={"q": HOSTILE_ID})).json()
    Bundle.model_validate(bundle)
    assert [e["resource"]["title"] for e in bundle["entry"]] == [HOSTILE_TITLE]


async def test_routes_are_documented(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    for path in ("/api/v1/trials/{nct_id}/fhir", "/api/v1/fhir/ResearchStudy"):
        responses = paths[path]["get"]["responses"]
        assert responses["200"]["description"]
        assert list(responses["200"]["content"]) == [FHIR_JSON]
        for status in ("404", "422"):
            schema = responses[status]["content"]["application/json"]["schema"]
            assert schema["$ref"].endswith("/ErrorEnvelope")
    names = {p["name"] for p in paths["/api/v1/fhir/ResearchStudy"]["get"]["parameters"]}
    assert {"_count", "_offset", "disease", "phase", "status", "q", "country", "sponsor"} <= names


def test_mapping_of_other_designs(studies: dict[str, dict[str, Any]]) -> None:
    """Registry values the demo trials lack: randomisation, suspension, sponsors' classes, results."""
    study = copy.deepcopy(studies[TERMINATED])
    protocol = study["protocolSection"]
    protocol["statusModule"]["overallStatus"] = "SUSPENDED"
    protocol["designModule"]["phases"] = ["PHASE3", "PHASE2"]
    protocol["designModule"]["designInfo"]["allocation"] = "RANDOMIZED"
    protocol["designModule"]["enrollmentInfo"] = {"count": 12, "type": "ACTUAL"}
    protocol["sponsorCollaboratorsModule"]["leadSponsor"]["class"] = "INDUSTRY"
    protocol["sponsorCollaboratorsModule"]["collaborators"] = [
        {"name": "National Cancer Institute", "class": "NIH"}
    ]
    protocol["armsInterventionsModule"]["armGroups"].append(
        {"label": "Control <b>", "type": "PLACEBO_COMPARATOR", "interventionNames": ["Drug: Venetoclax"]}
    )
    resource = research_study(
        read_trial_record(study), study, [("target", ["BCL2"])], public_url="http://x.test", retired=True
    )
    ResearchStudy.model_validate(resource)
    assert resource["status"] == "retired"
    assert _codes(resource["phase"], PHASE_SYSTEM) == ["phase-2-phase-3"]
    assert _codes(resource["progressStatus"][0]["state"], STATUS_SYSTEM) == ["temporarily-closed-to-accrual"]
    assert "SEVCO:01003" in [
        c for d in resource["studyDesign"] for c in _codes(d, "http://hl7.org/fhir/study-design")
    ]
    assert resource["recruitment"] == {"actualNumber": 12}
    kinds = [
        _codes(p["classifier"][0], "http://hl7.org/fhir/research-study-party-org-type")
        for p in resource["associatedParty"]
        if "party" in p
    ]
    assert kinds == [["industry"], ["nih"]]
    control = resource["comparisonGroup"][1]
    assert control["name"] == "Control <b>"
    assert [e["display"] for e in control["intendedExposure"]] == ["Venetoclax"]
    assert resource["classifier"][0]["coding"][0] == {
        "system": "http://x.test/fhir/CodeSystem/target",
        "code": "BCL2",
        "display": "BCL2",
    }
    assert phase_concept([]) is None
    assert phase_concept(["PHASE1", "PHASE3"]) == {"text": phase_concept(["PHASE1", "PHASE3"])["text"]}  # type: ignore[index]


@pytest.mark.parametrize("url", [f"/api/v1/trials/{TERMINATED}/fhir", "/api/v1/fhir/ResearchStudy"])
async def test_server_errors_are_the_envelope(make_settings: Callable[..., Settings], url: str) -> None:
    app = create_app(make_settings())
    with app.state.web.engine.begin() as conn:
        conn.execute(text("ALTER TABLE trials RENAME TO trials_gone"))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.get(url)
    app.state.web.engine.dispose()
    assert response.status_code in (500, 503)
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"]["status"] == response.status_code
