"""Forms that cannot be abused: mail quotas held by the database, no disclosure, no 500 on control
characters, links on the public address, HEAD, Secure cookies. On SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from hemewatch.settings import Settings
from hemewatch.web import create_app
from tests.alerts.servers import SmtpServer
from tests.web.forms import csrf_token

pytestmark = pytest.mark.anyio
CONCURRENT_POSTS = 16


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest) -> dict[str, str]:
    """The copy of the test mirror (SQLite), or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return {}
    return {"database_url": str(request.getfixturevalue("postgres_url"))}


@pytest.fixture
def build_settings(
    make_settings: Callable[..., Settings], database: dict[str, str], smtp: SmtpServer
) -> Callable[..., Settings]:
    """Settings of an app on the chosen database that mails the test SMTP server."""

    def build(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "smtp_url": f"smtp://127.0.0.1:{smtp.port}",
            "mail_from": "hemewatch <hw@example.org>",
            **database,
            **overrides,
        }
        return make_settings(**values)

    return build


@asynccontextmanager
async def _client(app: FastAPI, *, ip: str = "127.0.0.1") -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(ip, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
def apps(build_settings: Callable[..., Settings]) -> Iterator[Callable[..., list[FastAPI]]]:
    """Builds apps (each with its own engine, like separate processes) on one database."""
    built: list[FastAPI] = []

    def build(count: int = 1, **overrides: object) -> list[FastAPI]:
        settings = build_settings(**overrides)
        made = [create_app(settings) for _ in range(count)]
        built.extend(made)
        return made

    yield build
    for app in built:
        app.state.web.engine.dispose()


async def _form(http: httpx.AsyncClient, path: str = "/trackers/new") -> str:
    page = await http.get(path)
    assert page.status_code == 200, page.text
    return csrf_token(page.text)


def _fields(token: str, *, email: str, name: str, **extra: str) -> dict[str, str]:
    return {"csrf_token": token, "email": email, "name": name, "cadence": "daily", "disease": "AML", **extra}


async def _post_many(apps: list[FastAPI], forms: list[dict[str, str]], ips: list[str]) -> list[int]:
    """Post every form at once, spread over the apps and client addresses; the status codes."""

    async def post(i: int, form: dict[str, str]) -> int:
        async with _client(apps[i % len(apps)], ip=ips[i % len(ips)]) as http:
            token = await _form(http)
            response = await http.post("/trackers/new", data={**form, "csrf_token": token})
            return response.status_code

    return list(await asyncio.gather(*(post(i, form) for i, form in enumerate(forms))))


# --- Mail quotas, atomic across apps (processes) and threads --------------------------------------------


async def test_concurrent_posts_to_one_address_send_at_most_its_hourly_limit(
    apps: Callable[..., list[FastAPI]], smtp: SmtpServer
) -> None:
    two = apps(2)
    forms = [_fields("", email="target@example.org", name=f"AML {i}") for i in range(CONCURRENT_POSTS)]
    codes = await _post_many(two, forms, ["127.0.0.1"])
    print(f"\n{CONCURRENT_POSTS} concurrent posts to one address: {len(smtp.messages)} mails, codes {codes}")
    assert len(smtp.messages) == 3
    assert sorted(codes) == [201] * 3 + [429] * (CONCURRENT_POSTS - 3)


async def test_one_client_is_capped_across_addresses(
    apps: Callable[..., list[FastAPI]], smtp: SmtpServer
) -> None:
    two = apps(2, mails_per_client_per_hour=5)
    forms = [_fields("", email=f"reader{i}@example.org", name="AML") for i in range(CONCURRENT_POSTS)]
    codes = await _post_many(two, forms, ["203.0.113.7"])
    print(f"\n{CONCURRENT_POSTS} concurrent posts from one client: {len(smtp.messages)} mails")
    assert len(smtp.messages) == 5
    assert codes.count(201) == 5 and codes.count(429) == CONCURRENT_POSTS - 5


async def test_the_whole_site_is_capped_per_hour(
    apps: Callable[..., list[FastAPI]], smtp: SmtpServer
) -> None:
    two = apps(2, mails_per_hour=4)
    forms = [_fields("", email=f"reader{i}@example.org", name="AML") for i in range(CONCURRENT_POSTS)]
    ips = [f"198.51.100.{i}" for i in range(CONCURRENT_POSTS)]
    codes = await _post_many(two, forms, ips)
    print(f"\n{CONCURRENT_POSTS} concurrent posts, 16 clients: {len(smtp.messages)} mails")
    assert len(smtp.messages) == 4
    assert codes.count(429) == CONCURRENT_POSTS - 4
    async with _client(two[0], ip="192.0.2.99") as http:
        refused = await http.post(
            "/trackers/new", data=_fields(await _form(http), email="x@example.org", name="X")
        )
    assert refused.status_code == 429
    assert "as many mails as it may this hour" in refused.text


async def _manage_link(smtp: SmtpServer) -> str:
    body = smtp.messages[-1].get_body(preferencelist=("plain",))
    assert body is not None
    found = re.search(r"http://testserver(/trackers/manage/[A-Za-z0-9_-]+)", body.get_content())
    assert found is not None
    return found.group(1)


async def test_address_changes_from_the_manage_link_count_too(
    apps: Callable[..., list[FastAPI]], smtp: SmtpServer
) -> None:
    (app,) = apps(1)
    async with _client(app) as http:
        created = await http.post(
            "/trackers/new", data=_fields(await _form(http), email="me@example.org", name="AML")
        )
        assert created.status_code == 201
        manage = await _manage_link(smtp)
        codes = []
        for i in range(6):
            token = await _form(http, manage)
            changed = await http.post(
                manage, data=_fields(token, email="victim@example.org", name=f"AML {i}")
            )
            codes.append(changed.status_code)
            back = await http.post(manage, data=_fields(token, email="me@example.org", name=f"AML {i}"))
            codes.append(back.status_code)
    to_victim = [m for m in smtp.messages if m["To"] == "victim@example.org"]
    print(f"\n6 address changes to one victim: {len(to_victim)} mails to it, codes {codes}")
    assert len(to_victim) == 3
    assert 429 in codes
    assert len(smtp.messages) <= 1 + 10  # never more than the client's hourly limit after the first


# --- No disclosure ----------------------------------------------------------------------------------------


def _sent_text(html: str) -> str:
    found = re.search(r"<h1>Check your mail</h1>.*?</section>", html, re.S)
    assert found is not None, html
    return found.group(0)


async def test_the_form_never_tells_whether_an_address_has_a_tracker(
    apps: Callable[..., list[FastAPI]], smtp: SmtpServer
) -> None:
    (app,) = apps(1)
    async with _client(app) as http:
        first = await http.post(
            "/trackers/new", data=_fields(await _form(http), email="dr.lee@example.org", name="AML")
        )
        again = await http.post(
            "/trackers/new", data=_fields(await _form(http), email="dr.lee@example.org", name="AML")
        )
    assert first.status_code == again.status_code == 201
    assert _sent_text(first.text) == _sent_text(again.text)
    assert "already" not in again.text
    # The owner hears about it, by mail.
    assert len(smtp.messages) == 2
    notice = smtp.messages[-1]
    assert notice["To"] == "dr.lee@example.org"
    assert "already have a tracker named “AML”" in notice["Subject"]
    body = notice.get_body(preferencelist=("plain",))
    assert body is not None and "/trackers/" not in body.get_content()  # no new link to anyone


async def test_moving_a_tracker_onto_an_address_that_has_one_of_that_name_tells_nothing(
    apps: Callable[..., list[FastAPI]], smtp: SmtpServer
) -> None:
    (app,) = apps(1)
    async with _client(app) as http:
        await http.post(
            "/trackers/new", data=_fields(await _form(http), email="dr.lee@example.org", name="AML")
        )
        await http.post("/trackers/new", data=_fields(await _form(http), email="me@example.org", name="Mine"))
        manage = await _manage_link(smtp)
        token = await _form(http, manage)
        moved = await http.post(manage, data=_fields(token, email="dr.lee@example.org", name="AML"))
    assert moved.status_code == 200, moved.text
    assert "already" not in moved.text
    assert "A confirmation mail went to dr.lee@example.org" in moved.text
    assert "waiting for the e-mail confirmation" in moved.text
    assert "already have a tracker" in smtp.messages[-1]["Subject"]


# --- Control characters -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/search?q=a%00b",
        "/search?sponsor=%00",
        "/search?country=Fr%00ance",
        "/?q=%01",
        "/api/v1/trials?q=%00",
        "/api/v1/trials?country=%1b",
        "/api/v1/trials/NCT0%00",
        "/api/v1/changes?since=2026-01-01%00",
        "/trials/NCT%00",
        "/trackers/new?q=%00",
        "/trackers/manage/abc%00def",
        "/feeds/%00.atom",
    ],
)
async def test_control_characters_in_addresses_are_422_never_500(
    apps: Callable[..., list[FastAPI]], path: str
) -> None:
    (app,) = apps(1)
    async with _client(app) as http:
        response = await http.get(path)
    assert response.status_code == 422, response.text
    assert "control characters" in response.text


