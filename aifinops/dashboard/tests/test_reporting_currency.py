"""The dashboard and the executive narrative in the reporting currency (issue 19.1): the AI spend,
the trend and the top use cases count every currency at the rate in force on each day, checked
against an independent sum of row x rate over the factory rows; a day without a rate is named and
never counted at 1; the page keeps its query count as days, currencies and rates grow. Vendor
overlap and unit economics are showback's figures, equal on both pages."""

import csv
import datetime
import io
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
from portfolio.models import ValueSignal
from showback.models import DailySpend, ExchangeRate
from showback.rollups import monthly_spend_rebuild
from showback.selectors import spend_breakdown

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


# One number per question: the dashboard's vendor overlap and unit economics are showback's.


def _overlap_world(world):
    """Support's small models: OpenAI in USD (the world's), Anthropic in USD, EUR at two rates
    and GBP on a day with no rate."""
    last, support = world["last"], world["router"].team
    anthropic, haiku = world["providers"]["anthropic"], world["models"]["haiku"]
    for amount, currency, day in (("10", "EUR", 1), ("10", "EUR", 15), ("8", "GBP", 2)):
        dashboard_world.cost(
            amount,
            date=last + datetime.timedelta(days=day),
            currency=currency,
            team=support,
            provider=anthropic,
            model=haiku,
            model_tier="small",
        )
    monthly_spend_rebuild(start=last, end=last + datetime.timedelta(days=15))


def _expected_overlap(start, end):
    """{(team name, tier): (USD of what had a rate, {currency: amount without one})} over the
    team-and-tier pairs with more than one provider, by hand from the rows."""
    groups = defaultdict(list)
    for row in DailySpend.objects.filter(
        is_ai=True, date__gte=start, date__lte=end, team__isnull=False, provider__isnull=False
    ).exclude(model_tier=""):
        groups[row.team.name, row.model_tier].append(row)
    out = {}
    for (team, tier), rows in groups.items():
        if len({r.provider_id for r in rows}) < 2:
            continue
        total, missing = Decimal(0), defaultdict(Decimal)
        for r in rows:
            factor = _in_force(r.currency, r.date)
            if factor is None:
                missing[r.currency] += r.effective_cost
            else:
                total += r.effective_cost * factor
        out[team, tier.title()] = (total, dict(missing))
    return out


def test_the_dashboards_vendor_overlap_is_showbacks_figure_at_each_days_rate(cast, world):
    _overlap_world(world)
    f = default_filters()

    board = figures.overlap_figure(DashboardData(user=cast.finance, filters=f))
    showback = spend_breakdown(user=cast.finance, dimension="team", start=f.start, end=f.end)["overlap"]

    expected = _expected_overlap(f.start, f.end)
    assert expected == {("Support", "Small"): (Decimal("198.00"), {"GBP": Decimal("8")})}  # 150+25+11+12
    assert {
        (o["team"], o["tier"]): (o["total"].amount, {m.currency: m.amount for m in o["total"].missing})
        for o in showback
    } == expected
    assert {(r["team"], r["tier"]): r["team_tier_total"] for r in board.rows} == {
        k: total.quantize(CENT) for k, (total, _) in expected.items()
    }
    rows = {r["provider"]: r for r in board.rows}
    assert (rows["OpenAI"]["spend"], rows["OpenAI"]["currency"]) == (Decimal("150.00"), "USD")
    # Anthropic's GBP day has no rate: its spend is not guessed, and what is left out is named
    assert rows["Anthropic"]["spend"] is None
    assert rows["Anthropic"]["not_converted"] == "8.00 GBP"
    assert rows["Anthropic"]["as_billed"] == "25.00 USD + 20.00 EUR + 8.00 GBP"
    assert any(n.startswith("Not in this chart: Support · Small: no GBP→USD rate for") for n in board.notes)


