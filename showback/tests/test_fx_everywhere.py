"""Issue 19.1, the rest: the daily-spend API rows in the reporting currency. On the real
PostgreSQL; amounts checked against an independent sum of row x rate in force on the row's day."""

import datetime
from decimal import Decimal

import pytest

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
