"""Issue 19.1 in a real browser: on the demo, billed in USD, EUR and GBP with a rate every day, the
finance analyst reads the dashboard, the forecast and the executive narrative in the reporting
currency with the rates named and no missing rate; at desktop and phone widths.

Set FX_SHOTS to a directory to keep the screenshots there.
"""

import os
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = os.environ.get("FX_SHOTS")


def _shot(page, name, *parts):
    """The whole page, and each of `parts` (locators) on its own, to read at full size."""
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)
        for i, part in enumerate(parts):
            part.screenshot(path=str(Path(SHOTS) / f"{name}-{i}.png"))


@pytest.mark.parametrize("width", [1366, 390])
def test_finance_reads_the_dashboard_forecast_and_narrative_in_the_reporting_currency(
    demo, page, log_in, width
):
    # Given the finance analyst on the demo's spend in three currencies
    page.set_viewport_size({"width": width, "height": 900})
    log_in("finance", "demo")

    # When they open the dashboard (last month by default)
    page.goto(reverse("dashboard:index"))

    # Then the AI spend is one USD total naming its EUR and GBP rates, and no rate is missing
    total = page.get_by_test_id("reporting-total")
    expect(total).to_contain_text("Total in USD")
    expect(total.get_by_test_id("rates-used")).to_contain_text("1 EUR = ")
    expect(total.get_by_test_id("rates-used")).to_contain_text("1 GBP = ")
    expect(page.get_by_test_id("missing-rates")).to_have_count(0)
    expect(page.locator("#trend")).to_contain_text("In USD: other currencies at each day's rate")
    expect(page.locator("#top_cost")).to_contain_text("In USD: other currencies at each day's rate")
    expect(page.locator("#trend")).not_to_contain_text("Not in this chart")
    _shot(
        page,
        f"dashboard-{width}",
        total,
        page.locator("#trend"),
        page.locator("#top_cost"),
        page.locator("#funnel"),
        page.locator("#unowned"),
    )

    # And the forecast reads its history in USD, naming the rates under the chart
    page.goto(reverse("analytics:forecast_portfolio"))
    expect(page.get_by_text("effective cost in USD")).to_be_visible()
    expect(page.get_by_test_id("chart-rates")).to_contain_text("1 EUR = ")
    expect(page.get_by_test_id("chart-missing")).to_have_count(0)
    _shot(
        page,
        f"forecast-{width}",
        page.locator("main p.text-muted").first,
        page.locator("#h-forecast-chart").locator(".."),
    )

    # And the narrative says how much was spent in USD and at which rates
    page.goto(reverse("dashboard:narrative"))
    expect(page.locator("main")).to_contain_text("EUR and GBP converted at each day's")
    expect(page.locator("main")).not_to_contain_text("Not counted for want of an exchange rate")
    _shot(page, f"narrative-{width}", page.locator("section[data-section=spend]"))
