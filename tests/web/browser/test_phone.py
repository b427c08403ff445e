"""Real Chromium at phone and desktop widths: no page scrolls sideways, search shows its results before
the facets (behind a button that opens them, with or without JavaScript), listings become cards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.web.browser.conftest import LiveSite
from tests.web.browser.test_browser import AUDIT, COLOURS

PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}

# Every kind of page; /changes and /prescreen are checked whatever they answer (a page or an error page).
PAGES = [
    "/",
    "/diseases/all",
    "/diseases/b-all",
    "/diseases/t-all",
    "/diseases/ph-all",
    "/diseases/aml",
    "/diseases/aml?status=RECRUITING",
    "/search",
    "/search?disease=B-ALL",
    "/search?q=zzzyzzz",
    "/trials/NCT04747912",
    "/trials/NCT05464836",
    "/trials/NCT99999901",
    "/landscape",
    "/landscape?disease=aml",
    "/trackers/new?disease=AML",
    "/status",
    "/watch",
    "/watch?nct_id=NCT04747912",
    "/changes",
    "/prescreen",
    "/diseases/cml",
]

# Opens every disclosure (facets, evidence, data tables, criteria), so what they hide is measured too,
# and names what sticks out of the viewport without a scrolling box of its own around it.
OVERFLOW = """() => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  const width = window.innerWidth;
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.right <= width + 0.5) continue;
    let clipped = false;
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== 'visible') { clipped = true; break; }
    }
    if (!clipped) out.push(`${el.tagName.toLowerCase()}.${el.className} right=${Math.round(box.right)}`);
  }
  return {scroll: document.documentElement.scrollWidth, width, out: out.slice(0, 5)};
}"""


def _tab(browser: Browser, viewport: ViewportSize, *, javascript: bool = True) -> Page:
    context = browser.new_context(viewport=viewport, device_scale_factor=1, java_script_enabled=javascript)
    return context.new_page()


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    """A fresh tab the size of a phone (390 × 844 CSS pixels)."""
    tab = _tab(browser, PHONE)
    try:
        yield tab
    finally:
        tab.context.close()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_no_page_scrolls_sideways(browser: Browser, live_site: LiveSite, viewport: ViewportSize) -> None:
    tab = _tab(browser, viewport)
    try:
        wide: dict[str, Any] = {}
        for path in PAGES:
            tab.goto(f"{live_site.url}{path}")
            measured: dict[str, Any] = tab.evaluate(OVERFLOW)
            if measured["scroll"] > measured["width"]:
                wide[path] = measured
        assert wide == {}, f"pages wider than {viewport['width']} px: {wide}"
    finally:
        tab.context.close()


def test_search_on_a_phone_shows_results_first_and_facets_behind_a_button(
    phone: Page, live_site: LiveSite, screenshots: Path
) -> None:
    phone.goto(f"{live_site.url}/search?disease=B-ALL")
    first = phone.locator("table.trials tbody tr").first
    expect(first).to_be_visible()
    facets = phone.locator("#filter-form")
    expect(facets).to_be_hidden()
    panel = phone.locator("aside.filters")
    assert _top(first) < _top(panel), "the first result must come before the facets"
    # The first result is on the first screen.
    assert _top(first) < PHONE["height"]
    phone.screenshot(path=str(screenshots / "search-phone.png"))

    # The button at the end of the results opens the facets; ticking one applies it.
    phone.locator("summary.filters-summary").click()
    expect(facets).to_be_visible()
    expect(phone.locator('.facet input[name="modality"][value="CAR-T"]')).to_be_visible()
    assert _top(first) < _top(facets)
    with phone.expect_navigation():
        phone.locator('.facet input[name="modality"][value="CAR-T"]').check()
    expect(phone.get_by_role("link", name="Remove filter Modality: CAR-T")).to_be_visible()


def test_the_filters_button_above_the_results_opens_the_facets(phone: Page, live_site: LiveSite) -> None:
    phone.goto(f"{live_site.url}/search")
    expect(phone.locator("#filter-form")).to_be_hidden()
    button = phone.locator(".filters-jump a")
    expect(button).to_be_visible()
    assert _top(button) < _top(phone.locator("table.trials tbody tr").first)
    button.click()
    expect(phone.locator("#filter-form")).to_be_visible()
    expect(phone.locator("#filter-form")).to_be_in_viewport()


def test_the_facets_open_without_javascript(browser: Browser, live_site: LiveSite) -> None:
    tab = _tab(browser, PHONE, javascript=False)
    try:
        tab.goto(f"{live_site.url}/search")
        expect(tab.locator("#filter-form")).to_be_hidden()
        tab.locator(".filters-jump a").click()
        expect(tab.locator("#filter-form")).to_be_visible()
        tab.goto(f"{live_site.url}/search")
        tab.locator("summary.filters-summary").click()
        tab.locator('.facet input[name="disease"][value="AML"]').check()
        tab.get_by_role("button", name="Apply filters").click()
        expect(tab.get_by_role("link", name="Remove filter Disease: AML")).to_be_visible()
    finally:
        tab.context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_on_a_desktop_the_facets_are_open_beside_the_results(
    browser: Browser, live_site: LiveSite, javascript: bool
) -> None:
    tab = _tab(browser, DESKTOP, javascript=javascript)
    try:
        tab.goto(f"{live_site.url}/search")
        facets = tab.locator("#filter-form")
        expect(facets).to_be_visible()
        expect(tab.locator("summary.filters-summary")).to_be_hidden()
        expect(tab.locator(".filters-jump")).to_be_hidden()
        assert _left(facets) < _left(tab.locator("table.trials tbody tr").first)
    finally:
        tab.context.close()


def test_trial_listings_are_cards_on_a_phone(phone: Page, live_site: LiveSite, screenshots: Path) -> None:
    phone.goto(f"{live_site.url}/diseases/all")
    expect(phone.locator("#about")).to_be_visible()
    phone.screenshot(path=str(screenshots / "disease-phone.png"))
    rows = phone.locator("#phase-3 table.trials tbody tr")
    expect(rows.first).to_be_visible()
    shapes: list[dict[str, Any]] = rows.evaluate_all(
        "rows => rows.map(r => ({display: getComputedStyle(r).display,"
        " right: r.getBoundingClientRect().right}))"
    )
    assert shapes and all(s["display"] == "block" and s["right"] <= PHONE["width"] for s in shapes)
    # Each card says what its values are.
    expect(rows.first.locator('td[data-label="Status"]')).to_be_visible()
    label = rows.first.locator('td[data-label="Sponsor"]').evaluate(
        "td => getComputedStyle(td, '::before').content"
    )
    assert label == '"Sponsor"'
    # The status selector narrows every section.
    phone.get_by_role("link", name="Recruiting", exact=True).click()
    expect(phone.get_by_role("link", name="Recruiting", exact=True)).to_have_attribute("aria-current", "true")
    badges = phone.locator("section.section table.trials .status").all_inner_texts()
    assert badges and set(badges) == {"Recruiting"}


def test_the_trial_page_on_a_phone(phone: Page, live_site: LiveSite, screenshots: Path) -> None:
    phone.goto(f"{live_site.url}/trials/NCT04747912")
    expect(phone.locator("h1")).to_be_visible()
    phone.screenshot(path=str(screenshots / "trial-phone.png"))
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


@pytest.mark.parametrize(
    "path", ["/", "/diseases/all", "/search?disease=B-ALL", "/trials/NCT05464836", "/landscape"]
)
def test_phone_pages_pass_the_accessibility_checks(phone: Page, live_site: LiveSite, path: str) -> None:
    phone.goto(f"{live_site.url}{path}")
    assert phone.evaluate(AUDIT) == []
    ratios: dict[str, float] = phone.evaluate(COLOURS)
    low = {selector: round(value, 2) for selector, value in ratios.items() if value < 4.5}
    assert ratios and low == {}, f"contrast below 4.5:1 on {path} at phone width: {low}"


def _top(locator: Any) -> float:
    box = locator.bounding_box()
    assert box is not None, "the element is not rendered"
    return float(box["y"])


def _left(locator: Any) -> float:
    box = locator.bounding_box()
    assert box is not None, "the element is not rendered"
    return float(box["x"])
