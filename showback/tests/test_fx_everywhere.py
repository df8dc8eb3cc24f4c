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
