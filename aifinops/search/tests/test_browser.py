"""The header's search box in a real browser: "/" focuses it, typing opens the dropdown of what the
person may see, Enter opens the first result; Ctrl+K focuses it too, and on a phone-sized screen
the shortcut opens the collapsed menu to reach it.

Set SEARCH_SHOTS to a directory to keep a screenshot of each step there.
"""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from council.tests.factories import IntakeRequestFactory
from intake.models import IntakeStatus

# The live server reads what the test writes, so the data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = os.environ.get("SEARCH_SHOTS")


def _shot(page, name):
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=False)


@pytest.fixture
def intake(cast):
    return IntakeRequestFactory(
        requester=cast.requester_a,
        team=cast.team_a,
        name="Support refund triage",
        use_case=None,
        status=IntakeStatus.TRIAGED,
        decided_at=None,
    )


def test_slash_type_and_enter_lands_on_the_first_result(page, log_in, cast, intake, password):
    # Given requester A on the home page
    log_in(cast.requester_a.username, password)
    page.goto("/")

    # When they press "/" and type the start of a word
    page.locator("body").press("/")
    box = page.locator("#search-q")
    expect(box).to_be_focused()
    box.press_sequentially("supp", delay=30)

    # Then the dropdown lists their team's use case and intake, and nothing of team B's
    dropdown = page.locator("#search-dropdown")
    expect(dropdown).to_contain_text("Support summarizer")
    expect(dropdown).to_contain_text("Support refund triage")
    expect(dropdown).not_to_contain_text("Campaign writer")
    expect(dropdown.locator(".search-hit.active")).to_have_count(1)
    _shot(page, "search-dropdown-1366")

    # When they press Enter, then they land on the first result: the use case
    box.press("Enter")
    page.wait_for_url("**/portfolio/use-cases/support-summarizer/")
    expect(page.locator("h1")).to_contain_text("Support summarizer")


def test_arrows_choose_a_result_and_escape_closes(page, log_in, cast, intake, password):
    log_in(cast.requester_a.username, password)
    page.goto("/")

    page.keyboard.press("Control+k")
    box = page.locator("#search-q")
    expect(box).to_be_focused()
    box.press_sequentially("support", delay=30)
    expect(page.locator("#search-dropdown")).to_contain_text("Support refund triage")

    box.press("ArrowDown")
    chosen = page.locator("#search-dropdown .search-hit.active")
    expect(chosen).to_contain_text("Support refund triage")
    box.press("Escape")
    expect(page.locator("#search-dropdown .search-hit")).to_have_count(0)

    box.press("ArrowDown")
    box.press("Enter")
    # Nothing highlighted: Enter submits the form to the full results page.
    page.wait_for_url("**/search/?q=support")
    expect(page.locator("main")).to_contain_text("Use cases")
    expect(page.locator("main")).to_contain_text("Intakes")
    _shot(page, "search-page-1366")


def test_on_a_phone_the_shortcut_opens_the_menu_and_the_page_works(page, log_in, cast, intake, password):
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(cast.requester_a.username, password)
    page.goto("/")

    page.locator("body").press("/")
    box = page.locator("#search-q")
    expect(box).to_be_visible()
    expect(box).to_be_focused()
    box.press_sequentially("refund", delay=30)
    expect(page.locator("#search-dropdown")).to_contain_text("Support refund triage")
    _shot(page, "search-dropdown-390")

    box.press("Enter")
    page.wait_for_url(f"**/intake/{intake.pk}/")
    page.goto("/search/?q=support")
    expect(page.locator("main")).to_contain_text("Support summarizer")
    _shot(page, "search-page-390")
