"""Other registries' ids and standard codes on the trial page, in the API and in text search."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from hemewatch.pipeline.importing import import_files
from hemewatch.registry.scope import load_scope
from hemewatch.storage import text_index
from tests.web.records import demo_study, import_studies

pytestmark = pytest.mark.anyio

GEMTUZUMAB = "NCT02724163"  # gemtuzumab ozogamicin in AML; EudraCT 2014-005066-30 as a secondary id
EUDRACT = "2014-005066-30"
HOSTILE = "<script>alert('id')</script>"


def _engine(app: FastAPI) -> Engine:
    engine: Engine = app.state.web.engine
    return engine


def _section(html: str, heading_id: str) -> str:
    start = html.index(f'aria-labelledby="{heading_id}"')
    return html[start : html.index("</section>", start)]


def _with_more_ids(app: FastAPI, folder: Path) -> None:
    study = demo_study(GEMTUZUMAB)
    ident = study["protocolSection"]["identificationModule"]
    ident["secondaryIdInfos"] = [
        *ident.get("secondaryIdInfos", []),
        {"id": "ChiCTR2000031234", "type": "REGISTRY", "domain": "Chinese Clinical Trial Registry"},
        {"id": "2023-504721-39", "type": "OTHER", "domain": "EU CT"},
        {"id": HOSTILE, "type": "OTHER", "domain": "<b>Evil</b>", "link": "javascript:alert(1)"},
    ]
    study["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"] = "2030-01-01"
    import_studies(_engine(app), [study], folder)


async def test_the_page_links_the_other_ids_and_escapes_them(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    _with_more_ids(app, tmp_path)
    html = (await client.get(f"/trials/{GEMTUZUMAB}")).text
    essentials = _section(html, "essentials-heading")
    row = essentials[essentials.index("Other ids") :]
    assert f'href="https://www.clinicaltrialsregister.eu/ctr-search/search?query={EUDRACT}"' in row
    assert 'href="https://trialsearch.who.int/Trial2.aspx?TrialID=ChiCTR2000031234"' in row
    assert 'href="https://euclinicaltrials.eu/ctis-public/view/2023-504721-39-00"' in row
    assert "EudraCT:" in row and "ChiCTR:" in row and "EU CT number:" in row
    # Untrusted ids and domains are text, never markup or a javascript: link.
    assert HOSTILE not in html and "<b>Evil</b>" not in html
    assert "&lt;script&gt;alert(&#39;id&#39;)&lt;/script&gt;" in row
    assert "&lt;b&gt;Evil&lt;/b&gt;:" in row
    assert 'href="javascript:' not in html and "javascript:" not in row


async def test_the_page_shows_mesh_and_ncit_codes(client: httpx.AsyncClient) -> None:
    html = (await client.get(f"/trials/{GEMTUZUMAB}")).text
    tags = _section(html, "tags-heading")
    assert re.search(r'<span class="tag">AML</span> <span class="tag-code">MeSH D015470</span>', tags)
    assert 'href="https://meshb.nlm.nih.gov/record/ui?ui=D015470"' in tags
    # The record's own MeSH term for AML is evidence that names the id.
    assert "<q>D000015470 Leukemia, Myeloid, Acute</q>" in tags
    therapies = _section(html, "therapies-heading")
    assert (
        'NCIt <a href="https://ncit.nci.nih.gov/ncitbrowser/ConceptReport.jsp?dictionary=NCI%20Thesaurus&amp;code=C1806"'
        in therapies
    )


async def test_the_api_returns_identifiers_and_codes(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    _with_more_ids(app, tmp_path)
    trial = (await client.get(f"/api/v1/trials/{GEMTUZUMAB}")).json()["trial"]
    by_scheme = {item["scheme"]: item for item in trial["identifiers"]}
    assert by_scheme["eudract"] == {
        "scheme": "eudract",
        "value": EUDRACT,
        "label": "EudraCT",
        "url": f"https://www.clinicaltrialsregister.eu/ctr-search/search?query={EUDRACT}",
        "raw": EUDRACT,
        "source": "secondary_id",
        "type": "EUDRACT_NUMBER",
        "domain": None,
    }
    assert by_scheme["chictr"]["value"] == "ChiCTR2000031234"
    assert by_scheme["eu-ct"]["value"] == "2023-504721-39"
    assert by_scheme["sponsor"]["source"] == "org_study_id"
    hostile = by_scheme["other"]
    assert (hostile["value"], hostile["url"], hostile["label"]) == (HOSTILE, None, "<b>Evil</b>")
    aml = next(t for t in trial["tags"] if (t["kind"], t["value"]) == ("disease", "AML"))
    assert aml["code"] == "D015470"
    assert {
        "path": "derivedSection.conditionBrowseModule.meshes[2]",
        "text": "D000015470 Leukemia, Myeloid, Acute",
    } in aml["evidence"]
    agent = next(t for t in trial["tags"] if (t["kind"], t["value"]) == ("agent", "gemtuzumab ozogamicin"))
    assert agent["code"] == "C1806"
    modality = next(t for t in trial["tags"] if t["kind"] == "modality")
    assert modality["code"] is None
    therapy = next(t for t in trial["therapies"] if t["agent"] == "gemtuzumab ozogamicin")
    assert therapy["ncit"] == "C1806"


async def test_a_search_for_another_registry_id_finds_the_trial(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    async def found(text: str) -> list[str]:
        answer = (await client.get("/api/v1/trials", params={"q": text})).json()
        return [t["nct_id"] for t in answer["trials"]]

    assert GEMTUZUMAB in await found(EUDRACT)
    assert await found("ChiCTR2000031234") == []
    _with_more_ids(app, tmp_path)
    assert await found("ChiCTR2000031234") == [GEMTUZUMAB]
    assert await found("chictr2000031234") == [GEMTUZUMAB]
    # The EU CT number with the suffix the record left off, and as a prefix.
    assert await found("2023-504721-39-00") == [GEMTUZUMAB]
    assert await found("2023-504721") == [GEMTUZUMAB]
    assert await found("2014-005066-31") == []


@pytest.mark.parametrize(
    "db_url", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_the_index_holds_the_ids_on_both_databases(
    engine: Engine, real_records: Path, tmp_path: Path
) -> None:
    lines = (real_records / "ctgov" / "studies.jsonl").read_text(encoding="utf-8").splitlines()
    wanted = {"NCT05086315", "NCT05664230", "NCT05949684"}
    path = tmp_path / "records.jsonl"
    path.write_text(
        "\n".join(
            line
            for line in lines
            if json.loads(line)["protocolSection"]["identificationModule"]["nctId"] in wanted
        )
        + "\n",
        encoding="utf-8",
    )
    import_files(engine, [path], scope=load_scope(), in_scope_only=False)
    dialect = engine.dialect.name

    def found(text: str) -> set[str]:
        query = text_index.matching_trials(dialect, text)
        assert query is not None
        with engine.connect() as conn:
            return set(conn.execute(query).scalars())

    assert found("U1111-1266-7399") == {"NCT05086315"}
    assert found("2021-004287-98") == {"NCT05086315"}
    assert found("2022-A01261-42") == {"NCT05664230"}
    assert found("2022-500430-29-00") == {"NCT05949684"}
    assert found("2022-500430-28") == set()
    with engine.begin() as conn:
        before = text_index.trials_in_index(conn, sorted(wanted))
        text_index.rebuild(conn)
        assert text_index.trials_in_index(conn, sorted(wanted)) == before