@pytest.mark.parametrize("field", ["name", "email", "sponsor", "q", "country", "nct_id"])
async def test_control_characters_in_form_fields_are_422_never_500(
    apps: Callable[..., list[FastAPI]], smtp: SmtpServer, field: str
) -> None:
    (app,) = apps(1)
    async with _client(app) as http:
        data = _fields(await _form(http), email="dr.lee@example.org", name="AML")
        data[field] = data.get(field, "x") + "\x00"
        response = await http.post("/trackers/new", data=data)
        # Multipart bodies reach the form model itself, which refuses them as well.
        files = {name: (None, value) for name, value in data.items()}
        multipart = await http.post("/trackers/new", files=files)
    assert response.status_code == 422, response.text
    assert multipart.status_code == 422, multipart.text
    assert smtp.messages == []


async def test_tab_and_newline_stay_allowed(apps: Callable[..., list[FastAPI]]) -> None:
    (app,) = apps(1)
    async with _client(app) as http:
        assert (await http.get("/search?q=blina%09tumomab")).status_code == 200
        assert (await http.get("/api/v1/trials?sponsor=a%0Ab")).status_code == 200


# --- Public address, HEAD, Secure cookie ------------------------------------------------------------------


async def test_links_and_redirects_use_the_public_address_not_the_host_header(
    apps: Callable[..., list[FastAPI]],
) -> None:
    (app,) = apps(1, public_url="https://trials.example.org/")
    evil = {"host": "evil.example"}
    async with _client(app) as http:
        redirect = await http.get("/diseases", headers=evil)
        listing = await http.get("/api/v1/trials?limit=1", headers=evil)
        changes = await http.get("/api/v1/changes?limit=1&include_administrative=true", headers=evil)
        export = await http.get("/search?format=json", headers=evil)
    assert redirect.status_code == 308
    assert redirect.headers["location"] == "https://trials.example.org/"
    assert "evil.example" not in listing.text + changes.text + export.text
    body = listing.json()
    if body["total"] > 1:
        assert body["next"].startswith("https://trials.example.org/api/v1/trials?")
        assert body["trials"][0]["url"].startswith("https://trials.example.org/trials/NCT")
    following = changes.json()["next"]
    if following is not None:
        assert following.startswith("https://trials.example.org/api/v1/changes?")


