"""A real uvicorn server on 127.0.0.1 and Debian's headless Chromium, driven by Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright

from hemewatch.settings import Settings
from hemewatch.web import create_app
from tests.alerts.servers import SmtpServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"


@dataclass(frozen=True)
class LiveSite:
    """The app served by uvicorn, and the SMTP server its mail goes to."""

    url: str
    smtp: SmtpServer


@pytest.fixture(scope="module")
def live_site(tmp_path_factory: pytest.TempPathFactory, mirror_folder: Path) -> Iterator[LiveSite]:
    """The app on a copy of the test mirror, served on an ephemeral port in a thread."""
    folder = tmp_path_factory.mktemp("live")
    shutil.copy(mirror_folder / "mirror.db", folder / "mirror.db")
    with SmtpServer() as smtp:
        # The socket listens before the server thread starts: the first request simply waits in
        # the backlog, so nothing has to poll for the server to be ready.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        port = sock.getsockname()[1]
        settings = Settings(
            home=folder / "home",
            database_url=f"sqlite:///{folder / 'mirror.db'}",
            secret_key="browser-test-secret-0123456789abcdef",
            public_url=f"http://127.0.0.1:{port}",
            smtp_url=f"smtp://127.0.0.1:{smtp.port}",
            mail_from="hemewatch <hw@example.org>",
        )
        server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning", lifespan="on"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        try:
            yield LiveSite(f"http://127.0.0.1:{port}", smtp)
        finally:
            server.should_exit = True
            thread.join(timeout=30)
            sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium; missing Chromium fails the run in CI and skips it elsewhere."""
    if not CHROMIUM.exists():
        message = (
            f"Chromium is required for the browser tests and {CHROMIUM} is missing (apt-get install chromium)"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser tab the size of a laptop screen."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, device_scale_factor=1)
    tab = context.new_page()
    try:
        yield tab
    finally:
        context.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: docs/screenshots with HEMEWATCH_UPDATE_SCREENSHOTS=1, else a temporary folder."""
    if os.environ.get("HEMEWATCH_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return SCREENSHOTS
    return tmp_path_factory.mktemp("screenshots")