def _signals_in_other_currencies(world):
    """The router's value is recorded in EUR (1 EUR = 1.10 USD on the first of last month), the
    writer's in GBP (no rate before the 11th): 30 outcomes at 4."""
    ValueSignal.objects.filter(use_case=world["router"]).update(currency="EUR")
    ValueSignal.objects.create(
        use_case=world["writer"],
        month=world["last"],
        outcomes=30,
        value_per_outcome=Decimal("4"),
        currency="GBP",
    )


def test_unit_economics_are_showbacks_and_convert_value_recorded_in_another_currency(cast, world):
    _signals_in_other_currencies(world)
    f = default_filters()
    by_use_case, _total, _missing = _expected(f.start, f.end)

    board = {
        r["key"]: r for r in figures.unit_economics_figure(DashboardData(user=cast.finance, filters=f)).rows
    }
    showback = {
        o["use_case"].key: o
        for o in spend_breakdown(user=cast.finance, dimension="team", start=f.start, end=f.end)["outcomes"]
    }

    # The AI spend of each use case, row x its day's rate, is the same on both pages
    drafter, router, writer = board["drafter"], board["router"], board["writer"]
    assert drafter["model_cost"] == showback["drafter"]["amount"] == by_use_case[world["drafter"].pk]
    assert drafter["model_cost"] == Decimal("836")  # 800 USD + 30 EUR at 1.20
    assert drafter["ai_cost_per_outcome"] == showback["drafter"]["cost_per_outcome"] == Decimal("836") / 400
    assert drafter["cost_per_outcome"] == (Decimal("836") + 200) / 400  # and the other recorded costs
    # The router's GBP day has no rate: no cost per outcome is guessed, on either page
    assert router["ai_cost_per_outcome"] is None and showback["router"]["cost_per_outcome"] is None
    assert showback["router"]["missing"] == {"GBP": Decimal("20")}
    # Its EUR value counts at the rate in force on the first of the month, never at 1
    assert router["value"] == Decimal("55.00") and router["value_per_outcome"] == Decimal("1.1")
    assert router["viable"] is None
    assert router["not_converted"] == "20.00 GBP"
    # The writer's GBP value has no rate: named, not added
    assert writer["value"] == 0 and writer["value_per_outcome"] is None and writer["viable"] is None
    assert writer["not_converted"] == "120.00 GBP"
    assert writer["model_cost"] == by_use_case[world["writer"].pk] == Decimal("427")  # 300 + 70 EUR + 40 GBP


def test_the_dashboard_downloads_and_the_showback_page_show_the_same_overlap_and_cost_per_outcome(
    cast, login, world
):
    _overlap_world(world)
    f = default_filters()
    client = login(cast.finance)

    showback = client.get(
        reverse("showback:index"), {"start": f.start.isoformat(), "end": f.end.isoformat()}
    ).content.decode()

    def board(chart):
        response = client.get(reverse("dashboard:chart_csv"), {"chart": chart})
        header, *rows = csv.reader(io.StringIO(b"".join(response.streaming_content).decode()))
        return [dict(zip(header, row, strict=True)) for row in rows]

    (pair,) = {r["team and tier total"] for r in board("overlap")}
    assert pair == "198"
    assert "= $198.00" in showback
    drafter = next(r for r in board("unit_economics") if r["key"] == "drafter")
    assert drafter["AI spend per outcome"] == "2.09"  # 836 USD for 400 outcomes
    assert '<td class="text-end">$2.09</td>' in showback


def test_the_narrative_weighs_value_only_where_every_amount_had_a_rate_and_names_the_rest(cast, world):
    _signals_in_other_currencies(world)

    story = narrative_get(user=cast.finance)
    value = next(s for s in story.sections if s.key == "value").sentences[0].text

    # The drafter: 836 of AI spend (30 EUR at 1.20) and 200 of other costs, for 400 x 5 of value
    assert value.startswith(
        f"1 use case reported their outcomes for {world['last']:%b %Y}: outcomes worth $2,000 for $1,036 "
    )
    assert (
        "Not weighed for want of an exchange rate: Ad writer (120.00 GBP) and Ticket router (20.00 GBP)."
        in value
    )
