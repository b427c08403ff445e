"""The pre-screen on the web, in the API and on the command line, against the real demo records.

The three worked examples: a 34-year-old with B-ALL relapsed after CD19 CAR-T (CD19-negative,
CD22-positive); a 70-year-old with newly diagnosed FLT3-mutated AML; a child with a KMT2A-rearranged
relapse. Nothing may be stored, no cookie set.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
from markupsafe import escape

from hemewatch.eligibility.screen import purpose_rank, status_rank
from hemewatch.settings import Settings
from tests.cli.runner import cli_env, hemewatch
from tests.web.data import HOSTILE_ID, HOSTILE_TITLE

pytestmark = pytest.mark.anyio

POST_CAR_T: dict[str, Any] = {
    "age": 34,
    "diseases": ["B-ALL"],
    "settings": ["relapsed"],
    "prior_therapies": ["CD19 CAR-T"],
    "antigens_positive": ["CD22"],
    "antigens_negative": ["CD19"],
    "near": "Houston, Texas",
}
OLDER_FLT3: dict[str, Any] = {
    "age": 70,
    "diseases": ["AML"],
    "settings": ["newly diagnosed"],
    "genetics_positive": ["FLT3 mutation"],
    "near": "Houston, Texas",
}
KMT2A_CHILD: dict[str, Any] = {
    "age": 8,
    "diseases": ["KMT2A-rearranged"],
    "settings": ["relapsed"],
    "near": "Paris, France",
}
OPEN = ("RECRUITING", "NOT_YET_RECRUITING", "ENROLLING_BY_INVITATION")


def _row_counts(settings: Settings) -> dict[str, int]:
    path = settings.effective_database_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        names = [r[0] for r in db.execute("select name from sqlite_master where type = 'table'")]
        return {name: db.execute(f'select count(*) from "{name}"').fetchone()[0] for name in names}


async def _prescreen(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/api/v1/prescreen", json=body)
    assert response.status_code == 200, response.text
    assert "set-cookie" not in response.headers
    assert response.headers["cache-control"] == "no-store"
    result: dict[str, Any] = response.json()
    return result


def _check_shape(result: dict[str, Any]) -> None:
    """What every answer must be: open candidates, ranked; failing trials with a failing verdict."""
    assert "not medical advice" in result["disclaimer"] and "trial team decides" in result["disclaimer"]
    assert result["screened"] == result["candidate_total"] + result["failing_total"] + result["outside_area"]
    keys = []
    for trial in result["candidates"]:
        assert trial["overall_status"] in OPEN and trial["outcome"] == "candidate"
        assert trial["failing"] == [] and all(v["verdict"] != "fails" for v in trial["verdicts"])
        assert trial["unknown"] == sum(v["verdict"] == "unknown" for v in trial["verdicts"])
        distances = [s["distance_km"] for s in trial["sites"] if s["status"] == "RECRUITING"]
        assert distances == sorted(distances)
        # Open first, then treatment studies before other interventional and observational ones, then
        # fewer unknowns.
        purpose = purpose_rank(trial["study_type"], trial["primary_purpose"])
        keys.append((status_rank(trial["overall_status"]), purpose, trial["unknown"]))
    assert keys == sorted(keys)
    for trial in result["failing"]:
        assert trial["outcome"] == "fails" and trial["failing"]
        assert all(v["verdict"] == "fails" and v["reason"] for v in trial["failing"])


async def test_post_car_t_b_all(client: httpx.AsyncClient) -> None:
    result = await _prescreen(client, POST_CAR_T)
    _check_shape(result)
    assert result["place"]["name"] == "Houston, Texas, United States"
    assert result["candidate_total"] >= 1 and result["failing_total"] >= 1
    failing = {t["nct_id"]: t for t in result["failing"]}
    candidates = {t["nct_id"]: t for t in result["candidates"]}
    # A trial tagged T-ALL only fails a B-ALL patient, on its disease.
    assert "NCT05268003" not in candidates
    # Every candidate names a disease the patient has, or leaves it open; none is for AML alone.
    for trial in result["candidates"]:
        (disease,) = [v for v in trial["verdicts"] if v["kind"] == "disease" and v["polarity"] is None]
        assert disease["verdict"] in ("meets", "unknown")
    # A candidate with a place has its distance, and its nearest site first.
    located = [t for t in result["candidates"] if t["nearest_km"] is not None]
    assert located and all(t["nearest_km"] == t["sites"][0]["distance_km"] for t in located)
    limited = await _prescreen(client, {**POST_CAR_T, "limit": 1})
    assert [t["nct_id"] for t in limited["candidates"]] == [result["candidates"][0]["nct_id"]]
    assert failing or result["failing_total"] > len(result["failing"])


async def test_a_t_all_trial_fails_a_b_all_patient_on_its_disease(client: httpx.AsyncClient) -> None:
    result = await _prescreen(client, {**POST_CAR_T, "failing_limit": 100})
    assert len(result["failing"]) == result["failing_total"]
    failing = {t["nct_id"]: t for t in result["failing"]}
    # NCT05268003 is tagged T-ALL (and the broad "leukemia", "cancer") only.
    disease = [
        v for v in failing["NCT05268003"]["failing"] if v["kind"] == "disease" and v["polarity"] is None
    ]
    assert disease[0]["reason"] == "the trial is for T-ALL; the patient has B-ALL"
    t_all = await _prescreen(client, {"diseases": ["T-ALL"], "failing_limit": 100})
    assert "NCT05268003" not in {t["nct_id"] for t in t_all["failing"]}


async def test_older_flt3_aml(client: httpx.AsyncClient) -> None:
    result = await _prescreen(client, OLDER_FLT3)
    _check_shape(result)
    for trial in result["candidates"]:
        ages = [v for v in trial["verdicts"] if v["kind"] == "age"]
        assert all(v["verdict"] == "meets" for v in ages)
        settings = [v for v in trial["verdicts"] if v["kind"] == "setting" and v["polarity"] == "required"]
        assert all(v["verdict"] != "fails" for v in settings)
    # Relapsed-only trials are ruled out for a newly diagnosed patient, saying so.
    reasons = [v["text"] for t in result["failing"] for v in t["failing"]]
    assert any("relapsed" in text for text in reasons)


async def test_kmt2a_child(client: httpx.AsyncClient) -> None:
    result = await _prescreen(client, KMT2A_CHILD)
    _check_shape(result)
    assert result["place"]["name"] == "Paris, France"
    # Adult-only trials fail on age.
    assert any(v["kind"] == "age" for t in result["failing"] for v in t["failing"])
    # The leukemia's lineage is not given: ALL and AML trials stay open (unknown), not failed.
    for trial in result["candidates"]:
        (disease,) = [v for v in trial["verdicts"] if v["kind"] == "disease" and v["polarity"] is None]
        assert disease["verdict"] in ("meets", "unknown")


async def test_within_a_distance_only_near_sites_count(client: httpx.AsyncClient) -> None:
    near = await _prescreen(client, {**POST_CAR_T, "within_km": 500})
    assert near["outside_area"] >= 1
    for trial in near["candidates"]:
        assert trial["sites"] and all(s["distance_km"] <= 500 for s in trial["sites"])
    country = await _prescreen(client, {**POST_CAR_T, "country": "France", "near": None})
    for trial in country["candidates"]:
        assert all(s["country"] == "France" for s in trial["sites"])


async def test_bad_values_are_refused_in_the_error_envelope(client: httpx.AsyncClient) -> None:
    for body, word in (
        ({"diseases": ["B-ALX"]}, "unknown disease 'B-ALX'"),
        ({"settings": ["sort of better"]}, "unknown value 'sort of better'"),
        ({"prior_therapies": ["unobtainium"]}, "unknown value 'unobtainium'"),
        ({"genetics_positive": ["XYZ"]}, "unknown value 'XYZ'"),
        ({"age": 30, "surname": "Doe"}, "surname"),
    ):
        response = await client.post("/api/v1/prescreen", json=body)
        assert response.status_code == 422, body
        error = response.json()
        assert error["ok"] is False and word in json.dumps(error["error"]), error
    # A place the gazetteer does not know: not found, with the closest names.
    unknown = await client.post("/api/v1/prescreen", json={"near": "Houstn"})
    assert unknown.status_code == 404
    assert "Houston, Texas, United States" in unknown.json()["error"]["message"]


async def test_the_api_is_in_the_openapi_document(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    operation = document["paths"]["/api/v1/prescreen"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("ProfileIn")
    assert "PrescreenOut" in json.dumps(operation["responses"]["200"])


async def test_the_page_says_what_it_is_and_sets_no_cookie(client: httpx.AsyncClient) -> None:
    response = await client.get("/prescreen")
    assert response.status_code == 200
    assert "set-cookie" not in response.headers
    page = response.text
    assert "not medical advice" in page and "trial team decides" in page
    assert 'method="post"' in page and 'action="/prescreen"' in page
    assert 'href="/prescreen"' in (await client.get("/search")).text  # in the navigation


async def test_results_come_before_the_form_and_nothing_is_stored(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    before = _row_counts(settings)
    form = {
        "age": "34",
        "disease": "B-ALL",
        "setting": "relapsed",
        "prior": "CD19 CAR-T",
        "antigens": "CD22+, CD19-",
        "near": "Houston, Texas",
    }
    response = await client.post("/prescreen", data=form)
    assert response.status_code == 200
    assert "set-cookie" not in response.headers and response.headers["cache-control"] == "no-store"
    page = response.text
    assert "candidate trial" in page and "not medical advice" in page
    assert page.index('id="results-heading"') < page.index('id="prescreen-form"')
    assert "Criterion by criterion" in page and "km" in page
    assert 'value="CD19 CAR-T"' in page  # the form keeps what was typed, for the next try
    assert _row_counts(settings) == before


async def test_trial_text_is_escaped(client: httpx.AsyncClient) -> None:
    # The hostile record is a real T-ALL record (CB-103 + venetoclax, ages 12–40) with a script as title.
    response = await client.post("/prescreen", data={"age": "20", "disease": "T-ALL", "setting": "relapsed"})
    page = response.text
    assert HOSTILE_ID in page
    assert HOSTILE_TITLE not in page and "<script>alert" not in page
    assert str(escape(HOSTILE_TITLE)) in page


async def test_the_page_refuses_a_bad_value_with_a_message(client: httpx.AsyncClient) -> None:
    response = await client.post("/prescreen", data={"near": "Houstn", "age": "abc"})
    assert response.status_code == 422
    assert "age must be a number" in response.text
    unknown = await client.post("/prescreen", data={"near": "Houstn"})
    assert unknown.status_code == 422 and "Houston, Texas, United States" in unknown.text
    assert "not medical advice" in unknown.text


def test_the_command_line_prescreen(tmp_path: Path, settings: Settings) -> None:
    env = cli_env(tmp_path, settings.effective_database_url)
    args = ["prescreen", "--age", "34", "--disease", "B-ALL", "--setting", "relapsed"]
    args += ["--prior", "CD19 CAR-T", "--antigen", "CD22+", "--antigen", "CD19-", "--near", "Houston, Texas"]
    done = hemewatch(*args, "--json", env=env)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    _check_shape(result)
    text = hemewatch(*args, "--limit", "2", env=env)
    assert text.returncode == 0, text.stderr
    assert "not medical advice" in text.stdout and "Clearly fail" in text.stdout
    assert result["candidates"][0]["nct_id"] in text.stdout
    bad = hemewatch("prescreen", "--near", "Houstn", env=env)
    assert bad.returncode == 2 and "Houston, Texas, United States" in bad.stderr
