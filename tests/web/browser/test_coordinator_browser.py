"""Real Chromium on the coordinator's trial page and the changes page: accessible, usable without scripts."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.web.browser.conftest import LiveSite
from tests.web.browser.test_browser import AUDIT, COLOURS


@pytest.mark.parametrize(
    "path", ["/trials/NCT05918692", "/trials/NCT05886491", "/changes", "/changes?disease=AML&type=site_added"]
)
def test_the_pages_pass_the_accessibility_checks(page: Page, live_site: LiveSite, path: str) -> None:
    page.goto(f"{live_site.url}{path}")
    assert page.evaluate(AUDIT) == []
    ratios: dict[str, float] = page.evaluate(COLOURS)
    low = {selector: round(value, 2) for selector, value in ratios.items() if value < 4.5}
    assert ratios and low == {}, f"contrast below 4.5:1 on {path}: {low}"


def test_criteria_lists_fold_and_unfold(page: Page, live_site: LiveSite) -> None:
    page.goto(f"{live_site.url}/trials/NCT05918692")
    first = page.locator(".criteria-inclusion li").first
    expect(first).to_be_visible()
    page.locator(".criteria-inclusion summary").click()
    expect(first).to_be_hidden()
    page.locator(".criteria-inclusion summary").click()
    expect(first).to_be_visible()


def test_the_change_filters_work_without_javascript(browser: Any, live_site: LiveSite) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        tab = context.new_page()
        tab.goto(f"{live_site.url}/changes")
        tab.locator('input[name="type"][value="site_added"]').check()
        tab.locator("#f-disease").select_option("AML")
        tab.get_by_role("button", name="Apply filters").click()
        expect(tab).to_have_url(
            f"{live_site.url}/changes?since=&until=&min_severity=&type=site_added&disease=AML&country="
        )
        events = tab.locator(".change-stream > li")
        expect(events).to_have_count(1)
        expect(events.first).to_contain_text("NCT05918692")
        expect(events.first.locator(".before-after")).to_contain_text("Before")
    finally:
        context.close()
