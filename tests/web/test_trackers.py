"""Trackers from the web with a real SMTP server: form, mail, confirm, manage, feed, unsubscribe, delete."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import select

from hemewatch.settings import Settings
from hemewatch.storage.tables import trackers
from hemewatch.web import create_app
from tests.alerts.servers import SmtpServer
from tests.web.forms import csrf_token

pytestmark = pytest.mark.anyio


def _link(smtp: SmtpServer, kind: str) -> str:
    body = smtp.messages[-1].get_body(preferencelist=("plain",))
    assert body is not None
    found = re.search(rf"http://testserver(/trackers/{kind}/[A-Za-z0-9_-]+)", body.get_content())
    assert found is not None, body.get_content()
    return found.group(1)


async def _create(web: httpx.AsyncClient, query: str, email: str = "dr.lee@example.org") -> httpx.Response:
    form = await web.get(f"/trackers/new?{query}")
    fields = dict(
        re.findall(r'<input type="checkbox" id="keep-\d+" name="([^"]+)" value="([^"]+)" checked', form.text)
    )
    name = re.search(r'<input id="name" name="name"[^>]* value="([^"]*)"', form.text)
    assert name is not None
    data = {**fields, "email": email, "name": name.group(1), "cadence": "daily", "feed": "true"}
    data["csrf_token"] = csrf_token(form.text)
    return await web.post("/trackers/new", data=data)


async def test_the_form_is_prefilled_from_the_filters(web: httpx.AsyncClient) -> None:
    html = (await web.get("/trackers/new?disease=B-ALL&modality=CAR-T&phase=PHASE2")).text
    assert re.search(r'name="disease" value="B-ALL" checked', html)
    assert re.search(r'name="modality" value="CAR-T" checked', html)
    assert 'value="B-ALL · CAR-T · Phase 2"' in html
    one = (await web.get("/trackers/new?nct_id=NCT05464836")).text
    assert re.search(r'name="nct_id" value="NCT05464836" checked', one)
    # Every control has a label.
    for control in re.findall(r'<(?:input|select)\b(?![^>]*type="hidden")[^>]*\bid="([^"]+)"', html):
        assert f'for="{control}"' in html, control


async def test_the_whole_tracker_life_from_the_web(web: httpx.AsyncClient, smtp: SmtpServer) -> None:
    created = await _create(web, "disease=B-ALL&modality=CAR-T")
    assert created.status_code == 201, created.text
    assert "Check your mail" in created.text and "dr.lee@example.org" in created.text
    (message,) = smtp.messages
    assert message["To"] == "dr.lee@example.org"
    confirm, manage = _link(smtp, "confirm"), _link(smtp, "manage")

    # Opening the confirm link does not confirm (mail scanners open links); the button does.
    page = await web.get(confirm)
    assert page.status_code == 200 and "Confirm the tracker" in page.text
    done = await web.post(confirm, data={"csrf_token": csrf_token(page.text)})
    assert done.status_code == 200 and "Tracker confirmed" in done.text

    # The manage link shows the tracker and changes it.
    shown = await web.get(manage)
    assert shown.status_code == 200 and "Status: <strong>active</strong>" in shown.text
    assert re.search(r'name="modality" value="CAR-T" checked', shown.text)
    feed_url = re.search(
        r'id="feed-url" type="text" readonly value="http://testserver(/feeds/[^"]+\.atom)"', shown.text
    )
    assert feed_url is not None
    saved = await web.post(
        manage,
        data={
            "csrf_token": csrf_token(shown.text),
            "action": "save",
            "name": "B-ALL CAR-T weekly",
            "email": "dr.lee@example.org",
            "cadence": "weekly",
            "disease": "B-ALL",
            "feed": "true",
        },
    )
    assert saved.status_code == 200 and "Saved." in saved.text
    assert 'value="B-ALL CAR-T weekly"' in saved.text
    assert re.search(r'id="cadence-weekly" name="cadence" value="weekly" checked', saved.text)
    assert not re.search(r'name="modality" value="CAR-T"', saved.text)

    # The Atom feed answers at its private address.
    feed = await web.get(feed_url.group(1))
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("application/atom+xml")
    assert "<feed" in feed.text and "B-ALL CAR-T weekly" in feed.text
    # And its JSON Feed beside it, shown on the manage page and linked from the Atom feed.
    json_url = feed_url.group(1).removesuffix(".atom") + ".json"
    assert f'id="json-feed-url" type="text" readonly value="http://testserver{json_url}"' in saved.text
    assert f'href="http://testserver{json_url}" rel="alternate" type="application/feed+json"' in feed.text
    as_json = await web.get(json_url)
    assert as_json.status_code == 200 and as_json.json()["title"] == "hemewatch: B-ALL CAR-T weekly"

    # Delete: the manage link stops working.
    gone = await web.post(manage, data={"csrf_token": csrf_token(saved.text), "action": "delete"})
    assert gone.status_code == 200 and "Tracker deleted" in gone.text
    assert (await web.get(manage)).status_code == 404
    assert (await web.get(feed_url.group(1))).status_code == 404
    assert (await web.get(json_url)).status_code == 404


async def test_one_click_unsubscribe_needs_no_cookie(
    web: httpx.AsyncClient, smtp: SmtpServer, make_settings: Callable[..., Settings]
) -> None:
    await _create(web, "disease=AML")
    confirm = _link(smtp, "confirm")
    await web.post(confirm, data={"csrf_token": csrf_token((await web.get(confirm)).text)})
    engine = create_app(make_settings()).state.web.engine
    with engine.connect() as conn:
        token = conn.execute(select(trackers.c.unsubscribe_token)).scalar_one()
    engine.dispose()
    page = await web.get(f"/trackers/unsubscribe/{token}")
    assert page.status_code == 200 and "Unsubscribe" in page.text
    web.cookies.clear()
    # RFC 8058: the mail client posts List-Unsubscribe=One-Click, with no cookie and no form token.
    done = await web.post(f"/trackers/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "Unsubscribed" in done.text
    again = await web.post(f"/trackers/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
    assert again.status_code == 200
    refused = await web.post(f"/trackers/unsubscribe/{token}", data={"other": "x"})
    assert refused.status_code == 403


async def test_links_of_nobody_open_nothing(web: httpx.AsyncClient) -> None:
    for path in ("/trackers/manage/not-a-token", "/feeds/not-a-token.atom"):
        assert (await web.get(path)).status_code == 404, path
    page = await web.get("/trackers/confirm/not-a-token")
    refused = await web.post("/trackers/confirm/not-a-token", data={"csrf_token": csrf_token(page.text)})
    assert refused.status_code == 404
    page = await web.get("/trackers/unsubscribe/not-a-token")
    refused = await web.post("/trackers/unsubscribe/not-a-token", data={"csrf_token": csrf_token(page.text)})
    assert refused.status_code == 404


async def test_an_invalid_form_is_shown_again_with_the_problem(
    web: httpx.AsyncClient, smtp: SmtpServer
) -> None:
    form = await web.get("/trackers/new?disease=AML")
    response = await web.post(
        "/trackers/new",
        data={
            "csrf_token": csrf_token(form.text),
            "name": "AML",
            "email": "not an address",
            "disease": "AML",
        },
    )
    assert response.status_code == 422
    assert "is not an e-mail address" in response.text
    assert 'name="disease" value="AML" checked' in response.text
    assert smtp.messages == []


async def test_without_mail_the_form_says_so_and_makes_a_feed_only_tracker(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    form = await client.get("/trackers/new?disease=AML")
    # Said before anyone types: no mail server, so a private feed, and no address asked for.
    assert "This server sends no e-mail" in form.text
    assert 'name="email"' not in form.text
    assert "Create the feed" in form.text

    response = await client.post(
        "/trackers/new",
        data={"csrf_token": csrf_token(form.text), "name": "AML <b>watch</b>", "disease": "AML"},
    )

    assert response.status_code == 201
    assert "AML &lt;b&gt;watch&lt;/b&gt;" in response.text
    feed = re.search(r"http://[^/\s<]+(/feeds/[A-Za-z0-9_-]+[^\s<]*)</code>", response.text)
    manage = re.search(r'href="http://[^/"]+(/trackers/manage/[A-Za-z0-9_-]+)"', response.text)
    assert feed is not None and manage is not None, response.text
    atom = await client.get(feed.group(1))
    assert atom.status_code == 200
    assert "AML &lt;b&gt;watch&lt;/b&gt;" in atom.text
    managed = await client.get(manage.group(1))
    assert managed.status_code == 200
    assert 'type="hidden" name="email"' in managed.text
    engine = create_app(settings).state.web.engine
    with engine.connect() as conn:
        row = conn.execute(select(trackers)).one()
    engine.dispose()
    # Active at once (nothing to confirm), never mailed: its owner address is reserved.
    assert row.confirmed_at is not None
    assert not row.email_enabled and row.feed_enabled
    assert row.email.endswith("@hemewatch.invalid")
    assert row.criteria["diseases"] == ["AML"]


async def test_saving_a_feed_only_tracker_keeps_it_feed_only(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    form = await client.get("/trackers/new?disease=AML")
    created = await client.post(
        "/trackers/new", data={"csrf_token": csrf_token(form.text), "name": "AML", "disease": "AML"}
    )
    manage = re.search(r'href="http://[^/"]+(/trackers/manage/[A-Za-z0-9_-]+)"', created.text)
    assert manage is not None
    page = await client.get(manage.group(1))
    email = re.search(r'type="hidden" name="email" value="([^"]+)"', page.text)
    assert email is not None
    saved = await client.post(
        manage.group(1),
        data={
            "csrf_token": csrf_token(page.text),
            "name": "AML renamed",
            "email": email.group(1),
            "disease": "AML",
            "feed": "true",
            "action": "save",
        },
    )
    assert saved.status_code == 200, saved.text
    engine = create_app(settings).state.web.engine
    with engine.connect() as conn:
        row = conn.execute(select(trackers)).one()
    engine.dispose()
    assert row.name == "AML renamed"
    assert not row.email_enabled


async def test_one_client_makes_only_a_few_feed_only_trackers_an_hour(
    make_settings: Callable[..., Settings],
) -> None:
    app = create_app(make_settings(mails_per_client_per_hour=2))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    statuses = []
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        for number in range(3):
            form = await http.get("/trackers/new")
            made = await http.post(
                "/trackers/new", data={"csrf_token": csrf_token(form.text), "name": f"All {number}"}
            )
            statuses.append(made.status_code)
        assert "Several trackers were made from your network address" in made.text
    app.state.web.engine.dispose()
    assert statuses == [201, 201, 429]


async def test_one_address_gets_only_a_few_confirmation_mails_an_hour(
    web: httpx.AsyncClient, smtp: SmtpServer
) -> None:
    for number, query in enumerate(["disease=AML", "disease=B-ALL", "disease=T-ALL"], start=1):
        created = await _create(web, query, email="target@example.org")
        assert created.status_code == 201, created.text
        assert len(smtp.messages) == number
    refused = await _create(web, "disease=Ph%2B+ALL", email="Target@Example.org")
    assert refused.status_code == 429
    assert "try again later" in refused.text
    assert len(smtp.messages) == 3
    other = await _create(web, "disease=AML", email="someone.else@example.org")
    assert other.status_code == 201
