"""The dashboard and the executive narrative in the reporting currency (issue 19.1): the AI spend,
the trend and the top use cases count every currency at the rate in force on each day, checked
against an independent sum of row x rate over the factory rows; a day without a rate is named and
never counted at 1; the page keeps its query count as days, currencies and rates grow."""

import datetime
from collections import defaultdict
from decimal import Decimal

import pytest
from django.urls import reverse

from aifinops.core import periods
from aifinops.dashboard import figures
from aifinops.dashboard.data import DashboardData
from aifinops.dashboard.filters import default_filters
from aifinops.dashboard.narrative import narrative_get
from aifinops.dashboard.tests import dashboard_world
from showback.models import DailySpend, ExchangeRate
from showback.rollups import monthly_spend_rebuild

pytestmark = pytest.mark.django_db

URL = reverse("dashboard:index")
CENT = Decimal("0.01")


def rate(base, quote, value, valid_from):
    ExchangeRate.objects.create(
        base=base, quote=quote, rate=Decimal(value), valid_from=valid_from, source="ECB"
    )


@pytest.fixture
def world(cast):
    """The dashboard world (USD, and 70 EUR on the writer) with EUR at two rates, GBP with a rate
    only from the 11th of last month, and GBP spend before it."""
    world = dashboard_world.build(cast)
    last = world["last"]
    day_l = last + datetime.timedelta(days=9)
    rate("EUR", "USD", "1.10", world["before"])
    rate("EUR", "USD", "1.20", day_l + datetime.timedelta(days=2))
    rate("USD", "GBP", "0.80", day_l + datetime.timedelta(days=1))  # only the inverse: 1 GBP = 1.25 USD
    drafter, writer, router = world["drafter"], world["writer"], world["router"]
    dashboard_world.cost(
        "30", date=day_l + datetime.timedelta(days=2), currency="EUR", use_case=drafter, team=drafter.team
    )
    dashboard_world.cost(
        "40", date=day_l + datetime.timedelta(days=1), currency="GBP", use_case=writer, team=writer.team
    )
    dashboard_world.cost(
        "20", date=last + datetime.timedelta(days=6), currency="GBP", use_case=router, team=router.team
    )
    monthly_spend_rebuild(start=world["before"], end=day_l + datetime.timedelta(days=2))
    return world


def _in_force(currency, day):
    """The rate the world recorded, looked up by hand: None where there is none."""
    rates = {
        "USD": [(datetime.date.min, Decimal(1))],
        "EUR": [(periods.months_back(periods.today(), 2), Decimal("1.10"))],
        "GBP": [],
    }
    last = periods.months_back(periods.today(), 1)
    rates["EUR"].append((last + datetime.timedelta(days=11), Decimal("1.20")))
    rates["GBP"].append((last + datetime.timedelta(days=10), Decimal(1) / Decimal("0.80")))
    found = None
    for since, value in rates[currency]:
        if since <= day:
            found = value
    return found


def _expected(start, end):
    """({use case id: USD}, total USD, {currency: amount without a rate}) over AI spend rows."""
    by_use_case, missing, total = defaultdict(Decimal), defaultdict(Decimal), Decimal(0)
    for row in DailySpend.objects.filter(is_ai=True, date__gte=start, date__lte=end):
        factor = _in_force(row.currency, row.date)
        if factor is None:
            missing[row.currency] += row.effective_cost
            continue
        by_use_case[row.use_case_id] += row.effective_cost * factor
        total += row.effective_cost * factor
    return by_use_case, total, dict(missing)


def test_ai_spend_trend_and_top_use_cases_are_in_the_reporting_currency_at_each_days_rate(cast, world):
    f = default_filters()
    by_use_case, total, missing = _expected(f.start, f.end)
    data = DashboardData(user=cast.finance, filters=f)

    head = figures.headline(data)
    top = figures.top_cost_figure(data)
    trend = figures.trend_figure(data)

    assert head["currency"] == "USD"
    assert head["total"] == total.quantize(CENT) == Decimal("1438.00")  # 1275 + 77 + 36 + 50
    assert {r["key"]: r["spend"] for r in top.rows} == {
        uc.key: by_use_case[uc.pk].quantize(CENT)
        for uc in (world["drafter"], world["writer"], world["router"])
    }
    assert top.rows[0]["as_billed"] == "800.00 USD + 30.00 EUR"
    assert {r["key"]: r["not_converted"] for r in top.rows}["router"] == "20.00 GBP"
    last_month = next(r for r in trend.rows if r["month"] == world["last"])
    assert last_month["actual"] == total.quantize(CENT)
    assert last_month["not_converted"] == "20.00 GBP"
    # The GBP without a rate is named, never counted at 1 (1458 would be)
    assert missing == {"GBP": Decimal("20")}
    assert any("1 EUR = 1.20 USD (ECB" in n and "1 GBP = 1.25 USD (ECB" in n for n in trend.notes)
    assert any(n.startswith("Not in this chart: £20.00, no GBP→USD rate for") for n in trend.notes)
    assert any(n.startswith("Not in this chart: £20.00") for n in top.notes)


def test_the_dashboard_page_shows_the_total_with_its_rates_and_the_missing_rate(cast, login, world):
    html = login(cast.finance).get(URL).content.decode()

    assert "Total in USD" in html and "$1,438.00" in html
    assert "1 EUR = 1.20 USD (ECB," in html
    assert "Missing exchange rates" in html and "no GBP→USD rate for" in html
    assert "Billed in other currencies:" in html


