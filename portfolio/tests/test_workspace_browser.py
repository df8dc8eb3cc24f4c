"""In a real browser: the owner works through a use case's tabs. Each click loads the tab alone and
changes the URL; a reload stays on the tab, back goes to the one before, the keyboard moves between
tabs, and on a 390 px phone no tab scrolls the page sideways.

Set WORKSPACE_SHOTS to a directory to keep screenshots of each tab at 1366 and 390 px there."""

import datetime
import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import transaction
from playwright.sync_api import expect

from aifinops.core.audit import audit_record
from aifinops.core.periods import month_start, months_back, today
from portfolio.models import CostLine, Milestone, OptimizationItem
from portfolio.tests.factories import AIModelFactory
from portfolio.workspace import TABS
from showback.tests.budget_factories import BudgetFactory
from showback.tests.factories import DailySpendFactory

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = os.environ.get("WORKSPACE_SHOTS")
# What each tab shows, to know that it loaded.
SHOWS = {
    "overview": "Ownership and classification",
    "gates": "MVP gate",
    "value": "Unit economics",
    "spend": "Models and spend (last 3 months)",
    "agents": "Agent controls",
    "backlog": "Cache the system prompt",
    "history": "Old → New",
}


def _shot(page, name):
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=False)


@pytest.fixture
def busy(cast, migration_data):
    """Support summarizer with spend on a model with a long name, a budget, a milestone, costs
    beyond the model bill (their table's buttons have hidden labels), a backlog item and some
    history."""
    uc = cast.use_case_a
    model = AIModelFactory(name="anthropic/claude-3-7-sonnet-20250219-extended-thinking-preview")
    for days in range(5):
        DailySpendFactory(
            use_case=uc,
            team=uc.team,
            model=model,
            provider=model.provider,
            date=today() - datetime.timedelta(days=days),
            effective_cost=Decimal("41.25"),
        )
    BudgetFactory(name="Summarizer monthly", scope="use_case", use_case=uc, owner=cast.owner)
    milestone = Milestone.objects.create(
        use_case=uc, name="Pilot with 50 agents", due_date=today() + datetime.timedelta(days=30)
    )
    for category in ("human_review", "observability", "evaluation"):
        CostLine.objects.create(
            use_case=uc, month=month_start(months_back(today(), 1)), category=category, amount=Decimal("1650")
        )
    OptimizationItem.objects.create(
        use_case=uc, title="Cache the system prompt", lever="caching", owner=cast.owner
    )
    with transaction.atomic():
        audit_record(actor=cast.owner, action="milestone.create", obj=milestone, after={"name": "Pilot"})
        audit_record(
            actor=cast.owner, action="use_case.update", obj=uc, before={"name": "Old"}, after={"name": "New"}
        )
    return uc


def test_the_owner_works_through_the_tabs(page, log_in, cast, busy, password):
    # Given the owner on the use case's page
    log_in("owner", password)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(busy.get_absolute_url())
    expect(page.locator("#uc-header")).to_contain_text("Spend this month")
    expect(page.locator("#uc-header")).to_contain_text("$206.25")
    page.evaluate("window.__same_page = true")
    _shot(page, "1366-overview")

    # When they click each tab, then each loads in place and the URL is the tab's
    for name, label in TABS:
        page.get_by_role("tab", name=label).click()
        expect(page).to_have_url(re.compile(re.escape(busy.get_tab_url(name)) + "$"))
        expect(page.get_by_role("tab", name=label)).to_have_attribute("aria-selected", "true")
        expect(page.get_by_role("tabpanel")).to_contain_text(SHOWS[name])
        _shot(page, f"1366-{name}")
    assert page.evaluate("window.__same_page") is True, "a tab reloaded the whole page"
    assert page.get_by_role("tab", name="Overview").get_attribute("aria-selected") == "false"

    # When they go back, they are on the tab before; a reload stays on the tab
    page.go_back()
    expect(page).to_have_url(re.compile(re.escape(busy.get_tab_url("backlog")) + "$"))
    expect(page.get_by_role("tabpanel")).to_contain_text(SHOWS["backlog"])
    page.reload()
    expect(page.get_by_role("tab", name="Backlog")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_role("tabpanel")).to_contain_text(SHOWS["backlog"])

    # When they move with the keyboard, the next tab opens and keeps the focus
    page.get_by_role("tab", name="Backlog").focus()
    page.keyboard.press("ArrowRight")
    expect(page).to_have_url(re.compile(re.escape(busy.get_tab_url("history")) + "$"))
    expect(page.get_by_role("tab", name="History")).to_be_focused()
    page.keyboard.press("Home")
    expect(page.get_by_role("tabpanel")).to_contain_text(SHOWS["overview"])

    # Then on a 390 px phone no tab scrolls the page sideways
    page.set_viewport_size({"width": 390, "height": 844})
    for name, label in TABS:
        page.goto(busy.get_tab_url(name))
        expect(page.get_by_role("tabpanel")).to_contain_text(SHOWS[name])
        expect(page.get_by_role("tab", name=label)).to_be_in_viewport()  # the tab list scrolled to it
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the {name} tab is {width} px wide on a 390 px phone"
        _shot(page, f"390-{name}")


def test_a_form_on_a_tab_without_javascript_comes_back_to_that_tab(page, log_in, cast, busy, password):
    # Given the owner on the backlog tab of a browser without htmx (a plain form post)
    log_in("owner", password)
    page.route(re.compile(r".*/htmx\.min\.js$"), lambda route: route.abort())
    page.goto(busy.get_tab_url("backlog"))

    # When they propose an optimization
    form = page.locator("#value-backlog form").last
    form.locator("[name=title]").fill("Route short tickets to a small model")
    form.locator("[name=lever]").select_option("model_routing")
    form.locator("[name=expected_monthly_savings]").fill("120")
    form.get_by_role("button", name="Add to backlog").click()

    # Then they are back on the backlog tab, with it there
    expect(page).to_have_url(re.compile(re.escape(busy.get_tab_url("backlog"))))
    expect(page.get_by_role("tabpanel")).to_contain_text("Route short tickets to a small model")
