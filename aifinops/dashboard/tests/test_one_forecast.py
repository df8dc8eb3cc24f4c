"""One forecast: the dashboard's trend, the forecast page, the executive narrative and the API show
the same figure for the same month and scope, because they read it through one selector
(showback.analytics.selectors.forecast_get).

The history is generated: 26 to 30 months of noisy, growing spend in two teams (so the seasonal
model is fitted and a history window of 24 months would give another figure than one of 36), a
first month that begins part-way, a little spend in another currency, a portfolio assumption and
a use case's own assumption (so a figure without them would differ too).
"""

import datetime
import random
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from aifinops.core import periods
from portfolio.tests.factories import ProviderFactory
from showback.models import AssumptionKind, DailySpend
from showback.rollups import monthly_spend_rebuild
from showback.tests.analytics_factories import ForecastAssumptionFactory, daily_spend_rows

pytestmark = pytest.mark.django_db

D = Decimal


def _generated_history(cast, seed):
    """Daily spend of two use cases over 26 to 30 months, drawn from `seed`."""
    rng = random.Random(seed)
    provider = ProviderFactory(name="Anthropic", slug="anthropic")
    this_month = periods.month_start(periods.today())
    months = rng.randint(26, 30)
    rows = []
    for use_case, base in (
        (cast.use_case_a, rng.randint(2000, 6000)),
        (cast.use_case_b, rng.randint(500, 3000)),
    ):
        growth = D(rng.randint(0, 150))
        for m in range(-months, 0):
            month = periods.add_months(this_month, m)
            days = (periods.add_months(month, 1) - month).days
            first = rng.randint(5, 20) if m == -months else 1
            monthly = D(base) + growth * (months + m) + D(rng.randint(-400, 400))
            daily = (monthly / days).quantize(D("0.01"))
            rows += daily_spend_rows(
                use_case=use_case,
                provider=provider,
                costs=[daily] * (days - first + 1),
                start=month + datetime.timedelta(days=first - 1),
            )
        # This month so far, and a little spend in euros that no figure adds to the dollars.
        rows += daily_spend_rows(use_case=use_case, provider=provider, costs=[D("40")], start=this_month)
        rows += daily_spend_rows(
            use_case=use_case,
            provider=provider,
            costs=[D("7")],
            start=periods.add_months(this_month, -2),
            currency="EUR",
        )
    DailySpend.objects.bulk_create(rows)
    monthly_spend_rebuild(start=periods.add_months(this_month, -months), end=this_month)
    ForecastAssumptionFactory(
        use_case=None,
        kind=AssumptionKind.ADOPTION_GROWTH,
        effective_from=periods.add_months(this_month, 1),
        growth_pct=D(rng.randint(2, 12)),
    )
    ForecastAssumptionFactory(
        use_case=cast.use_case_b,
        kind=AssumptionKind.ADOPTION_GROWTH,
        effective_from=this_month,
        growth_pct=D(rng.randint(2, 12)),
    )
    return this_month


def _whole(amount):
    return f"${amount.quantize(D(1)):,}"


@pytest.mark.parametrize("seed", [17, 2024, 31337])
def test_every_page_and_the_api_show_the_same_forecast_for_a_month(cast, login, seed):
    # Given a generated history and the planners' assumptions
    this_month = _generated_history(cast, seed)
    next_month = periods.add_months(this_month, 1)
    client = login(cast.finance)

    # When finance reads the forecast on the forecast page, the dashboard, the narrative and the API
    page = client.get(reverse("analytics:forecast_portfolio"))
    dashboard = client.get(reverse("dashboard:index"))
    narrative = client.get(reverse("dashboard:narrative"))
    api = client.get("/api/v1/forecasts/portfolio/").json()

    # Then the figure for next month (and this month) is the same everywhere
    on_page = {p.month: p.value for p in page.context["view"].forecast.points}
    assert page.context["view"].forecast.adjusted  # the assumptions count
    trend = dashboard.context["figures"]["trend"]
    on_dashboard = {r["month"]: r["forecast"] for r in trend.rows if r.get("forecast") is not None}
    on_api = {datetime.date.fromisoformat(p["month"] + "-01"): D(p["amount"]) for p in api["forecast"]}
    for month in (this_month, next_month):
        assert on_dashboard[month] == on_page[month] == on_api[month]
    assert trend.headline["next_month"] == on_page[next_month]
    assert api["currency"] == trend.currency == "USD"
    said = re.search(r"The forecast for next month is (\$[\d,]+)\.", narrative.text)
    assert said is not None, "the narrative names next month's forecast"
    assert said.group(1) == _whole(on_page[next_month])


def test_a_team_member_sees_the_forecast_of_their_teams_spend_alike_on_the_dashboard_page_and_api(
    cast, login
):
    # Given the same history: a Support member sees only Support's spend
    this_month = _generated_history(cast, 5)
    client = login(cast.requester_a)

    page = client.get(reverse("analytics:forecast_portfolio")).context["view"]
    dashboard = client.get(reverse("dashboard:index")).context["figures"]["trend"]
    api = client.get("/api/v1/forecasts/portfolio/").json()

    on_dashboard = {r["month"]: r["forecast"] for r in dashboard.rows if r.get("forecast") is not None}
    on_api = {datetime.date.fromisoformat(p["month"] + "-01"): D(p["amount"]) for p in api["forecast"]}
    assert on_dashboard[this_month] == page.forecast.points[0].value == on_api[this_month]
    # ... and it is not finance's whole-portfolio figure
    finance = login(cast.finance).get("/api/v1/forecasts/portfolio/").json()
    assert D(finance["forecast"][0]["amount"]) > on_api[this_month]


def test_a_dashboard_narrowed_to_a_team_forecasts_that_team_with_its_use_cases_assumptions(cast, login):
    # Given the history, with an assumption on Marketing's use case
    this_month = _generated_history(cast, 9)
    client = login(cast.finance)

    # When finance narrows the dashboard to Marketing
    trend = client.get(reverse("dashboard:index"), {"team": cast.team_b.slug}).context["figures"]["trend"]
    on_dashboard = {r["month"]: r["forecast"] for r in trend.rows if r.get("forecast") is not None}

    # Then it shows Marketing's use case's forecast, its assumption applied, as the use case's page does
    uc = client.get(reverse("analytics:forecast_use_case", args=[cast.use_case_b.key])).context["view"]
    assert uc.forecast.adjusted
    assert on_dashboard[this_month] == uc.forecast.points[0].value
