"""Real Chromium against the app served by uvicorn: the journey a clinician takes, and accessibility."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.web.browser.conftest import LiveSite

PAGES = [
    "/",
    "/diseases/all",
    "/diseases/aml",
    "/search?disease=B-ALL",
    "/trials/NCT05464836",
    "/landscape",
    "/trackers/new?disease=AML",
]

# Checks that run in the page (see the two files for what they look at).
HERE = Path(__file__).parent
AUDIT = (HERE / "audit.js").read_text(encoding="utf-8")
COLOURS = (HERE / "contrast.js").read_text(encoding="utf-8")


def _shot(page: Page, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / name), full_page=False)


def test_a_clinician_finds_filters_opens_and_tracks_trials(
    page: Page, live_site: LiveSite, screenshots: Path
) -> None:
    page.goto(f"{live_site.url}/diseases/all")
    expect(page.locator("h1")).to_contain_text("Acute lymphoblastic leukemia (ALL)")
    expect(page.locator("#phase-3 table tbody tr").first).to_be_visible()
    _shot(page, screenshots, "disease-page.png")

    # Filter: from the disease page to search, then tick a modality (the form applies it at once).
    page.get_by_role("link", name="Search all ALL trials").click()
    expect(page.locator("h1")).to_have_text("Search trials")
    before = page.locator("#results-heading").inner_text()
    with page.expect_navigation():
        page.locator('.facet input[name="modality"][value="CAR-T"]').check()
    expect(page.get_by_role("link", name="Remove filter Modality: CAR-T")).to_be_visible()
    after = page.locator("#results-heading").inner_text()
    assert int(after.split()[0]) < int(before.split()[0])
    _shot(page, screenshots, "search.png")

    # Open a trial from the results.
    first = page.locator("table.trials tbody tr td.nct a").first
    nct_id = first.inner_text()
    first.click()
    expect(page).to_have_url(re.compile(rf"/trials/{nct_id}$"))
    expect(page.get_by_role("heading", name="Change timeline")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("View on ClinicalTrials.gov"))).to_have_attribute(
        "href", f"https://clinicaltrials.gov/study/{nct_id}"
    )

    # Track it: the form is prefilled with the trial; an e-mail address is all it needs.
    page.get_by_role("link", name="Track this trial").click()
    expect(page.locator("h1")).to_have_text("Track these trials")
    expect(page.locator(f'input[name="nct_id"][value="{nct_id}"]')).to_be_checked()
    page.get_by_label("Your e-mail address").fill("dr.moreau@example.org")
    _shot(page, screenshots, "tracker-form.png")
    page.get_by_role("button", name="Send the confirmation mail").click()
    expect(page.locator("h1")).to_have_text("Check your mail")
    message = live_site.smtp.messages[-1]
    assert message["To"] == "dr.moreau@example.org"
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    confirm = re.search(r"http://127\.0\.0\.1:\d+/trackers/confirm/\S+", body.get_content())
    assert confirm is not None

    # The link from the mail, then the button: the tracker is confirmed.
    page.goto(confirm.group(0))
    page.get_by_role("button", name="Confirm the tracker").click()
    expect(page.locator("h1")).to_have_text("Tracker confirmed")


def test_the_trial_page_and_landscape_render(page: Page, live_site: LiveSite, screenshots: Path) -> None:
    page.goto(f"{live_site.url}/trials/NCT04747912")
    expect(page.locator(".lede.mechanism")).to_contain_text("Inotuzumab ozogamicin")
    expect(page.locator("#therapies-heading")).to_be_visible()
    expect(page.locator("#therapies-heading")).to_contain_text("Therapies")
    expect(page.locator(".timeline .event").first).to_contain_text("Protocol amended")
    _shot(page, screenshots, "trial-page.png")

    page.goto(f"{live_site.url}/landscape", wait_until="networkidle")
    sizes: list[Any] = page.evaluate("[...document.querySelectorAll('.chart img')].map(i => i.naturalWidth)")
    assert len(sizes) == 3 and all(width >= 600 for width in sizes)
    page.locator("#chart-targets").scroll_into_view_if_needed()
    _shot(page, screenshots, "landscape.png")


def test_pages_work_without_javascript(browser: Any, live_site: LiveSite) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        tab = context.new_page()
        tab.goto(f"{live_site.url}/search")
        tab.locator('.facet input[name="disease"]').first.check()
        tab.get_by_role("button", name="Apply filters").click()
        expect(tab.locator(".chips")).to_be_visible()
    finally:
        context.close()


@pytest.mark.parametrize("path", PAGES)
def test_pages_pass_the_accessibility_checks(page: Page, live_site: LiveSite, path: str) -> None:
    page.goto(f"{live_site.url}{path}")
    assert page.evaluate(AUDIT) == []
    ratios: dict[str, float] = page.evaluate(COLOURS)
    assert ratios, "no text found"
    low = {selector: round(value, 2) for selector, value in ratios.items() if value < 4.5}
    assert low == {}, f"contrast below 4.5:1 on {path}: {low}"


def test_keyboard_focus_is_visible(page: Page, live_site: LiveSite) -> None:
    page.goto(f"{live_site.url}/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Skip to content"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