async def test_the_trial_redirect_uses_the_public_address(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings(public_url="https://trials.example.org"))
    try:
        async with _client(app) as http:
            response = await http.get("/trials/nct05464836?all=true", headers={"host": "evil.example"})
    finally:
        app.state.web.engine.dispose()
    assert response.status_code == 308
    assert response.headers["location"] == "https://trials.example.org/trials/NCT05464836?all=true"


@pytest.mark.parametrize("path", ["/", "/search?disease=AML", "/trackers/new", "/api/v1/trials?limit=1"])
async def test_head_works_on_pages(apps: Callable[..., list[FastAPI]], path: str) -> None:
    (app,) = apps(1)
    async with _client(app) as http:
        head = await http.head(path)
        get = await http.get(path)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert "content-security-policy" in head.headers


@pytest.mark.parametrize("public_url", ["https://trials.example.org", "HTTPS://Trials.Example.org/"])
async def test_the_csrf_cookie_is_secure_behind_https(
    apps: Callable[..., list[FastAPI]], public_url: str
) -> None:
    (app,) = apps(1, public_url=public_url)
    async with _client(app) as http:
        cookie = (await http.get("/trackers/new")).headers["set-cookie"].lower()
    assert "; secure" in cookie and "samesite=strict" in cookie and "httponly" in cookie


def test_the_public_address_must_be_absolute(make_settings: Callable[..., Settings]) -> None:
    with pytest.raises(ValueError, match="absolute http"):
        make_settings(public_url="trials.example.org")
