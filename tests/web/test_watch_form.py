""" "Watch this trial" from the web, against the fake registry: CSRF, bad ids, outages, limits, escaping."""

from __future__ import annotations

import copy
import re
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, select

from hemewatch.settings import Settings
from hemewatch.storage.reconciliation import mark_merged, mark_removed
from hemewatch.storage.runs import utc_now
from hemewatch.storage.tables import trials, watched_trials
from hemewatch.web import create_app
from hemewatch.web.routes.watch import FETCHES_PER_CLIENT_PER_HOUR
from tests.fakeapi.faults import Fault
from tests.fakeapi.server import FakeRegistryServer
from tests.web.data import HOSTILE_ID
from tests.web.forms import csrf_token

pytestmark = pytest.mark.anyio

OUTSIDE = "NCT05466149"  # served by the fake registry, not in the web tests' mirror
MIRRORED = "NCT05464836"  # in the mirror (a day-1 demo record)
ALIAS, ALIASED = "NCT00075127", "NCT00057759"
SCRIPT = '<script>alert("watch")</script>'


@pytest.fixture
def make_app(
    make_settings: Callable[..., Settings], fake_api: FakeRegistryServer
) -> Iterator[Callable[..., FastAPI]]:
    """Apps on the test mirror that fetch from the fake registry."""
    made: list[FastAPI] = []

    def build(**overrides: Any) -> FastAPI:
        settings = make_settings(registry_url=fake_api.base_url, requests_per_minute=0, **overrides)
        app = create_app(settings)
        made.append(app)
        return app

    yield build
    for app in made:
        app.state.web.engine.dispose()


