"""The pre-screen in real Chromium: on a phone the results come before the profile form, nothing scrolls
sideways, the page passes the accessibility and contrast checks, and it works without JavaScript."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.web.browser.conftest import LiveSite
from tests.web.browser.test_browser import AUDIT, COLOURS
from tests.web.browser.test_phone import DESKTOP, OVERFLOW, PHONE


def _tab(browser: Browser, viewport: ViewportSize, *, javascript: bool = True) -> Page:
    context = browser.new_context(viewport=viewport, device_scale_factor=1, java_script_enabled=javascript)
    return context.new_page()


def _top(locator: Any) -> float:
    box = locator.bounding_box()
    assert box is not None
    return float(box["y"])


def _fill_post_car_t(tab: Page) -> None:
    tab.get_by_label("Age (years)").fill("34")
    tab.get_by_label("Disease", exact=True).fill("B-ALL")
    tab.get_by_label("relapsed", exact=True).check()
    tab.get_by_label("Prior therapies").fill("CD19 CAR-T")
    tab.get_by_label("Antigens").fill("CD22+, CD19-")
    tab.get_by_label("Near").fill("Houston, Texas")
    with tab.expect_navigation():
        tab.get_by_role("button", name="Pre-screen").click()


def _checked(tab: Page) -> None:
    assert tab.evaluate(AUDIT) == []
    ratios: dict[str, float] = tab.evaluate(COLOURS)
    low = {selector: round(value, 2) for selector, value in ratios.items() if value < 4.5}
    assert ratios and low == {}, f"contrast below 4.5:1: {low}"


def test_on_a_phone_results_come_first(browser: Browser, live_site: LiveSite, screenshots: Path) -> None:
    tab = _tab(browser, PHONE)
    try:
        tab.goto(f"{live_site.url}/prescreen")
        expect(tab.locator(".prescreen-disclaimer")).to_contain_text("not medical advice")
        expect(tab.locator("#prescreen-form")).to_be_visible()  # nothing to show yet: the form is open
        _checked(tab)
        _fill_post_car_t(tab)
        first = tab.locator(".prescreen-trial").first
        expect(first).to_be_visible()
        expect(tab.locator(".prescreen-disclaimer")).to_be_visible()
        form = tab.locator("#prescreen-form")
        expect(form).to_be_hidden()  # behind the "Patient profile" button, after the results
        assert _top(first) < _top(tab.locator("aside.filters"))
        assert _top(first) < PHONE["height"]
        expect(first.locator(".verdict").first).to_be_visible()
        tab.screenshot(path=str(screenshots / "prescreen-phone.png"))
        _checked(tab)
        tab.locator("summary.filters-summary").click()
        expect(form).to_be_visible()
        expect(tab.get_by_label("Prior therapies")).to_have_value("CD19 CAR-T")
        measured: dict[str, Any] = tab.evaluate(OVERFLOW)  # every disclosure opened
        assert measured["scroll"] <= measured["width"], measured
    finally:
        tab.context.close()


def test_on_a_desktop_the_profile_sits_beside_the_results(
    browser: Browser, live_site: LiveSite, screenshots: Path
) -> None:
    tab = _tab(browser, DESKTOP)
    try:
        tab.goto(f"{live_site.url}/prescreen")
        _fill_post_car_t(tab)
        expect(tab.locator("#prescreen-form")).to_be_visible()
        expect(tab.locator(".prescreen-trial").first).to_be_visible()
        tab.screenshot(path=str(screenshots / "prescreen-desktop.png"))
        measured: dict[str, Any] = tab.evaluate(OVERFLOW)
        assert measured["scroll"] <= measured["width"], measured
    finally:
        tab.context.close()


def test_the_pre_screen_works_without_javascript(browser: Browser, live_site: LiveSite) -> None:
    tab = _tab(browser, PHONE, javascript=False)
    try:
        tab.goto(f"{live_site.url}/prescreen")
        _fill_post_car_t(tab)
        expect(tab.locator(".prescreen-trial").first).to_be_visible()
        assert tab.context.cookies() == []
    finally:
        tab.context.close()
