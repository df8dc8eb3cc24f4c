"""Issue 19.1, the rest: the daily-spend API rows in the reporting currency. On the real
PostgreSQL; amounts checked against an independent sum of row x rate in force on the row's day."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from aifinops.core import periods
from showback.models import ExchangeRate

from .factories import DailySpendFactory

pytestmark = pytest.mark.django_db

TODAY = periods.today()
DAY = periods.month_start(TODAY) - datetime.timedelta(days=20)
URL = "/api/v1/daily-spend/"


def rate(base, quote, value, valid_from, source="ECB"):
    return ExchangeRate.objects.create(
        base=base, quote=quote, rate=Decimal(value), valid_from=valid_from, source=source
    )


def spend(cast, currency, amount, on):
    return DailySpendFactory(
        currency=currency, effective_cost=Decimal(amount), date=on, team=cast.team_a, use_case=cast.use_case_a
    )


def test_daily_spend_rows_give_their_cost_in_the_reporting_currency_at_their_days_rate(cast, login):
    # Given EUR with a rate changing on the second day, GBP with a rate only from the third day
    rate("EUR", "USD", "1.10", DAY)
    rate("EUR", "USD", "1.20", DAY + datetime.timedelta(days=1))
    rate("USD", "GBP", "0.80", DAY + datetime.timedelta(days=2))  # only the inverse is recorded
    rows = [
        spend(cast, "USD", "10", DAY),
        spend(cast, "EUR", "10", DAY),
        spend(cast, "EUR", "10", DAY + datetime.timedelta(days=1)),
        spend(cast, "GBP", "8", DAY + datetime.timedelta(days=1)),  # no rate that day
        spend(cast, "GBP", "8", DAY + datetime.timedelta(days=2)),
    ]

    # When finance lists the daily spend
    body = login(cast.finance).get(URL, {"page_size": 500}).json()

    # Then each row carries its own amount and the reporting amount at its day's rate
    in_force = {
        ("USD", DAY): Decimal(1),
        ("EUR", DAY): Decimal("1.10"),
        ("EUR", DAY + datetime.timedelta(days=1)): Decimal("1.20"),
        ("GBP", DAY + datetime.timedelta(days=2)): Decimal(1) / Decimal("0.80"),
    }
    by_day = {(r["currency"], r["date"]): r for r in body["results"]}
    expected_total = Decimal(0)
    for row in rows:
        item = by_day[(row.currency, row.date.isoformat())]
        assert Decimal(item["effective_cost"]) == row.effective_cost
        factor = in_force.get((row.currency, row.date))
        if factor is None:
            assert item["reporting_effective_cost"] is None
        else:
            assert Decimal(item["reporting_effective_cost"]) == (row.effective_cost * factor).quantize(
                Decimal("0.000001")
            )
            expected_total += row.effective_cost * factor
    reporting = body["reporting"]
    assert reporting["currency"] == "USD"
    assert Decimal(reporting["amount"]) == expected_total == Decimal("43")
    # And the GBP day without a rate is named, never counted at 1
    assert reporting["complete"] is False
    assert [(m["currency"], Decimal(m["amount"]), m["first_day"]) for m in reporting["missing"]] == [
        ("GBP", Decimal("8"), (DAY + datetime.timedelta(days=1)).isoformat())
    ]


def test_daily_spend_reporting_block_covers_every_page_and_the_filter(cast, login):
    rate("EUR", "USD", "2", DAY)
    for n in range(3):
        spend(cast, "EUR", "1", DAY + datetime.timedelta(days=n))
    client = login(cast.finance)

    first = client.get(URL, {"page_size": 1}).json()
    narrowed = client.get(URL, {"date_from": (DAY + datetime.timedelta(days=2)).isoformat()}).json()

    assert len(first["results"]) == 1
    assert Decimal(first["reporting"]["amount"]) == Decimal("6")
    assert Decimal(narrowed["reporting"]["amount"]) == Decimal("2")


def test_daily_spend_api_keeps_its_query_count_as_rows_and_rates_grow(
    cast, login, django_assert_max_num_queries
):
    client = login(cast.finance)
    rate("EUR", "USD", "1.1", DAY)
    spend(cast, "EUR", "1", DAY)
    client.get(URL)
    with django_assert_max_num_queries(20) as few:
        assert client.get(URL).status_code == 200
    for n in range(1, 15):
        rate("EUR", "USD", "1.1", DAY + datetime.timedelta(days=n))
        rate("GBP", "USD", "1.3", DAY + datetime.timedelta(days=n))
        spend(cast, "GBP", "1", DAY + datetime.timedelta(days=n))
        spend(cast, "EUR", "1", DAY + datetime.timedelta(days=n))
    with django_assert_max_num_queries(len(few.captured_queries)):
        body = client.get(URL).json()
    assert body["reporting"]["complete"] is True
    assert Decimal(body["reporting"]["amount"]) == Decimal("1.1") * 15 + Decimal("1.3") * 14


# Forecasts: the history in the reporting currency, each day at its rate.

THIS_MONTH = periods.month_start(TODAY)
LAST_MONTH = periods.add_months(THIS_MONTH, -1)
TWO_AGO = periods.add_months(THIS_MONTH, -2)


def _three_currency_history(cast):
    """Two complete months in USD, EUR (a rate that changes mid-history) and GBP (a rate only for
    last month); returns {month: expected USD} computed row by row."""
    rate("EUR", "USD", "1.10", TWO_AGO)
    rate("EUR", "USD", "1.20", LAST_MONTH + datetime.timedelta(days=3))
    rate("GBP", "USD", "1.30", LAST_MONTH)
    in_force = {
        "USD": lambda d: Decimal(1),
        "EUR": lambda d: Decimal("1.20") if d >= LAST_MONTH + datetime.timedelta(days=3) else Decimal("1.10"),
        "GBP": lambda d: Decimal("1.30") if d >= LAST_MONTH else None,
    }
    expected = {TWO_AGO: Decimal(0), LAST_MONTH: Decimal(0)}
    for month in (TWO_AGO, LAST_MONTH):
        for offset in (0, 5, 10):
            day = month + datetime.timedelta(days=offset)
            for currency, amount in (("USD", "100"), ("EUR", "50"), ("GBP", "20")):
                spend(cast, currency, amount, day)
                factor = in_force[currency](day)
                if factor is not None:
                    expected[month] += Decimal(amount) * factor
    return expected


def test_the_forecast_history_is_in_the_reporting_currency_at_each_days_rate(cast, login):
    from showback.analytics import selectors as analytics

    expected = _three_currency_history(cast)

    view = analytics.forecast_get(user=cast.finance, months=6)

    assert view.history.currency == "USD"
    assert dict(view.history.actual_months) == expected
    # GBP two months ago had no rate: named, left out, never at 1
    assert [(m.currency, m.amount, m.first, m.last) for m in view.history.reporting.missing] == [
        ("GBP", Decimal("60"), TWO_AGO, TWO_AGO + datetime.timedelta(days=10))
    ]
    assert view.history.other_currencies == ["GBP"]


def test_the_forecast_page_and_api_name_the_rates_and_the_missing_rate(cast, login):
    expected = _three_currency_history(cast)
    client = login(cast.finance)

    html = client.get(reverse("analytics:forecast_portfolio")).content.decode()
    body = client.get("/api/v1/forecasts/portfolio/").json()

    assert "effective cost in USD" in html
    assert "1 EUR = 1.20 USD (ECB, " in html and "1 GBP = 1.30 USD (ECB, " in html
    assert "Missing exchange rates" in html and "Not in this chart: £60.00" in html
    assert {h["month"]: Decimal(h["amount"]) for h in body["history"]} == {
        m.isoformat()[:7]: v for m, v in expected.items()
    }
    assert body["reporting"]["currency"] == "USD" and body["reporting"]["complete"] is False
    assert body["reporting"]["missing"][0]["currency"] == "GBP"


def test_the_forecast_page_keeps_its_query_count_as_days_and_currencies_grow(
    cast, login, django_assert_max_num_queries
):
    client = login(cast.finance)
    rate("EUR", "USD", "1.1", TWO_AGO)
    spend(cast, "EUR", "1", TWO_AGO)
    client.get(reverse("analytics:forecast_portfolio"))
    with django_assert_max_num_queries(40) as few:
        client.get(reverse("analytics:forecast_portfolio"))
    for n in range(1, 40):
        day = TWO_AGO + datetime.timedelta(days=n)
        rate("EUR", "USD", "1.1", day)
        rate("GBP", "USD", "1.3", day)
        spend(cast, "GBP", "1", day)
        spend(cast, "USD", "1", day)
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = client.get(reverse("analytics:forecast_portfolio")).content.decode()
    assert "Missing exchange rates" not in html


# The showback page: trend, vendor overlap and cost per outcome in the reporting currency.

LAST_END = periods.month_end(LAST_MONTH)


def _showback_world(cast, *, gbp_rate_from):
    """Support pays two providers for small models in USD, EUR and GBP last month; the use case
    reported 10 outcomes. Returns the expected USD total, row x rate in force, and the GBP left
    out."""
    from portfolio.models import ValueSignal
    from portfolio.tests.factories import ProviderFactory

    one, two = ProviderFactory(name="OpenAI", slug="openai"), ProviderFactory(name="Mistral", slug="mistral")
    rate("EUR", "USD", "1.10", LAST_MONTH)
    rate("GBP", "USD", "1.25", gbp_rate_from)
    rows = [
        ("USD", "100", LAST_MONTH + datetime.timedelta(days=1), one),
        ("EUR", "50", LAST_MONTH + datetime.timedelta(days=1), two),
        ("GBP", "40", LAST_MONTH, one),
        ("GBP", "40", LAST_MONTH + datetime.timedelta(days=2), one),
    ]
    factors = {"USD": Decimal(1), "EUR": Decimal("1.10"), "GBP": Decimal("1.25")}
    expected, left_out = Decimal(0), Decimal(0)
    for currency, amount, day, provider in rows:
        DailySpendFactory(
            currency=currency,
            effective_cost=Decimal(amount),
            date=day,
            team=cast.team_a,
            use_case=cast.use_case_a,
            provider=provider,
            model_tier="small",
        )
        if currency == "GBP" and day < gbp_rate_from:
            left_out += Decimal(amount)
        else:
            expected += Decimal(amount) * factors[currency]
    ValueSignal.objects.create(
        use_case=cast.use_case_a, month=LAST_MONTH, outcomes=10, value_per_outcome=Decimal("9")
    )
    return expected, left_out


def test_the_showback_trend_overlap_and_cost_per_outcome_are_in_the_reporting_currency(cast):
    from showback import selectors

    expected, left_out = _showback_world(cast, gbp_rate_from=LAST_MONTH + datetime.timedelta(days=1))

    b = selectors.spend_breakdown(user=cast.finance, dimension="team", start=LAST_MONTH, end=LAST_END)

    assert expected == Decimal("205") and left_out == Decimal("40")
    trend = b["trend"]
    assert trend["currency"] == "USD"
    assert dict(trend["series"])["Support"][0] == expected
    assert [(m.currency, m.amount) for m in trend["conversion"].missing] == [("GBP", left_out)]
    (overlap,) = b["overlap"]
    assert overlap["total"].amount == expected and overlap["total"].missing[0].amount == left_out
    assert sorted(overlap["providers"]) == [
        ("Mistral", "EUR", Decimal("50")),
        ("OpenAI", "GBP", Decimal("80")),
        ("OpenAI", "USD", Decimal("100")),
    ]
    (outcome,) = b["outcomes"]
    assert (outcome["currency"], outcome["amount"]) == ("USD", expected)
    assert outcome["spend"] == {"USD": Decimal("100"), "GBP": Decimal("80"), "EUR": Decimal("50")}
    # Some of its spend had no rate: no cost per outcome is guessed
    assert outcome["missing"] == {"GBP": left_out}
    assert outcome["cost_per_outcome"] is None


def test_with_every_rate_the_cost_per_outcome_is_in_the_reporting_currency(cast):
    from showback import selectors

    expected, left_out = _showback_world(cast, gbp_rate_from=LAST_MONTH)

    (outcome,) = selectors.spend_breakdown(
        user=cast.finance, dimension="team", start=LAST_MONTH, end=LAST_END
    )["outcomes"]

    assert left_out == 0 and expected == Decimal("255")
    assert outcome["cost_per_outcome"] == Decimal("25.5")


def test_the_showback_page_names_the_rates_and_the_missing_rate_under_its_charts(cast, login):
    _showback_world(cast, gbp_rate_from=LAST_MONTH + datetime.timedelta(days=1))

    html = (
        login(cast.finance)
        .get(reverse("showback:index"), {"start": LAST_MONTH.isoformat(), "end": LAST_END.isoformat()})
        .content.decode()
    )

    assert "In USD: other currencies at each day's rate (latest: 1 EUR = 1.10 USD" in html
    assert "Not in this chart: £40.00, no GBP→USD rate for" in html
    assert "= $205.00" in html  # vendor overlap's total
    assert "£40.00 not counted: no GBP→USD rate" in html  # cost per outcome


def test_the_showback_page_keeps_its_query_count_as_currencies_and_days_grow(
    cast, login, django_assert_max_num_queries
):
    client = login(cast.finance)
    params = {"start": LAST_MONTH.isoformat(), "end": LAST_END.isoformat()}
    _showback_world(cast, gbp_rate_from=LAST_MONTH)
    client.get(reverse("showback:index"), params)
    with django_assert_max_num_queries(40) as few:
        client.get(reverse("showback:index"), params)
    for n in range(3, 25):
        day = LAST_MONTH + datetime.timedelta(days=n)
        rate("CHF", "USD", "1.05", day)
        for currency in ("CHF", "EUR", "GBP"):
            spend(cast, currency, "3", day)
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = client.get(reverse("showback:index"), params).content.decode()
    assert "1 CHF = 1.05 USD" in html


# Margins: cost to serve in the customer's revenue currency, each day at its rate.


def _customer_cost(customer, currency, amount, day):
    from showback.models import CustomerDailySpend

    CustomerDailySpend.objects.create(
        date=day, customer=customer, effective_cost=Decimal(amount), currency=currency, feature="chat"
    )


def test_margins_count_cost_in_other_currencies_at_each_days_rate_and_name_the_missing(cast, login):
    from showback.margins import selectors as margins
    from showback.models import CustomerRevenue

    # Given acme with USD revenue and cost in USD, EUR (a rate) and GBP (a rate only from the 5th)
    CustomerRevenue.objects.create(month=LAST_MONTH, customer="acme", segment="Ent", revenue=Decimal("1000"))
    rate("EUR", "USD", "1.10", TWO_AGO)
    rate("GBP", "USD", "1.25", LAST_MONTH + datetime.timedelta(days=4))
    rows = [
        ("USD", "100", LAST_MONTH + datetime.timedelta(days=1)),
        ("EUR", "50", LAST_MONTH + datetime.timedelta(days=2)),
        ("GBP", "40", LAST_MONTH + datetime.timedelta(days=3)),  # before its rate
        ("GBP", "40", LAST_MONTH + datetime.timedelta(days=6)),
    ]
    for currency, amount, day in rows:
        _customer_cost("acme", currency, amount, day)
    factors = {"USD": Decimal(1), "EUR": Decimal("1.10"), "GBP": Decimal("1.25")}
    expected = sum(
        Decimal(a) * factors[c]
        for c, a, d in rows
        if not (c == "GBP" and d < LAST_MONTH + datetime.timedelta(days=4))
    )

    # When finance reads the margins
    m = margins.margins_get(months=3)
    html = login(cast.finance).get(reverse("showback:margins") + "?months=3").content.decode()

    # Then the cost counts every currency with a rate, and the GBP day without one stays apart
    (acme,) = m.customers
    assert acme.currency == "USD"
    assert acme.cost == expected == Decimal("205")
    assert acme.margin == Decimal("795")
    assert acme.converted_cost == {"EUR": Decimal("50"), "GBP": Decimal("40")}
    assert acme.other_currency_cost == {"GBP": Decimal("40")}
    assert "1 EUR = 1.10 USD" in html and "1 GBP = 1.25 USD" in html
    assert "Not counted: £40.00, no GBP→USD rate for" in html
    assert "£40.00 not counted: no GBP→USD rate" in html


def test_the_margins_page_keeps_its_query_count_as_customers_days_and_currencies_grow(
    cast, login, django_assert_max_num_queries
):
    from showback.models import CustomerRevenue

    client = login(cast.finance)
    url = reverse("showback:margins") + "?months=3"
    CustomerRevenue.objects.create(month=LAST_MONTH, customer="acme", revenue=Decimal("1000"))
    rate("EUR", "USD", "1.1", TWO_AGO)
    _customer_cost("acme", "EUR", "1", LAST_MONTH)
    client.get(url)
    with django_assert_max_num_queries(30) as few:
        client.get(url)
    for n in range(20):
        day = LAST_MONTH + datetime.timedelta(days=n)
        rate("GBP", "USD", "1.3", day)
        for customer in ("acme", "globex", f"c{n}"):
            _customer_cost(customer, "GBP", "2", day)
            _customer_cost(customer, "EUR", "2", day)
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = client.get(url).content.decode()
    assert "1 GBP = 1.30 USD" in html


def test_the_margins_csv_names_the_converted_cost_and_the_cost_without_a_rate(cast, login):
    import csv
    import io

    from showback.models import CustomerRevenue

    CustomerRevenue.objects.create(month=LAST_MONTH, customer="acme", revenue=Decimal("1000"))
    rate("EUR", "USD", "2", LAST_MONTH)
    _customer_cost("acme", "EUR", "10", LAST_MONTH)
    _customer_cost("acme", "GBP", "3", LAST_MONTH)

    response = login(cast.finance).get(reverse("showback:margins_csv") + "?months=3")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))

    assert rows[0]["ai_cost_to_serve"] == "20"
    assert rows[0]["ai_cost_converted_as_billed"] == "10 EUR"
    assert rows[0]["ai_cost_without_rate_not_counted"] == "3 GBP"


# Reconciliation: estimated and billed totals in the reporting currency.


def test_the_reconciliation_totals_are_in_the_reporting_currency_and_name_the_missing_rate(cast, login):
    from showback.chargeback.selectors import reconciliation_reporting

    rate("EUR", "USD", "1.10", TWO_AGO)
    rate("EUR", "USD", "1.20", LAST_MONTH + datetime.timedelta(days=5))
    rows = [  # (currency, amount, day, estimated?)
        ("USD", "100", LAST_MONTH + datetime.timedelta(days=1), True),
        ("EUR", "50", LAST_MONTH + datetime.timedelta(days=1), True),
        ("EUR", "50", LAST_MONTH + datetime.timedelta(days=6), False),
        ("USD", "90", LAST_MONTH + datetime.timedelta(days=6), False),
        ("GBP", "30", LAST_MONTH + datetime.timedelta(days=6), False),  # no GBP rate at all
    ]
    for currency, amount, day, estimated in rows:
        DailySpendFactory(
            currency=currency,
            effective_cost=Decimal(amount),
            billed_cost=Decimal(amount),
            date=day,
            is_estimated=estimated,
            team=cast.team_a,
            use_case=cast.use_case_a,
        )

    def in_force(currency, day):
        if currency == "USD":
            return Decimal(1)
        if currency == "EUR":
            return Decimal("1.20") if day >= LAST_MONTH + datetime.timedelta(days=5) else Decimal("1.10")
        return None

    expected = {True: Decimal(0), False: Decimal(0)}
    for currency, amount, day, estimated in rows:
        if in_force(currency, day) is not None:
            expected[estimated] += Decimal(amount) * in_force(currency, day)

    got = reconciliation_reporting(user=cast.finance, start_month=TWO_AGO, months=3)
    html = (
        login(cast.finance)
        .get(reverse("showback:reconciliation"), {"start": TWO_AGO.isoformat()[:7]})
        .content.decode()
    )

    assert got["estimated"].amount == expected[True] == Decimal("155")
    assert got["billed"].amount == expected[False] == Decimal("150")
    assert [(m.currency, m.amount) for m in got["billed"].missing] == [("GBP", Decimal("30"))]
    assert got["difference"] is None  # some billed spend had no rate: no difference is guessed
    assert "Total in USD" in html and "$155.00" in html and "$150.00" in html
    assert "Not in the billed total: £30.00, no GBP→USD rate for" in html
    assert "1 EUR = 1.20 USD" in html


def test_the_reconciliation_page_keeps_its_query_count_as_days_and_currencies_grow(
    cast, login, django_assert_max_num_queries
):
    client = login(cast.finance)
    params = {"start": TWO_AGO.isoformat()[:7]}
    rate("EUR", "USD", "1.1", TWO_AGO)
    spend(cast, "EUR", "1", LAST_MONTH)
    client.get(reverse("showback:reconciliation"), params)
    with django_assert_max_num_queries(30) as few:
        client.get(reverse("showback:reconciliation"), params)
    for n in range(1, 25):
        day = LAST_MONTH + datetime.timedelta(days=n)
        rate("GBP", "USD", "1.3", day)
        for currency in ("GBP", "EUR", "USD"):
            spend(cast, currency, "2", day)
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = client.get(reverse("showback:reconciliation"), params).content.decode()
    assert "1 GBP = 1.30 USD" in html


def test_a_use_cases_forecast_reads_its_history_in_the_reporting_currency(cast, login):
    expected = _three_currency_history(cast)

    body = login(cast.finance).get(f"/api/v1/forecasts/use-cases/{cast.use_case_a.key}/").json()
    html = (
        login(cast.finance)
        .get(reverse("analytics:forecast_use_case", args=[cast.use_case_a.key]))
        .content.decode()
    )

    assert body["currency"] == "USD"
    assert {h["month"]: Decimal(h["amount"]) for h in body["history"]} == {
        m.isoformat()[:7]: v for m, v in expected.items()
    }
    assert [m["currency"] for m in body["reporting"]["missing"]] == ["GBP"]
    assert "Not in this chart: £60.00" in html
