"""The JSON API under /api/v1, in process."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.anyio


async def test_trials_filter_by_target_and_modality(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/trials", params={"target": "CD22", "modality": "CAR-T"})
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True and body["total"] >= 1
    ids = {t["nct_id"] for t in body["trials"]}
    assert "NCT02650414" in ids
    for trial in body["trials"]:
        assert "CD22" in trial["targets"] and "CAR-T" in trial["modalities"]
        assert trial["url"] == f"http://testserver/trials/{trial['nct_id']}"
        assert "CAR-T" in trial["mechanism"]


async def test_trials_are_paginated_with_a_next_link(client: httpx.AsyncClient) -> None:
    first = (
        await client.get("/api/v1/trials", params={"limit": 10, "sort": "nct_id", "order": "asc"})
    ).json()
    assert len(first["trials"]) == 10 and first["total"] > 10
    assert first["next"] is not None and "offset=10" in first["next"]
    second = (await client.get(first["next"])).json()
    assert second["offset"] == 10
    assert second["trials"][0]["nct_id"] > first["trials"][-1]["nct_id"]
    last = (await client.get("/api/v1/trials", params={"limit": 500})).json()
    assert last["next"] is None and len(last["trials"]) == last["total"]


async def test_repeated_and_case_insensitive_filters(client: httpx.AsyncClient) -> None:
    both = (await client.get("/api/v1/trials?disease=T-ALL&disease=Ph%2B%20ALL")).json()["total"]
    t_all = (await client.get("/api/v1/trials", params={"disease": "t-all"})).json()["total"]
    ph = (await client.get("/api/v1/trials", params={"disease": "Ph+ ALL"})).json()["total"]
    assert t_all > 0 and ph > 0 and max(t_all, ph) <= both <= t_all + ph
    phase = (await client.get("/api/v1/trials", params={"phase": "2", "status": "recruiting"})).json()
    assert all("PHASE2" in t["phases"] and t["overall_status"] == "RECRUITING" for t in phase["trials"])


async def test_one_trial_with_tags_evidence_and_sites(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/trials/NCT05464836")
    assert response.status_code == 200
    trial = response.json()["trial"]
    assert trial["nct_id"] == "NCT05464836"
    assert trial["overall_status"] == "TERMINATED"
    assert trial["why_stopped"] == "Sponsor decision: enrollment slower than planned"
    assert trial["registry_url"] == "https://clinicaltrials.gov/study/NCT05464836"
    assert trial["sites"][0]["facility"] == "MD Anderson Cancer Center"
    assert trial["countries"] == [{"country": "United States", "sites": 1, "recruiting": 1}]
    tags = {(t["kind"], t["value"]) for t in trial["tags"]}
    assert ("disease", "T-ALL") in tags and ("agent", "venetoclax") in tags
    assert all(t["evidence"] and t["evidence"][0]["path"] for t in trial["tags"])


async def test_trial_changes_with_before_and_after(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/v1/trials/nct05464836/changes")).json()
    assert body["nct_id"] == "NCT05464836"
    (change,) = body["changes"]
    assert change["type"] == "status_changed" and change["severity"] == "critical"
    assert change["before"] == {"overallStatus": "RECRUITING"}
    assert change["after"]["overallStatus"] == "TERMINATED"
    everything = (await client.get("/api/v1/trials/NCT05464836/changes?include_administrative=true")).json()
    assert len(everything["changes"]) > 1


async def test_changes_since_a_date_with_a_cursor(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/v1/changes", params={"since": "2025-07-08", "limit": 3})).json()
    assert len(body["changes"]) == 3 and body["next"] is not None
    ids = [c["id"] for c in body["changes"]]
    assert ids == sorted(ids)
    rest = (await client.get(body["next"])).json()
    assert rest["changes"][0]["id"] > ids[-1]
    later = (await client.get("/api/v1/changes", params={"since": "2030-01-01"})).json()
    assert later == {"ok": True, "changes": [], "next": None}
    critical = (await client.get("/api/v1/changes", params={"min_severity": "critical"})).json()["changes"]
    assert critical and all(c["severity"] == "critical" for c in critical)
    typed = (await client.get("/api/v1/changes", params={"type": "site_added"})).json()["changes"]
    assert [c["nct_id"] for c in typed] == ["NCT05918692"]


async def test_facets_count_values_for_the_filters(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/v1/facets", params={"disease": "B-ALL"})).json()
    assert body["ok"] is True and body["total"] > 0
    assert set(body["facets"]) == {
        "disease",
        "modality",
        "target",
        "setting",
        "population",
        "agent",
        "phase",
        "status",
        "country",
    }
    assert body["facets"]["target"]["CD19"] >= 1
    assert body["facets"]["disease"]["B-ALL"] == body["total"]


async def test_catch_all_diseases_are_no_facet_values(client: httpx.AsyncClient) -> None:
    from hemewatch.classification import default_lexicon

    catch_all = {d for d, entry in default_lexicon().diseases.items() if entry.catch_all}
    diseases = (await client.get("/api/v1/facets")).json()["facets"]["disease"]
    assert diseases and "AML" in diseases
    assert not catch_all & set(diseases)
    html = (await client.get("/search")).text
    assert 'value="leukemia"' not in html and 'value="cancer"' not in html


async def test_healthz_and_openapi(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"ok": True, "status": "ok", "database": "ok"}
    spec = (await client.get("/openapi.json")).json()
    assert set(spec["paths"]) == {
        "/healthz",
        "/api/v1/trials",
        "/api/v1/trials/{nct_id}",
        "/api/v1/trials/{nct_id}/changes",
        "/api/v1/changes",
        "/api/v1/facets",
        "/api/v1/status",
        "/api/v1/prescreen",
        "/api/v1/trials/{nct_id}/fhir",
        "/api/v1/fhir/ResearchStudy",
        "/api/v1/export",
    }
    # The documented error of every operation is the envelope.
    for path, operations in spec["paths"].items():
        for operation in operations.values():
            if path.startswith("/api/"):
                schema = operation["responses"]["422"]["content"]["application/json"]["schema"]
                assert schema["$ref"].endswith("/ErrorEnvelope"), path
