"""Untrusted trial text is escaped, forms need a CSRF token, every response carries security headers."""

from __future__ import annotations

import copy
import re
import stat
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from hemewatch.eligibility.model import Fact
from hemewatch.errors import ConfigurationError
from hemewatch.settings import Settings
from hemewatch.storage.eligibility import store_facts
from hemewatch.storage.tables import trials
from hemewatch.web.security import CSRF_COOKIE, CsrfSigner, load_secret_key
from tests.web.data import HOSTILE_ID, HOSTILE_TITLE
from tests.web.records import demo_study, import_studies

pytestmark = pytest.mark.anyio

PAGES = ["/", "/diseases/all", "/search", f"/trials/{HOSTILE_ID}", "/landscape", "/trackers/new", "/changes"]


@pytest.mark.parametrize("path", ["/", f"/trials/{HOSTILE_ID}", "/search?q=pwned", "/diseases/t-all"])
async def test_a_hostile_title_is_shown_as_text(client: httpx.AsyncClient, path: str) -> None:
    html = (await client.get(path)).text
    assert HOSTILE_ID in html, path
    assert '<script>alert("pwned")' not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;" in html


async def test_the_api_returns_the_title_unchanged_as_json(client: httpx.AsyncClient) -> None:
    trial = (await client.get(f"/api/v1/trials/{HOSTILE_ID}")).json()["trial"]
    assert trial["brief_title"] == HOSTILE_TITLE


# A real record with an attack in every field the coordinator's view shows: criteria, central and site
# contacts; its second version adds a site named as an attack (a change event with before → after).
HOSTILE_CRITERIA_ID = "NCT99999904"
ATTACK = '<script>alert("x")</script>'
ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"
HOSTILE_EMAIL = 'a@b.org"><script>alert("x")</script>'


@pytest.fixture
async def hostile_criteria(app: FastAPI, tmp_path: Path) -> str:
    """The id of the hostile record, imported into this test's mirror in two versions."""
    study = demo_study("NCT05886491")
    protocol = study["protocolSection"]
    protocol["identificationModule"]["nctId"] = HOSTILE_CRITERIA_ID
    protocol["eligibilityModule"]["eligibilityCriteria"] = (
        f"Inclusion Criteria:\n\n* Age 18 {ATTACK}\n\nExclusion Criteria:\n\n* <img src=x onerror=alert(1)>"
    )
    contacts = protocol["contactsLocationsModule"]
    contacts["centralContacts"] = [
        {"name": ATTACK, "role": "CONTACT", "phone": ATTACK, "email": HOSTILE_EMAIL}
    ]
    contacts["locations"][0]["contacts"] = [{"name": ATTACK, "role": "CONTACT", "email": HOSTILE_EMAIL}]
    amended = copy.deepcopy(study)
    amended["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"] = "2025-08-01"
    amended["protocolSection"]["contactsLocationsModule"]["locations"].append(
        {"facility": ATTACK, "city": "<b>Town</b>", "country": "France", "status": "RECRUITING"}
    )
    import_studies(app.state.web.engine, [study, amended], tmp_path)
    return HOSTILE_CRITERIA_ID


async def test_criteria_and_contacts_are_shown_as_text(
    client: httpx.AsyncClient, hostile_criteria: str
) -> None:
    html = (await client.get(f"/trials/{hostile_criteria}")).text
    assert '<script>alert("x")' not in html and "<img src=x" not in html and "<b>Town" not in html
    eligibility = html[html.index('aria-labelledby="eligibility-heading"') :]
    assert f"<li>Age 18 {ESCAPED}</li>" in eligibility
    assert "<li>&lt;img src=x onerror=alert(1)&gt;</li>" in eligibility
    contacts = html[html.index('aria-labelledby="contacts-heading"') :]
    assert f'<span class="contact-name">{ESCAPED}</span>' in contacts
    assert f'<span class="contact-phone">{ESCAPED}</span>' in contacts
    # An address that is not a plain one is never a link.
    assert 'href="mailto:a@b.org' not in html
    assert '<span class="contact-email">a@b.org&#34;&gt;&lt;script&gt;' in html
    sites = html[html.index('aria-labelledby="sites-heading"') :]
    assert (
        '<td class="site-contacts"><ul class="plain"><li class="contact">'
        f'<span class="contact-name">{ESCAPED}' in sites
    )
    assert f"<tr><td>{ESCAPED}</td><td>&lt;b&gt;Town&lt;/b&gt;</td>" in sites


async def test_eligibility_facts_are_shown_as_text(
    app: FastAPI, client: httpx.AsyncClient, hostile_criteria: str
) -> None:
    with app.state.web.engine.begin() as conn:
        version = conn.execute(
            select(trials.c.current_version_id).where(trials.c.nct_id == hostile_criteria)
        ).scalar_one()
        store_facts(
            conn, version, hostile_criteria, [Fact("antigen", ATTACK, "required", "inclusion", ATTACK)]
        )
    html = (await client.get(f"/trials/{hostile_criteria}")).text
    assert '<script>alert("x")' not in html
    assert (
        f'<li class="fact"><strong>Requires {ESCAPED}-positive disease</strong><br><q>{ESCAPED}</q>' in html
    )
    api = (await client.get(f"/api/v1/trials/{hostile_criteria}")).json()["trial"]["eligibility"]["facts"]
    assert api[0]["evidence"] == ATTACK and api[0]["value"] == ATTACK


