"""Issue 19 in a real browser: the finance analyst opens last month of the demo's mixed-currency
spend and sees one total in the reporting currency with the rates it used named, then the rates
page with the pairs' sources and latest dates; at desktop and phone widths.

Set FX_SHOTS to a directory to keep the screenshots there.
"""

import datetime
import os
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from aifinops.core import periods
from aifinops.core.tests.test_accessibility import _violations
from showback.models import ExchangeRate

from .factories import DailySpendFactory

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = os.environ.get("FX_SHOTS")


def _shot(page, name, full_page=True):
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=full_page)


@pytest.mark.parametrize("width", [1366, 390])
def test_finance_sees_one_total_in_the_reporting_currency_with_its_rates(demo, page, log_in, width):
    # Given the finance analyst, on the demo's spend billed in USD, EUR and GBP
    page.set_viewport_size({"width": width, "height": 900})
    log_in("finance", "demo")
    day = periods.today()
    start = periods.months_back(day, 1)
    end = periods.month_start(day) - datetime.timedelta(days=1)

    # When they open showback for last month
    page.goto(f"{reverse('showback:index')}?start={start.isoformat()}&end={end.isoformat()}")

    # Then one total in USD stands above the per-currency totals, naming the rates it used
    total = page.get_by_test_id("reporting-total")
    expect(total).to_contain_text("Total in USD")
    expect(total.get_by_test_id("rates-used")).to_contain_text("1 EUR = ")
    expect(total.get_by_test_id("rates-used")).to_contain_text("1 GBP = ")
    expect(total.get_by_test_id("rates-used")).to_contain_text("ECB reference rates (demo)")
    expect(total).to_contain_text("€")
    expect(total).to_contain_text("£")
    expect(page.get_by_test_id("missing-rates")).to_have_count(0)
    _shot(page, f"showback-last-month-{width}")
    if SHOTS:
        total.screenshot(path=str(Path(SHOTS) / f"reporting-total-{width}.png"))

    # And the rates page lists the pairs with their source and latest date
    total.get_by_role("link", name="All rates").click()
    pairs = page.get_by_test_id("pairs")
    expect(pairs).to_contain_text("EUR/USD")
    expect(pairs).to_contain_text("GBP/USD")
    expect(page.get_by_test_id("reporting-currency")).to_have_text("USD")
    expect(page.get_by_role("button", name="Load rates")).to_be_visible()
    _shot(page, f"rates-{width}", full_page=False)

    # And neither page has a serious accessibility violation
    for url in (reverse("showback:exchange_rate_list"), reverse("showback:index")):
        found = _violations(page, url)
        assert not found, [(v["id"], v["help"]) for v in found]


def test_finance_sees_which_currency_and_month_has_no_rate(cast, page, log_in, password):
    # Given EUR spend last month and this month, with a rate recorded only from this month on
    day = periods.today()
    this_month, last_month = periods.month_start(day), periods.months_back(day, 1)
    ExchangeRate.objects.create(
        base="EUR", quote="USD", rate=Decimal("1.08"), valid_from=this_month, source="ECB"
    )
    for on in (last_month, this_month):
        DailySpendFactory(currency="EUR", date=on, effective_cost=Decimal("100"), team=cast.team_a)
    DailySpendFactory(currency="USD", date=this_month, effective_cost=Decimal("50"), team=cast.team_a)
    log_in(cast.finance.username, password)

    # When finance opens showback over both months
    page.goto(f"{reverse('showback:index')}?start={last_month.isoformat()}&end={day.isoformat()}")

    # Then the total counts what has a rate and names the month that has none
    total = page.get_by_test_id("reporting-total")
    expect(total).to_contain_text("$158.00")
    warning = page.get_by_test_id("missing-rates")
    expect(warning).to_contain_text(f"in EUR ({last_month:%b %Y})")
    expect(warning).to_contain_text("nothing is counted at 1")
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        total.screenshot(path=str(Path(SHOTS) / "missing-rate.png"))
