"""Fixtures for the web tests: a real mirror, the app built on it, and an in-process HTTP client."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from hemewatch.settings import Settings
from hemewatch.web import create_app
from tests.alerts.servers import SmtpServer
from tests.web.data import build_mirror

SECRET = "test-secret-key-0123456789abcdef0123456789"


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio."""
    return "asyncio"


@pytest.fixture(scope="session")
def mirror_folder(tmp_path_factory: pytest.TempPathFactory, sqlite_demo_template: Path) -> Path:
    """A mirror built once per session; tests that write use a copy."""
    folder = tmp_path_factory.mktemp("mirror")
    build_mirror(folder, sqlite_demo_template)
    return folder


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The machine's own configuration must not leak into the app under test.
    for name in list(os.environ):
        if name.startswith("HEMEWATCH_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HEMEWATCH_CONFIG", str(tmp_path / "absent.toml"))


@pytest.fixture
def make_settings(tmp_path: Path, mirror_folder: Path) -> Callable[..., Settings]:
    """Settings on a private copy of the mirror (so writes never leak between tests)."""

    def build(**overrides: object) -> Settings:
        database = tmp_path / "mirror.db"
        if not database.exists():
            shutil.copy(mirror_folder / "mirror.db", database)
        values: dict[str, object] = {
            "home": tmp_path / "home",
            "database_url": f"sqlite:///{database}",
            "secret_key": SECRET,
            "public_url": "http://testserver",
            **overrides,
        }
        return Settings(**values)  # type: ignore[arg-type]

    return build


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    """Settings for one test."""
    return make_settings()


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    """The app on the test mirror."""
    application = create_app(settings)
    yield application
    application.state.web.engine.dispose()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process HTTP client; server errors come back as responses, as a browser would see them."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server on 127.0.0.1 that keeps what it receives."""
    with SmtpServer() as server:
        yield server


@pytest.fixture
async def web(make_settings: Callable[..., Settings], smtp: SmtpServer) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app that sends its mail to the test SMTP server."""
    app = create_app(
        make_settings(smtp_url=f"smtp://127.0.0.1:{smtp.port}", mail_from="hemewatch <hw@example.org>")
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
    app.state.web.engine.dispose()