async def test_the_changes_page_shows_hostile_values_as_text(
    client: httpx.AsyncClient, hostile_criteria: str
) -> None:
    html = (await client.get("/changes", params={"type": "site_added", "country": "France"})).text
    assert hostile_criteria in html
    assert '<script>alert("x")' not in html and "<b>Town" not in html
    assert f"<dt>After</dt><dd>{ESCAPED}, &lt;b&gt;Town&lt;/b&gt;, France — Recruiting</dd>" in html


async def test_the_api_returns_criteria_and_contacts_unchanged(
    client: httpx.AsyncClient, hostile_criteria: str
) -> None:
    trial = (await client.get(f"/api/v1/trials/{hostile_criteria}")).json()["trial"]
    assert trial["eligibility"]["criteria"]["inclusion"] == [f"Age 18 {ATTACK}"]
    assert trial["eligibility"]["criteria"]["exclusion"] == ["<img src=x onerror=alert(1)>"]
    assert trial["contacts"] == [{"name": ATTACK, "role": "CONTACT", "phone": ATTACK, "email": HOSTILE_EMAIL}]
    assert {"name": ATTACK, "role": "CONTACT", "phone": None, "email": HOSTILE_EMAIL} in [
        c for site in trial["sites"] for c in site["contacts"]
    ]


async def test_the_tracker_form_escapes_what_comes_from_the_address(client: httpx.AsyncClient) -> None:
    html = (await client.get("/trackers/new", params={"q": '"><script>alert(1)</script>'})).text
    assert "<script>alert(1)" not in html
    assert "&#34;&gt;&lt;script&gt;" in html


@pytest.mark.parametrize("path", [*PAGES, "/api/v1/trials", "/healthz", "/static/site.css", "/nowhere"])
async def test_security_headers_on_every_response(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    headers = response.headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    policy = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "server" not in headers or "uvicorn" not in headers["server"]


async def test_charts_get_their_own_policy_without_scripts(client: httpx.AsyncClient) -> None:
    policy = (await client.get("/landscape/targets.svg")).headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script" not in policy


@pytest.mark.parametrize("path", PAGES)
async def test_pages_have_no_inline_script_or_style(client: httpx.AsyncClient, path: str) -> None:
    html = (await client.get(path)).text
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag, tag
    assert re.findall(r"<script\b[^>]*>\s*[^<\s]", html) == []
    assert "<style" not in html
    tags = re.findall(r"<[a-zA-Z][^>]*>", html)
    assert [t for t in tags if re.search(r"\s(?:style|on[a-z]+)\s*=", t)] == []
    assert (
        "//cdn" not in html
        and 'src="http' not in html
        and 'href="http://' not in html.replace('href="http://testserver', "")
    )


async def test_a_form_post_without_the_csrf_token_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/trackers/new", data={"email": "a@example.org", "name": "x"})
    assert response.status_code == 403
    assert "reload the page" in response.text


async def test_a_forged_or_mismatched_csrf_token_is_refused(client: httpx.AsyncClient) -> None:
    form = await client.get("/trackers/new")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None and client.cookies.get(CSRF_COOKIE) == token.group(1)
    forged = "abc." + "0" * 64
    other_key = CsrfSigner("another key").issue()
    for cookie, field in [
        (forged, forged),
        (other_key, other_key),
        (token.group(1), CsrfSigner("x").issue()),
    ]:
        client.cookies.set(CSRF_COOKIE, cookie)
        response = await client.post("/trackers/new", data={"csrf_token": field, "email": "a@example.org"})
        assert response.status_code == 403


async def test_the_csrf_cookie_is_strict_and_http_only(client: httpx.AsyncClient) -> None:
    response = await client.get("/trackers/new")
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    assert response.headers["cache-control"] == "no-store"
    again = await client.get("/trackers/new")
    assert "set-cookie" not in again.headers  # the valid cookie is kept


def test_csrf_signer_checks_signature_and_equality() -> None:
    signer = CsrfSigner("k")
    token = signer.issue()
    assert signer.verify(token, token)
    assert not signer.verify(token, signer.issue())
    assert not signer.verify(None, token)
    assert not signer.verify("plain", "plain")
    assert not CsrfSigner("other").verify(token, token)


def test_secret_key_is_generated_once_and_kept_private(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(secret_key=None, home=tmp_path / "fresh-home")
    first = load_secret_key(settings)
    path = tmp_path / "fresh-home" / "secret_key"
    assert path.read_text().strip() == first and len(first) >= 40
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret_key(settings) == first
    assert load_secret_key(make_settings(secret_key="configured")) == "configured"


def test_an_unusable_secret_key_file_is_a_configuration_error(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    home = tmp_path / "bad-home"
    (home / "secret_key").mkdir(parents=True)
    with pytest.raises(ConfigurationError, match="secret key"):
        load_secret_key(make_settings(secret_key=None, home=home))