@asynccontextmanager
async def _browser(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def _post(http: httpx.AsyncClient, nct_id: str, *, page: str = "/watch") -> httpx.Response:
    form = await http.get(page)
    return await http.post("/watch", data={"nct_id": nct_id, "csrf_token": csrf_token(form.text)})


def _engine(app: FastAPI) -> Engine:
    engine: Engine = app.state.web.engine
    return engine


def _watched(app: FastAPI) -> list[str]:
    with _engine(app).connect() as conn:
        return [row.nct_id for row in conn.execute(select(watched_trials.c.nct_id).order_by("nct_id"))]


def _mirrored(app: FastAPI, nct_id: str) -> bool:
    with _engine(app).connect() as conn:
        return conn.execute(select(trials.c.nct_id).where(trials.c.nct_id == nct_id)).first() is not None


async def test_a_trial_new_to_the_mirror_is_fetched_stored_watched_and_shown(
    make_app: Callable[..., FastAPI], fake_api: FakeRegistryServer
) -> None:
    app = make_app()
    async with _browser(app) as http:
        form = await http.get("/watch")
        assert form.status_code == 200 and 'for="watch-nct-id"' in form.text
        done = await _post(http, OUTSIDE.lower())
        assert done.status_code == 303
        assert done.headers["location"] == f"http://testserver/trials/{OUTSIDE}"
        page = await http.get(f"/trials/{OUTSIDE}")
    assert page.status_code == 200
    assert "Furmonertinib" in page.text and "Watched by NCT id since" in page.text
    assert '<span class="badge">outside the watch scope' not in page.text  # followed like a trial in scope
    assert (
        'value="Watch this trial"' not in page.text
        and '<button class="button" type="submit">Watch this trial' not in page.text
    )
    assert _watched(app) == [OUTSIDE]
    assert [r.path for r in fake_api.requests] == [f"/studies/{OUTSIDE}"]
    # Listed among the followed trials at once.
    async with _browser(app) as http:
        listing = (await http.get(f"/api/v1/trials?q={OUTSIDE}")).json()
    assert [trial["nct_id"] for trial in listing["trials"]] == [OUTSIDE]


async def test_a_mirrored_trial_becomes_watched_from_its_page_without_asking_the_registry(
    make_app: Callable[..., FastAPI], fake_api: FakeRegistryServer
) -> None:
    app = make_app()
    async with _browser(app) as http:
        page = await http.get(f"/trials/{MIRRORED}")
        assert "Not watched by NCT id" in page.text
        assert re.search(r'<form class="inline-form watch-form" action="/watch" method="post">', page.text)
        done = await _post(http, MIRRORED, page=f"/trials/{MIRRORED}")
        assert done.status_code == 303 and done.headers["location"].endswith(f"/trials/{MIRRORED}")
        again = await http.get(f"/trials/{MIRRORED}")
    assert "Watched by NCT id" in again.text and ">watched</span>" in again.text
    assert fake_api.requests == []
    assert _watched(app) == [MIRRORED]


async def test_an_alias_leads_to_the_current_record(make_app: Callable[..., FastAPI]) -> None:
    app = make_app()
    async with _browser(app) as http:
        done = await _post(http, ALIAS)
    assert done.status_code == 303 and done.headers["location"].endswith(f"/trials/{ALIASED}")
    assert _watched(app) == [ALIASED]


async def test_without_the_csrf_token_nothing_happens(
    make_app: Callable[..., FastAPI], fake_api: FakeRegistryServer
) -> None:
    app = make_app()
    async with _browser(app) as http:
        refused = await http.post("/watch", data={"nct_id": OUTSIDE})
        await http.get("/watch")  # a cookie, but a forged form token
        forged = await http.post("/watch", data={"nct_id": OUTSIDE, "csrf_token": "abc." + "0" * 64})
    assert refused.status_code == forged.status_code == 403
    assert fake_api.requests == [] and _watched(app) == []


@pytest.mark.parametrize("value", ["NCT123", "12345678", SCRIPT, "NCT0546614９"])
async def test_an_invalid_id_is_refused_with_the_form_escaped(
    make_app: Callable[..., FastAPI], fake_api: FakeRegistryServer, value: str
) -> None:
    app = make_app()
    async with _browser(app) as http:
        response = await _post(http, value)
    assert response.status_code == 422
    assert "is not a ClinicalTrials.gov identifier" in response.text
    assert "<script>alert" not in response.text
    assert fake_api.requests == [] and _watched(app) == []


async def test_an_unknown_id_stores_nothing(make_app: Callable[..., FastAPI]) -> None:
    app = make_app()
    async with _browser(app) as http:
        response = await _post(http, "NCT09999999")
    assert response.status_code == 404
    assert (
        "ClinicalTrials.gov has no study NCT09999999" in response.text
        and "Nothing was stored" in response.text
    )
    assert _watched(app) == [] and not _mirrored(app, "NCT09999999")


async def test_a_registry_outage_stores_nothing(
    make_app: Callable[..., FastAPI], fake_api: FakeRegistryServer
) -> None:
    app = make_app(max_retries=0)
    fake_api.inject(Fault.http_error(503))
    async with _browser(app) as http:
        response = await _post(http, OUTSIDE)
    assert response.status_code == 503
    assert "did not answer" in response.text and "Nothing was stored" in response.text
    assert _watched(app) == [] and not _mirrored(app, OUTSIDE)


async def test_the_registry_fetches_of_one_client_are_bounded(
    make_app: Callable[..., FastAPI], fake_api: FakeRegistryServer
) -> None:
    app = make_app()
    async with _browser(app) as http:
        for number in range(FETCHES_PER_CLIENT_PER_HOUR):
            assert (await _post(http, f"NCT0999{number:04d}")).status_code == 404
        refused = await _post(http, OUTSIDE)
        # A trial the mirror holds costs the registry nothing: still allowed.
        mirrored = await _post(http, MIRRORED)
    assert refused.status_code == 429 and "try again later" in refused.text
    assert len(fake_api.requests) == FETCHES_PER_CLIENT_PER_HOUR
    assert mirrored.status_code == 303
    assert _watched(app) == [MIRRORED]


async def test_trial_text_from_the_registry_is_escaped(
    make_app: Callable[..., FastAPI], fake_api: FakeRegistryServer
) -> None:
    hostile = copy.deepcopy(
        next(s for s in fake_api.studies if s["protocolSection"]["identificationModule"]["nctId"] == OUTSIDE)
    )
    hostile["protocolSection"]["identificationModule"].update(
        nctId="NCT99999911", briefTitle=SCRIPT + " & <b>"
    )
    fake_api.set_studies([*fake_api.studies, hostile])
    app = make_app()
    async with _browser(app) as http:
        assert (await _post(http, "NCT99999911")).status_code == 303
        page = await http.get("/trials/NCT99999911")
        form = await http.get("/watch?nct_id=NCT99999911")
    for html in (page.text, form.text):
        assert "<script>alert" not in html and "<b>" not in html
        assert "&lt;script&gt;alert(&#34;watch&#34;)&lt;/script&gt; &amp; &lt;b&gt;" in html
    assert "is watched already" in form.text


async def test_removed_and_merged_records_carry_a_banner(make_app: Callable[..., FastAPI]) -> None:
    app = make_app()
    with _engine(app).begin() as conn:
        mark_removed(conn, MIRRORED, now=utc_now())
        mark_merged(conn, HOSTILE_ID, MIRRORED)
    async with _browser(app) as http:
        removed = (await http.get(f"/trials/{MIRRORED}")).text
        merged = (await http.get(f"/trials/{HOSTILE_ID}")).text
    assert f"Removed from ClinicalTrials.gov on {utc_now().date().isoformat()}" in removed
    assert '<span class="badge">outside the watch scope' not in removed
    assert f'Merged into <a href="/trials/{MIRRORED}">{MIRRORED}</a>' in merged
    assert "Watch this trial</button>" not in merged  # its record lives on under the other id


async def test_the_front_page_offers_the_form(make_app: Callable[..., FastAPI]) -> None:
    async with _browser(make_app()) as http:
        home = (await http.get("/")).text
        prefilled = await http.get(f"/watch?nct_id={MIRRORED}")
    assert '<form class="hero-search hero-watch" action="/watch" method="get">' in home
    assert 'for="home-watch"' in home
    assert prefilled.status_code == 200 and f'value="{MIRRORED}"' in prefilled.text
    assert "is in the mirror" in prefilled.text
