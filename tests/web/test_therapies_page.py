"""Therapies on the trial page, in the trial API and in listing rows, in process.

Seeded tests store a classification we control on real mirrored trials; the demo-data tests assert
what holds whether or not the classifier has filled therapies for the bundled records.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from hemewatch.classification.lexicon import default_lexicon
from hemewatch.classification.model import ROLES, STUDIED_ROLES, Classification, Evidence, Tag, Therapy
from hemewatch.settings import Settings
from hemewatch.storage.engine import open_database
from hemewatch.storage.tables import classifications, trials
from hemewatch.storage.tags import ClassifiedVersion, load_tags, store_classifications
from hemewatch.web import create_app
from tests.web.data import HOSTILE_ID

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
TRIAL = "NCT05464836"  # CB-103 + venetoclax in T-ALL, a real day-1 record
SCRIPT_NAME = '<script>alert("therapy")</script> CB-103'


def _evidence(text: str) -> tuple[Evidence, ...]:
    return (Evidence("protocolSection.armsInterventionsModule.interventions[0].name", text),)


THERAPIES = (
    Therapy("Limantrafin", "CB-103", "other targeted therapy", "NOTCH inhibitor", (), "investigational",
            _evidence("Limantrafin")),
    Therapy("Venclexta", "venetoclax", "BCL-2 inhibitor", "BCL-2 inhibitor", (), "investigational",
            _evidence("Venclexta")),
    Therapy("ZX-77 CAR T cells", None, "CAR-T", None, ("CD7",), "investigational", _evidence("ZX-77"),
            unresolved=True),
    Therapy("Imatinib", "imatinib", "tyrosine kinase inhibitor", "BCR-ABL TKI", (), "comparator",
            _evidence("Imatinib")),
    Therapy("Dexamethasone", "dexamethasone", "corticosteroid", "corticosteroid", (), "backbone",
            _evidence("Dexamethasone")),
    Therapy("Intrathecal chemotherapy", None, "chemotherapy", None, (), "backbone",
            _evidence("Intrathecal chemotherapy")),
    Therapy("Fludarabine", "fludarabine", "chemotherapy", "purine analogue", (), "lymphodepletion",
            _evidence("Fludarabine")),
    Therapy("Busulfan", "busulfan", "chemotherapy", "alkylating agent", (), "conditioning",
            _evidence("Busulfan")),
    Therapy("Posaconazole", "posaconazole", "supportive care", "antifungal", (), "supportive",
            _evidence("Posaconazole")),
)  # fmt: skip
SEEDED_LINE = "ZX-77 CAR T cells (CD7 CAR-T) + Venetoclax (BCL-2 inhibitor) + CB-103 (NOTCH inhibitor)"


def _seed(
    settings: Settings, found: dict[str, tuple[Therapy, ...]], *, extra_tags: tuple[Tag, ...] = ()
) -> None:
    """Replace the current classification of these trials with one holding our therapies."""
    engine = open_database(settings.effective_database_url)
    try:
        with engine.begin() as conn:
            items = []
            for nct_id, therapies in found.items():
                version_id = conn.execute(
                    select(trials.c.current_version_id).where(trials.c.nct_id == nct_id)
                ).scalar_one()
                row = conn.execute(
                    select(classifications).where(classifications.c.version_id == version_id)
                ).one()
                labels: dict[str, Any] = dict(row.labels)
                labels["diseases"] = [*labels.get("diseases", []), "leukemia"]
                classification = Classification(
                    nct_id=nct_id,
                    tags=(*load_tags(conn, version_id), *extra_tags),
                    acute_leukemia=bool(row.acute_leukemia),
                    immunotherapy=bool(row.immunotherapy),
                    lexicon_version=row.lexicon_version,
                    therapies=therapies,
                )
                items.append(ClassifiedVersion(version_id, nct_id, classification, labels))
            store_classifications(conn, items, now=NOW)
    finally:
        engine.dispose()


@pytest.fixture
async def seeded(make_settings: Callable[..., Settings]) -> AsyncIterator[httpx.AsyncClient]:
    """A client on a mirror where two real trials carry therapies we chose (one of them hostile)."""
    settings = make_settings()
    hostile = (
        Therapy(SCRIPT_NAME, None, None, None, (), "investigational", _evidence('<img src=x onerror="x()">')),
    )
    leukemia = Tag("disease", "leukemia", _evidence("Leukemia"))
    _seed(settings, {TRIAL: THERAPIES, HOSTILE_ID: hostile}, extra_tags=(leukemia,))
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http
    finally:
        app.state.web.engine.dispose()


def _text(page: str) -> str:
    return html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def _section(page: str, heading_id: str) -> str:
    start = page.index(f'id="{heading_id}"')
    return page[start : page.index("</section>", start)]


async def test_the_trial_page_lists_each_therapy_with_its_role(seeded: httpx.AsyncClient) -> None:
    page = (await seeded.get(f"/trials/{TRIAL}")).text
    section = _section(page, "therapies-heading")
    text = _text(section)
    assert "Therapies 9" in text
    rows = re.findall(r'<tr class="therapy role-([a-z]+)">', section)
    # Investigational first, then in the order of ROLES; every role is shown.
    assert rows == ["investigational"] * 3 + [
        "comparator",
        "backbone",
        "backbone",
        "lymphodepletion",
        "conditioning",
        "supportive",
    ]
    assert "Venclexta agent: venetoclax" in text  # the canonical agent, as it differs from the written name
    assert "Imatinib agent:" not in text  # ... and not when it is the same
    assert "ZX-77 CAR T cells unresolved agent" in text
    assert "Intrathecal chemotherapy chemotherapy" in text  # a generic phrase is no unresolved product
    assert text.count("unresolved agent") == 1
    assert "NOTCH inhibitor" in text and "BCR-ABL TKI" in text and "CD7" in text
    for role in ROLES:
        assert f'<span class="badge">{role}</span>' in section
    # Evidence is collapsible, like the tags' evidence.
    assert "<details>" in section and "<q>Venclexta</q>" in section
    assert "<code>protocolSection.armsInterventionsModule.interventions[0].name</code>" in section


async def test_the_mechanism_line_comes_from_the_studied_therapies(seeded: httpx.AsyncClient) -> None:
    page = (await seeded.get(f"/trials/{TRIAL}")).text
    lede = re.search(r'<p class="lede mechanism">(.*?)</p>', page, re.S)
    assert lede is not None
    line = html_lib.unescape(lede.group(1))
    assert line == f"{SEEDED_LINE} vs Imatinib (BCR-ABL TKI) + chemotherapy + steroids"
    for never in ("Fludarabine", "Busulfan", "Posaconazole"):
        assert never not in line


async def test_therapy_names_and_evidence_are_escaped(seeded: httpx.AsyncClient) -> None:
    page = (await seeded.get(f"/trials/{HOSTILE_ID}")).text
    assert "<script>alert(" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#34;therapy&#34;)&lt;/script&gt; CB-103" in page
    assert "&lt;img src=x onerror=&#34;x()&#34;&gt;" in page


async def test_catch_all_diseases_are_not_shown_as_diseases(seeded: httpx.AsyncClient) -> None:
    page = (await seeded.get(f"/trials/{TRIAL}")).text
    tags = _section(page, "tags-heading")
    assert '<span class="tag">T-ALL</span>' in tags
    assert '<span class="tag">leukemia</span>' not in tags
    trial = (await seeded.get(f"/api/v1/trials/{TRIAL}")).json()["trial"]
    assert "leukemia" not in trial["labels"]["diseases"] and "T-ALL" in trial["labels"]["diseases"]
    listed = (await seeded.get("/api/v1/trials", params={"q": TRIAL})).json()["trials"]
    assert [t["nct_id"] for t in listed] == [TRIAL]
    assert "leukemia" not in listed[0]["diseases"]


async def test_the_trial_api_returns_therapies_and_the_mechanism(seeded: httpx.AsyncClient) -> None:
    body = (await seeded.get(f"/api/v1/trials/{TRIAL}")).json()
    trial = body["trial"]
    # Each therapy as the classifier gives it, plus its agent's NCI Thesaurus code (none known for these).
    assert [{k: v for k, v in t.items() if k != "ncit"} for t in trial["therapies"]] == [
        t.to_dict() for t in THERAPIES
    ]
    assert [t["ncit"] for t in trial["therapies"]] == [None] * len(THERAPIES)
    assert trial["mechanism"].startswith(SEEDED_LINE)
    unresolved = trial["therapies"][2]
    assert (
        unresolved["agent"] is None and unresolved["unresolved"] is True and unresolved["targets"] == ["CD7"]
    )
    # The OpenAPI document describes them.
    document = (await seeded.get("/openapi.json")).json()
    schema = document["components"]["schemas"]
    answer = document["paths"]["/api/v1/trials/{nct_id}"]["get"]["responses"]["200"]["content"]
    answer_name = answer["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    trial_name = schema[answer_name]["properties"]["trial"]["$ref"].rsplit("/", 1)[-1]
    assert {"therapies", "mechanism"} <= set(schema[trial_name]["properties"])
    therapy = schema["TherapyOut"]["properties"]
    assert set(therapy) == {
        "name",
        "agent",
        "modality",
        "drug_class",
        "targets",
        "role",
        "evidence",
        "unresolved",
        "ncit",
    }
    assert set(schema["TherapyOut"]["required"]) == set(therapy) - {"ncit"}
    assert set(therapy["role"]["enum"]) == set(ROLES)


async def test_listing_rows_carry_the_therapies_mechanism_line(seeded: httpx.AsyncClient) -> None:
    listed = (await seeded.get("/api/v1/trials", params={"q": TRIAL})).json()["trials"]
    assert listed[0]["mechanism"].startswith(SEEDED_LINE)
    page = _text((await seeded.get("/search", params={"q": TRIAL})).text)
    assert SEEDED_LINE in page


# --- On the bundled demo data: true whether or not the classifier fills therapies yet. ---


async def test_every_demo_trial_has_a_therapies_section_and_well_formed_therapies(
    client: httpx.AsyncClient,
) -> None:
    lexicon = default_lexicon()
    listed = (await client.get("/api/v1/trials", params={"limit": 60, "sort": "nct_id"})).json()["trials"]
    assert len(listed) >= 20
    for row in listed:
        nct_id = row["nct_id"]
        trial = (await client.get(f"/api/v1/trials/{nct_id}")).json()["trial"]
        assert isinstance(trial["therapies"], list)
        assert row["mechanism"] == trial["mechanism"]
        studied_names = set()
        for therapy in trial["therapies"]:
            assert therapy["role"] in ROLES and therapy["name"]
            assert therapy["agent"] is None or therapy["agent"] in lexicon.agents
            assert therapy["modality"] is None or therapy["modality"] in lexicon.modalities
            if therapy["role"] in STUDIED_ROLES:
                studied_names |= {therapy["name"].casefold(), (therapy["agent"] or "").casefold()}
        # An agent given only around the treatment (lymphodepletion, conditioning, supportive) is never
        # named, unless a studied intervention's own written name contains it.
        for therapy in trial["therapies"]:
            agent = therapy["agent"]
            named_as_studied = agent and any(agent.casefold() in name for name in studied_names)
            if therapy["role"] not in STUDIED_ROLES and agent and not named_as_studied:
                assert f"{agent.casefold()} (" not in trial["mechanism"].casefold(), (nct_id, agent)
        assert not set(trial["labels"]["diseases"] or []) & {
            d for d, entry in lexicon.diseases.items() if entry.catch_all
        }
    page = (await client.get(f"/trials/{TRIAL}")).text
    assert 'id="therapies-heading"' in page and "Therapies" in page
