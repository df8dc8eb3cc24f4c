"""The one navigation in a real browser, as a requester and as a finance analyst, on a laptop and on
a phone: the same entries in the same order, Showback's pages in its sub-menu (by mouse and by
keyboard), the current part marked, and no request of the whole journey answered 404 (the favicon
included).

Set NAV_JOURNEY_SHOTS to a directory to keep a screenshot of each step there.
"""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from aifinops.core.tests.factories import PASSWORD
from aifinops.core.tests.matrix_world import build_world, spend_day
from showback.tests.factories import DailySpendFactory

# The live server reads what the test writes, so the data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = os.environ.get("NAV_JOURNEY_SHOTS")
TOP = ["Home", "Intake", "Portfolio", "Council", "Showback", "Dashboard"]


def _shot(page, name):
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=False)


def _top_entries(page):
    bar = "#nav-main > ul.me-auto > li"
    entries = page.locator(f"{bar} > a, {bar} > details > summary")
    return [text.strip() for text in entries.all_inner_texts()]


def _as(page, log_in, username):
    page.context.clear_cookies()
    log_in(username, PASSWORD)


@pytest.fixture
def not_found(page):
    """Every answer of the journey that was a 404 (pages, styles, scripts, the favicon)."""
    missing = []
    page.on("response", lambda response: missing.append(response.url) if response.status == 404 else None)
    return missing


def test_two_roles_follow_the_one_navigation_on_a_laptop_and_a_phone(page, log_in, cast, not_found):
    build_world(cast)
    # Calls by the million, so that a call costs a fraction of a cent (the spend page's card)
    DailySpendFactory(
        team=cast.team_a,
        use_case=cast.use_case_a,
        date=spend_day(),
        effective_cost="1.04",
        requests=1_400_000,
    )
    page.set_viewport_size({"width": 1366, "height": 900})

    # A requester: the same entries as everyone, without Admin; Showback's sub-menu without the
    # finance pages
    _as(page, log_in, "req-a")
    assert _top_entries(page) == TOP
    expect(page.locator('link[rel="icon"]')).to_have_count(1)
    showback = page.locator("summary", has_text="Showback")
    showback.click()
    menu = page.locator("details.nav-menu[open] .nav-submenu")
    expect(menu).to_be_visible()
    assert menu.locator("a").all_inner_texts() == [
        "Spend",
        "Budgets",
        "Anomalies",
        "Forecast",
        "Chargeback",
        "Exchange rates",
    ]
    _shot(page, "1366-requester-showback-menu")
    menu.get_by_role("link", name="Budgets").click()
    page.wait_for_url(re.compile(r".*/showback/budgets/$"))
    expect(page.locator("summary", has_text="Showback")).to_have_attribute("aria-current", "true")
    expect(page.locator("#nav-main a", has_text="Budgets")).to_have_attribute("aria-current", "page")
    # The council entry leads a requester to where their items stand, in the same place
    page.locator("#nav-main").get_by_role("link", name="Council").click()
    page.wait_for_url(re.compile(r".*/council/mine/?$"))
    expect(page.get_by_role("heading", name="Where my items stand")).to_be_visible()
    _shot(page, "1366-requester-council")

    # A finance analyst: the same top entries; by keyboard, Showback opens and leads to the import
    _as(page, log_in, "fin")
    assert _top_entries(page) == TOP
    page.locator("summary", has_text="Showback").focus()
    page.keyboard.press("Enter")
    menu = page.locator("details.nav-menu[open] .nav-submenu")
    expect(menu).to_be_visible()
    assert menu.locator("a").all_inner_texts() == [
        "Spend",
        "Import spend",
        "Attribution",
        "Budgets",
        "Anomalies",
        "Forecast",
        "Chargeback",
        "Margins",
        "Commitments",
        "Exchange rates",
    ]
    _shot(page, "1366-finance-showback-menu")
    page.keyboard.press("Escape")
    expect(page.locator("details.nav-menu[open]")).to_have_count(0)
    page.locator("summary", has_text="Showback").click()
    page.locator(".nav-submenu").get_by_role("link", name="Import spend").click()
    page.wait_for_url(re.compile(r".*/showback/imports/$"))
    expect(page.locator("nav[aria-label=breadcrumb]")).to_contain_text("Showback")
    _shot(page, "1366-finance-imports")

    # On a phone, the bar folds into a menu that opens in place
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/")
    expect(page.locator("#nav-main")).to_be_hidden()
    _shot(page, "390-finance-home")
    page.get_by_role("button", name="Toggle navigation").click()
    # Bootstrap marks the menu "show" once it has finished unfolding
    expect(page.locator("#nav-main")).to_have_class(re.compile(r"(^|\s)show(\s|$)"))
    page.locator("summary", has_text="Showback").click()
    expect(page.locator(".nav-submenu").get_by_role("link", name="Anomalies")).to_be_visible()
    _shot(page, "390-finance-menu-open")
    page.locator(".nav-submenu").get_by_role("link", name="Anomalies").click()
    page.wait_for_url(re.compile(r".*/showback/analytics/anomalies/$"))
    _shot(page, "390-finance-anomalies")

    # And the portfolio list, with its actual spend, on a laptop again
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto("/portfolio/?sort=-actual_mtd")
    expect(page.get_by_role("columnheader", name=re.compile("Actual this month"))).to_have_attribute(
        "aria-sort", "descending"
    )
    _shot(page, "1366-finance-portfolio")
    # and the spend page's cards, whose figures stay on one line
    page.goto("/showback/")
    per_call = page.locator(".card", has_text="Per call").locator(".metric")
    expect(per_call).to_have_text(re.compile(r"^\$0\.000\d+$"))
    box = per_call.bounding_box()
    assert box["height"] < 40, "the cost per call wraps"
    _shot(page, "1366-finance-showback")

    assert not_found == []
