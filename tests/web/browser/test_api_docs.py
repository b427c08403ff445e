"""The API docs page in real Chromium: Swagger UI from the package, under the app's CSP, nothing external."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import ConsoleMessage, Page, Request, expect

from tests.web.browser.conftest import LiveSite


def test_the_api_docs_render_every_operation_from_this_server_only(page: Page, live_site: LiveSite) -> None:
    problems: list[str] = []
    origins: set[str] = set()

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            problems.append(f"{message.type}: {message.text}")

    def on_request(request: Request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("http", "https"):
            origins.add(f"{parts.scheme}://{parts.netloc}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("request", on_request)
    page.goto(f"{live_site.url}/api/docs")

    operations = page.locator(".opblock")
    expect(operations.first).to_be_visible()
    document = page.request.get(f"{live_site.url}/openapi.json").json()
    paths = document["paths"]
    count = sum(len(methods) for methods in paths.values())
    expect(operations).to_have_count(count)
    expect(page.locator(".opblock-summary-path").filter(has_text="/api/v1/trials").first).to_be_visible()
    expect(page.locator(".info .title")).to_contain_text("hemewatch")

    # Opening an operation shows its example answer.
    page.locator(".opblock-summary-path").filter(has_text="/healthz").first.click()
    expect(page.locator(".opblock-body .responses-wrapper").first).to_be_visible()

    assert problems == []
    assert origins == {live_site.url}
