"""The trial page and API for a coordinator: eligibility, facts, contacts, sites, freshness, watch state."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from markupsafe import escape
from sqlalchemy import Engine, select

from hemewatch.eligibility.model import Fact
from hemewatch.storage.eligibility import current_facts, store_facts
from hemewatch.storage.reconciliation import mark_merged, mark_removed
from hemewatch.storage.runs import utc_now
from hemewatch.storage.tables import trials
from hemewatch.storage.watchlist import add_watch
from hemewatch.text import criteria_lines
from hemewatch.web.views.record import Contact, Milestone, read_criteria, read_trial_record
from tests.web.records import demo_study, import_studies

pytestmark = pytest.mark.anyio

FLT3 = "NCT05918692"  # BMF-500 in FLT3 AML: 7 inclusion and 3 exclusion criteria, two central contacts
MENIN = "NCT05886491"  # site contacts and a principal investigator per site
ACTUAL_ONLY = "NCT99999903"  # a copy of FLT3 whose key dates are all actual

FACTS = [
    Fact("age", "years", "required", "inclusion", "Age ≥ 18 years.", low=18),
    Fact("genetic", "FLT3 mutation", "required", "inclusion", "documented FLT3 mutation"),
    Fact("performance", "ECOG", "required", "inclusion", "ECOG performance status of 0-2.", high=2),
    Fact("prior_therapy", "FLT3 inhibitor", "allowed", "inclusion", "Prior FLT3 inhibitors are allowed."),
    Fact("cns", "CNS involvement", "excluded", "exclusion", "Active CNS disease."),
]


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def _engine(app: FastAPI) -> Engine:
    engine: Engine = app.state.web.engine
    return engine


def _section(html: str, heading_id: str) -> str:
    start = html.index(f'aria-labelledby="{heading_id}"')
    return html[start : html.index("</section>", start)]


def _store_facts(app: FastAPI, nct_id: str, facts: list[Fact]) -> None:
    with _engine(app).begin() as conn:
        version = conn.execute(select(trials.c.current_version_id).where(trials.c.nct_id == nct_id)).scalar()
        assert version is not None
        store_facts(conn, int(version), nct_id, facts)


def _expected_criteria(nct_id: str) -> dict[str, list[str]]:
    text = demo_study(nct_id)["protocolSection"]["eligibilityModule"]["eligibilityCriteria"]
    found: dict[str, list[str]] = {}
    for section, line, _ in criteria_lines(text):
        found.setdefault(section, []).append(line)
    return found


async def test_criteria_are_collapsible_inclusion_and_exclusion_lists(client: httpx.AsyncClient) -> None:
    html = (await client.get(f"/trials/{FLT3}")).text
    eligibility = _section(html, "eligibility-heading")
    expected = _expected_criteria(FLT3)
    assert len(expected["inclusion"]) == 7 and len(expected["exclusion"]) == 3
    for section in ("inclusion", "exclusion"):
        block = re.search(
            rf'<details class="criteria criteria-{section}" open>\s*<summary>\w+ criteria '
            rf'<span class="count">(\d+)</span></summary>\s*<ul class="criteria-list">(.*?)</ul>',
            eligibility,
            re.S,
        )
        assert block is not None, section
        items = [_text(item) for item in re.findall(r"<li>(.*?)</li>", block.group(2), re.S)]
        assert int(block.group(1)) == len(items)
        assert items == [_text(line.replace("&", "&amp;").replace(">", "&gt;")) for line in expected[section]]
    assert "<li>Age ≥ 18 years.</li>" in eligibility
    assert "<li>WBC count &gt;50,000/µL (uncontrollable with cytoreductive therapy).</li>" in eligibility
    assert "Inclusion criteria:" not in _text(eligibility)  # the headings are consumed


async def test_age_sex_and_healthy_volunteers(client: httpx.AsyncClient) -> None:
    eligibility = _text(_section((await client.get("/trials/NCT02650414")).text, "eligibility-heading"))
    assert "Ages 1 Year to 29 Years" in eligibility
    assert "Sex All" in eligibility
    assert "Healthy volunteers Not accepted" in eligibility


async def test_central_contacts_with_phone_and_mailto(client: httpx.AsyncClient) -> None:
    contacts = _section((await client.get(f"/trials/{FLT3}")).text, "contacts-heading")
    assert contacts.count('<li class="contact">') == 2
    assert '<span class="contact-name">Mona Vimal</span>' in contacts
    assert '<span class="contact-name">Sanchita Mourya, MD</span>' in contacts
    assert '<span class="contact-phone">1-844-245-0490</span>' in contacts
    assert (
        '<a class="contact-email" href="mailto:clinicaltrials@biomeafusion.com">'
        "clinicaltrials@biomeafusion.com</a>" in contacts
    )


async def test_each_site_shows_its_status_and_contacts(client: httpx.AsyncClient) -> None:
    sites = _section((await client.get(f"/trials/{MENIN}")).text, "sites-heading")
    row = re.search(
        r"<tr><td>University of Alabama at Birmingham \(UAB\) Hospital</td>(.*?)</tr>", sites, re.S
    )
    assert row is not None
    cells = row.group(1)
    assert '<span class="status status-recruiting">Recruiting</span>' in cells
    assert '<span class="contact-name">Site Contact</span>' in cells
    assert '<span class="contact-phone">205-934-9591</span>' in cells
    assert 'href="mailto:pvachhani@uabmc.edu"' in cells
    assert (
        '<span class="contact-name">Pankit Vachhani</span> <span class="muted">(principal investigator)'
        in cells
    )
    assert '<th scope="col">Contact</th>' in sites


async def test_last_verified_and_the_passed_estimate_hint(client: httpx.AsyncClient) -> None:
    html = (await client.get(f"/trials/{FLT3}")).text
    assert '<dt>Last verified</dt><dd class="last-verified">2023-10</dd>' in html
    hint = re.search(r'<p class="notice estimates-passed" role="note">(.*?)</p>', html, re.S)
    assert hint is not None
    text = _text(hint.group(1))
    assert text.startswith("Estimated date passed — the record may be out of date.")
    assert "the primary completion as 2025-07-31 (estimated)" in text
    assert "start" not in text  # the start date is actual


async def test_no_hint_when_the_key_dates_are_actual(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    study = demo_study(FLT3)
    study["protocolSection"]["identificationModule"]["nctId"] = ACTUAL_ONLY
    for struct in ("startDateStruct", "primaryCompletionDateStruct", "completionDateStruct"):
        study["protocolSection"]["statusModule"][struct]["type"] = "ACTUAL"
    import_studies(_engine(app), [study], tmp_path)
    response = await client.get(f"/trials/{ACTUAL_ONLY}")
    assert response.status_code == 200
    assert "estimates-passed" not in response.text and "Estimated date passed" not in response.text
    api = (await client.get(f"/api/v1/trials/{ACTUAL_ONLY}")).json()["trial"]
    assert api["estimated_dates_passed"] == []


async def test_facts_are_shown_grouped_with_their_evidence(app: FastAPI, client: httpx.AsyncClient) -> None:
    _store_facts(app, FLT3, FACTS)
    html = (await client.get(f"/trials/{FLT3}")).text
    eligibility = _section(html, "eligibility-heading")
    groups = re.findall(r'<div class="tag-group facts-(\w+)">\s*<h3>(\w+)</h3>(.*?)</ul>', eligibility, re.S)
    assert [(polarity, heading) for polarity, heading, _ in groups] == [
        ("required", "Requires"),
        ("excluded", "Excludes"),
        ("allowed", "Allows"),
    ]
    listed = {polarity: _text(body) for polarity, _, body in groups}
    assert (
        '<li class="fact"><strong>Age at least 18 years</strong><br><q>Age ≥ 18 years.</q> '
        '<span class="muted">(inclusion)</span></li>' in eligibility
    )
    assert "Requires FLT3 mutation" in listed["required"]
    assert "ECOG at most 2" in listed["required"]
    assert "Excludes CNS involvement" in listed["excluded"] and "Active CNS disease." in listed["excluded"]
    assert "Allows prior FLT3 inhibitor" in listed["allowed"]
    assert "<q>documented FLT3 mutation</q>" in eligibility
    assert "not medical advice" in eligibility
    assert eligibility.count('<li class="fact">') == len(FACTS)  # the stored facts replaced the parsed ones
    _store_facts(app, FLT3, [])
    assert "eligibility-facts" not in (await client.get(f"/trials/{FLT3}")).text


async def test_the_facts_parsed_at_import_are_shown_and_served(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    with _engine(app).connect() as conn:
        parsed = current_facts(conn, FLT3)
    assert parsed  # at least the age bound from the record's minimum age
    html = (await client.get(f"/trials/{FLT3}")).text
    assert html.count('<li class="fact">') == len(parsed)
    for fact in parsed:
        assert str(escape(fact.describe())) in html
    served = (await client.get(f"/api/v1/trials/{FLT3}")).json()["trial"]["eligibility"]["facts"]
    assert served == [fact.to_dict() for fact in parsed]


async def test_api_trial_has_eligibility_contacts_sites_and_freshness(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _store_facts(app, FLT3, FACTS)
    trial = (await client.get(f"/api/v1/trials/{FLT3}")).json()["trial"]
    eligibility = trial["eligibility"]
    expected = _expected_criteria(FLT3)
    assert eligibility["criteria"]["inclusion"] == expected["inclusion"]
    assert eligibility["criteria"]["exclusion"] == expected["exclusion"]
    assert eligibility["criteria"]["unsectioned"] == []
    raw = demo_study(FLT3)["protocolSection"]["eligibilityModule"]["eligibilityCriteria"]
    assert eligibility["criteria"]["text"] == raw.strip()
    assert eligibility["facts"] == [fact.to_dict() for fact in FACTS]
    assert eligibility["facts"][0]["text"] == "Age at least 18 years"
    assert (eligibility["minimum_age"], eligibility["maximum_age"]) == ("18 Years", None)
    assert (eligibility["sex"], eligibility["healthy_volunteers"]) == ("ALL", False)
    assert trial["contacts"][0] == {
        "name": "Mona Vimal",
        "role": "CONTACT",
        "phone": "1-844-245-0490",
        "email": "clinicaltrials@biomeafusion.com",
    }
    assert trial["status_verified"] == "2023-10"
    assert {"milestone": "primary completion", "date": "2025-07-31"} in trial["estimated_dates_passed"]
    assert all(site["status"] for site in trial["sites"])
    menin = (await client.get(f"/api/v1/trials/{MENIN}")).json()["trial"]
    uab = next(s for s in menin["sites"] if s["facility"].startswith("University of Alabama"))
    assert uab["status"] == "RECRUITING"
    assert uab["contacts"] == [
        {"name": "Site Contact", "role": "CONTACT", "phone": "205-934-9591", "email": "pvachhani@uabmc.edu"},
        {"name": "Pankit Vachhani", "role": "PRINCIPAL_INVESTIGATOR", "phone": None, "email": None},
    ]


async def test_api_trial_says_whether_it_is_watched_removed_or_merged(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    fresh = (await client.get(f"/api/v1/trials/{FLT3}")).json()["trial"]
    assert (fresh["watched"], fresh["watched_since"], fresh["removed_at"], fresh["merged_into"]) == (
        False,
        None,
        None,
        None,
    )
    now = utc_now()
    with _engine(app).begin() as conn:
        add_watch(conn, FLT3, added_by="cli", now=now)
        mark_removed(conn, FLT3, now=now)
        mark_merged(conn, MENIN, FLT3)
    removed = (await client.get(f"/api/v1/trials/{FLT3}")).json()["trial"]
    assert removed["watched"] is True and removed["watched_since"].startswith(now.date().isoformat())
    assert removed["removed_at"].startswith(now.date().isoformat())
    merged = (await client.get(f"/api/v1/trials/{MENIN}")).json()["trial"]
    assert merged["merged_into"] == FLT3 and merged["watched"] is False


async def test_openapi_describes_the_new_trial_fields(client: httpx.AsyncClient) -> None:
    schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]
    trial = schemas["TrialCoordinatorOut"]["properties"]
    for name in (
        "eligibility",
        "contacts",
        "status_verified",
        "estimated_dates_passed",
        "watched",
        "merged_into",
    ):
        assert name in trial, name
    assert set(schemas["EligibilityOut"]["properties"]) == {
        "criteria",
        "facts",
        "minimum_age",
        "maximum_age",
        "sex",
        "healthy_volunteers",
    }
    assert "contacts" in schemas["SiteContactsOut"]["properties"]


def test_only_plain_addresses_become_mailto_links() -> None:
    assert Contact("A", None, None, "a.b@example.org").mailto == "a.b@example.org"
    for email in (
        'a@b.org"><script>',
        "javascript:alert(1)@x.org",
        "two words@x.org",
        "no-at.example.org",
        "a@b",
    ):
        assert Contact("A", None, None, email).mailto is None, email


def test_estimated_dates_pass_at_the_end_of_their_day_or_month() -> None:
    assert not Milestone("completion", "2026-07", estimated=True).passed(date(2026, 7, 31))
    assert Milestone("completion", "2026-07", estimated=True).passed(date(2026, 8, 1))
    assert not Milestone("completion", "2026-07-31", estimated=True).passed(date(2026, 7, 31))
    assert Milestone("completion", "2026-07-30", estimated=True).passed(date(2026, 7, 31))
    assert not Milestone("completion", "2020-01-01", estimated=False).passed(date(2026, 7, 31))
    assert not Milestone("completion", "someday", estimated=True).passed(date(2026, 7, 31))


def test_a_record_without_eligibility_or_contacts_reads_as_empty() -> None:
    record = read_trial_record({"protocolSection": {"identificationModule": {"nctId": "NCT00000001"}}})
    assert record.criteria.is_empty and record.criteria.text is None
    assert record.central_contacts == () and record.milestones == ()
    assert (record.sex_text, record.healthy_volunteers_text, record.status_verified) == ("—", "—", None)


def test_criteria_without_headings_are_unsectioned_and_phone_extensions_kept() -> None:
    criteria = read_criteria("- Age 18 or older\n- ECOG 0-1\n")
    assert criteria.unsectioned == ("Age 18 or older", "ECOG 0-1") and criteria.inclusion == ()
    record = read_trial_record(
        {
            "protocolSection": {
                "contactsLocationsModule": {
                    "centralContacts": [
                        {"name": "Desk", "phone": "555-0100", "phoneExt": "12"},
                        {"role": "CONTACT"},
                    ]
                }
            }
        }
    )
    assert record.central_contacts == (Contact("Desk", None, "555-0100 ext. 12", None),)