def test_the_narrative_speaks_in_the_reporting_currency_and_names_the_rates(cast, world):
    story = narrative_get(user=cast.finance)
    spend = next(s for s in story.sections if s.key == "spend").sentences[0].text

    assert spend.startswith(f"In {world['last']:%B %Y} the company spent $1,438 on AI (EUR and GBP converted")
    assert "at each day's rate from ECB, the latest 1 EUR = 1.20 USD and 1 GBP = 1.25 USD on" in spend
    assert "Not counted for want of an exchange rate: £20." in spend
    assert "The 3 largest use cases, Reply drafter ($836), Ad writer ($427) and Ticket router ($125)" in spend


def test_the_narrative_page_shows_the_converted_sentence(cast, login, world):
    html = login(cast.finance).get(reverse("dashboard:narrative")).content.decode()
    assert "$1,438 on AI (EUR and GBP converted" in html


def test_the_dashboard_keeps_its_query_count_as_currencies_days_and_rates_grow(
    cast, login, world, django_assert_max_num_queries
):
    client = login(cast.finance)
    client.get(URL)
    with django_assert_max_num_queries(40) as small:
        assert client.get(URL).status_code == 200
    last = world["last"]
    for n in range(20):
        day = last + datetime.timedelta(days=n)
        for currency in ("CHF", "JPY"):
            rate(currency, "USD", "0.9", day)
            dashboard_world.cost(
                "5", date=day, currency=currency, use_case=world["writer"], team=world["writer"].team
            )
    dashboard_world.grow(world, cast, 4)
    monthly_spend_rebuild(start=last, end=last + datetime.timedelta(days=27))
    with django_assert_max_num_queries(len(small.captured_queries)):
        html = client.get(URL).content.decode()
    assert "1 CHF = 0.90 USD" in html


def test_the_maturity_scorecard_counts_spend_in_the_reporting_currency(cast, login, world):
    from aifinops.dashboard.maturity import scorecard_get

    f = default_filters()
    by_use_case, total, _missing = _expected(f.start, f.end)
    premium = sum(
        (
            row.effective_cost * _in_force(row.currency, row.date)
            for row in DailySpend.objects.filter(
                is_ai=True, date__gte=f.start, date__lte=f.end, model_tier__in=("frontier", "reasoning")
            )
            if _in_force(row.currency, row.date) is not None
        ),
        Decimal(0),
    )

    scores = {s.key: s for s in scorecard_get(user=cast.finance)}
    html = login(cast.finance).get(reverse("dashboard:maturity")).content.decode()

    attributed = scores["attributed"]
    assert attributed.value == (total - by_use_case[None]) / total
    assert attributed.numerator == (
        f"{total - by_use_case[None]:,.0f} of {total:,.0f} USD last month "
        "(not counted for want of a rate: 20.00 GBP)"
    )
    assert scores["premium"].numerator.endswith(
        f"of {premium:,.0f} USD of premium spend last month (not counted for want of a rate: 20.00 GBP)"
    )
    assert "not counted for want of a rate: 20.00 GBP" in html


def test_the_funnel_and_risk_figures_are_in_the_reporting_currency(cast, world):
    f = default_filters()
    by_use_case, _total, _missing = _expected(f.start, f.end)
    data = DashboardData(user=cast.finance, filters=f)

    funnel = {r["stage"]: r["spend"] for r in figures.funnel_figure(data).rows}
    risk = figures.risk_figure(data)

    assert (funnel["Scale"], funnel["Pilot"], funnel["Launch"]) == tuple(
        by_use_case[world[k].pk].quantize(CENT) for k in ("drafter", "writer", "router")
    )
    assert risk.currency == "USD"
    assert risk.headline["high"] == by_use_case[world["drafter"].pk].quantize(CENT)
    assert any(n.startswith("Not in this chart: £20.00") for n in risk.notes)


def test_unattributed_and_unowned_spend_is_in_the_reporting_currency(cast, world):
    f = default_filters()
    by_use_case, total, _missing = _expected(f.start, f.end)
    data = DashboardData(user=cast.finance, filters=f)

    unowned = figures.unowned_figure(data)
    head = figures.headline(data)

    assert [(r["kind"], r["what"], r["spend"]) for r in unowned.rows] == [
        ("Unowned", "Ad writer", by_use_case[world["writer"].pk].quantize(CENT)),
        ("Unattributed", "Support (no use case)", by_use_case[None].quantize(CENT)),
    ]
    assert unowned.headline["unattributed_share"] == head["unattributed_share"] == by_use_case[None] / total


def test_the_premium_share_over_time_is_in_the_reporting_currency(cast, world):
    f = default_filters()
    _by_use_case, total, _missing = _expected(f.start, f.end)
    premium = sum(
        (
            row.effective_cost * _in_force(row.currency, row.date)
            for row in DailySpend.objects.filter(
                is_ai=True, date__gte=f.start, date__lte=f.end, model_tier__in=("frontier", "reasoning")
            )
            if _in_force(row.currency, row.date) is not None
        ),
        Decimal(0),
    )
    data = DashboardData(user=cast.finance, filters=f)

    rows = {r["month"]: r for r in figures.premium_figure(data).rows}

    assert (rows[world["last"]]["premium"], rows[world["last"]]["total"]) == (
        premium.quantize(CENT),
        total.quantize(CENT),
    )
    assert rows[world["last"]]["not_converted"] == "20.00 GBP"
    assert figures.headline(data)["premium_share"] == premium.quantize(CENT) / total.quantize(CENT)
