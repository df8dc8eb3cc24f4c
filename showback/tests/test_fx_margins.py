"""Issue 19: margins in the reporting currency. Each customer's revenue, cost to serve and margin
in its own currency and in the reporting currency, the page total, the CSV's appended columns and
the API, against an independent sum of row x rate in force on the row's day; a missing rate named
and the total marked incomplete, never counted at 1. On the real PostgreSQL."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from aifinops.core import periods
from showback.margins import selectors as margins
from showback.models import CustomerDailySpend, CustomerRevenue, ExchangeRate

pytestmark = pytest.mark.django_db

TODAY = periods.today()
LAST_MONTH = periods.months_back(TODAY, 1)
TWO_AGO = periods.months_back(TODAY, 2)
PAGE = reverse("showback:margins") + "?months=3"
CSV = reverse("showback:margins_csv") + "?months=3"
API = "/api/v1/margins/"
CENT = Decimal("0.01")

# As recorded: EUR→USD changes on the first of last month; GBP only as USD→GBP (the inverse); no
# CHF rate at all.
RATES = [
    ("EUR", "USD", "1.0843", TWO_AGO),
    ("EUR", "USD", "1.0921", LAST_MONTH),
    ("USD", "GBP", "0.7913", TWO_AGO),
]
REVENUE = [  # (customer, currency, amount, month)
    ("acme", "EUR", "1000.37", TWO_AGO),
    ("acme", "EUR", "1033.33", LAST_MONTH),
    ("globex", "USD", "500.01", LAST_MONTH),
]
COST = [  # (customer, currency, amount, day)
    ("acme", "USD", "100.17", TWO_AGO + datetime.timedelta(days=2)),
    ("acme", "EUR", "50.33", TWO_AGO + datetime.timedelta(days=5)),
    ("acme", "EUR", "50.33", LAST_MONTH + datetime.timedelta(days=3)),
    ("acme", "GBP", "40.07", LAST_MONTH + datetime.timedelta(days=4)),
    ("globex", "GBP", "80.11", LAST_MONTH + datetime.timedelta(days=1)),
    ("initech", "CHF", "30.00", LAST_MONTH + datetime.timedelta(days=2)),  # no CHF rate
]


def in_force(currency, day):
    """The recorded rate into USD on `day`, worked out here without showback.fx."""
    if currency == "USD":
        return Decimal(1)
    found = None
    for base, quote, value, valid_from in RATES:
        if valid_from > day or (found and found[0] > valid_from):
            continue
        if (base, quote) == (currency, "USD"):
            found = (valid_from, Decimal(value))
        elif (base, quote) == ("USD", currency):
            found = (valid_from, 1 / Decimal(value))
    return found[1] if found else None


def expected(rows, customer=None):
    """(converted sum, {currency: amount without a rate}) of rows, each at its day's rate."""
    total, missing = Decimal(0), {}
    for who, currency, amount, day in rows:
        if customer and who != customer:
            continue
        factor = in_force(currency, day)
        if factor is None:
            missing[currency] = missing.get(currency, Decimal(0)) + Decimal(amount)
        else:
            total += Decimal(amount) * factor
    return total, missing


@pytest.fixture
def book():
    for base, quote, value, valid_from in RATES:
        ExchangeRate.objects.create(
            base=base, quote=quote, rate=Decimal(value), valid_from=valid_from, source="ECB"
        )
    for customer, currency, amount, month in REVENUE:
        CustomerRevenue.objects.create(
            month=month, customer=customer, currency=currency, revenue=Decimal(amount), segment="Ent"
        )
    for customer, currency, amount, day in COST:
        CustomerDailySpend.objects.create(
            date=day, customer=customer, currency=currency, effective_cost=Decimal(amount), feature="chat"
        )


def cents(value):
    return Decimal(value).quantize(CENT)


def test_each_customer_and_the_whole_are_in_the_reporting_currency_at_each_days_rate(book):
    # When the margins are read
    m = margins.margins_get(months=3)

    # Then each customer's revenue and cost in USD are its rows at their day's rate, to the cent
    by = {c.customer: c for c in m.customers}
    for name in ("acme", "globex", "initech"):
        revenue, _ = expected(REVENUE, name)
        cost, cost_missing = expected(COST, name)
        got = by[name].reporting
        assert got.currency == "USD"
        assert cents(got.revenue.amount) == cents(revenue)
        assert cents(got.cost.amount) == cents(cost)
        assert {mr.currency: mr.amount for mr in got.cost.missing} == cost_missing
    # the original figures stay in the customer's currency
    assert by["acme"].currency == "EUR" and by["acme"].revenue == Decimal("2033.70")
    acme_revenue, _ = expected(REVENUE, "acme")
    acme_cost, _ = expected(COST, "acme")
    assert cents(by["acme"].reporting.margin) == cents(acme_revenue - acme_cost)
    # a customer with a day without a rate has no margin in USD, never one counted at 1
    assert by["initech"].reporting.complete is False
    assert by["initech"].reporting.margin is None
    # and the whole is the sum of every row at its day's rate, the CHF named, no margin guessed
    revenue, _ = expected(REVENUE)
    cost, _ = expected(COST)
    assert cents(m.reporting.revenue.amount) == cents(revenue)
    assert cents(m.reporting.cost.amount) == cents(cost)
    assert cents(sum(c.reporting.cost.amount for c in m.customers)) == cents(cost)
    assert [(mr.currency, mr.amount, mr.first, mr.days) for mr in m.reporting.missing] == [
        ("CHF", Decimal("30.00"), LAST_MONTH + datetime.timedelta(days=2), 1)
    ]
    assert m.reporting.margin is None
    # both EUR rates were used, the latest named
    (eur,) = [r for r in m.reporting.cost.rates if r.currency == "EUR"]
    assert (eur.rate, eur.valid_from) == (Decimal("1.0921"), LAST_MONTH)
    assert m.reporting.cost.rates_counted["EUR"] == 2


def test_with_every_rate_the_whole_margin_is_given(book):
    # Given a CHF rate from before the spend
    ExchangeRate.objects.create(base="CHF", quote="USD", rate=Decimal("1.1317"), valid_from=TWO_AGO)

    m = margins.margins_get(months=3)

    revenue, _ = expected(REVENUE)
    cost, _ = expected(COST)
    cost += Decimal("30.00") * Decimal("1.1317")
    assert m.reporting.complete
    assert cents(m.reporting.margin) == cents(revenue - cost)


def test_the_page_gives_the_total_in_usd_names_the_rates_and_the_missing_rate(cast, login, book):
    html = login(cast.finance).get(PAGE).content.decode()

    assert "Revenue in USD" in html and "AI cost to serve in USD" in html
    assert 'data-testid="margins-missing-rates"' in html
    day = (LAST_MONTH + datetime.timedelta(days=2)).isoformat()
    assert f"no CHF→USD rate for {day} (1 day)" in html
    assert "Incomplete" in html  # the page total's margin
    assert "1 EUR = 1.0921 USD (ECB, " in html
    assert "1 GBP = 1.26374320 USD (ECB, " in html


def test_the_csv_keeps_its_columns_and_appends_the_reporting_ones(cast, login, book):
    response = login(cast.finance).get(CSV)
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    header = next(csv.reader(io.StringIO(text)))
    rows = {r["customer"]: r for r in csv.DictReader(io.StringIO(text))}

    # The columns existing readers know stay first and in their order
    assert header[:13] == [
        "customer",
        "segment",
        "plan",
        "currency",
        "revenue",
        "ai_cost_to_serve",
        "margin_after_ai_cost",
        "ai_cost_share_of_revenue",
        "revenue_growth",
        "ai_cost_growth",
        "eroding",
        "ai_cost_converted_as_billed",
        "ai_cost_without_rate_not_counted",
    ]
    assert header[13:] == [
        "reporting_currency",
        "reporting_revenue",
        "reporting_ai_cost_to_serve",
        "reporting_margin_after_ai_cost",
        "reporting_rates_used",
        "reporting_missing_rates",
    ]
    acme = rows["acme"]
    assert acme["currency"] == "EUR" and Decimal(acme["revenue"]) == Decimal("2033.7")
    revenue, _ = expected(REVENUE, "acme")
    cost, _ = expected(COST, "acme")
    assert acme["reporting_currency"] == "USD"
    assert cents(acme["reporting_revenue"]) == cents(revenue)
    assert cents(acme["reporting_ai_cost_to_serve"]) == cents(cost)
    assert cents(acme["reporting_margin_after_ai_cost"]) == cents(revenue - cost)
    assert (
        f"cost 1 EUR = 1.0921 USD (ECB, {LAST_MONTH.isoformat()}) and 1 earlier rate"
        in acme["reporting_rates_used"]
    )
    initech = rows["initech"]
    # A day without a rate: the cells are empty and the rate is named, never 1
    assert initech["reporting_ai_cost_to_serve"] == initech["reporting_margin_after_ai_cost"] == ""
    assert "30 CHF: no CHF→USD rate for" in initech["reporting_missing_rates"]


def test_the_api_gives_the_original_fields_and_the_reporting_ones(cast, login, book):
    body = login(cast.finance).get(API, {"months": 3}).json()

    by = {c["customer"]: c for c in body["results"]}
    acme = by["acme"]
    assert (acme["currency"], Decimal(acme["revenue"])) == ("EUR", Decimal("2033.70"))
    revenue, _ = expected(REVENUE, "acme")
    cost, _ = expected(COST, "acme")
    assert acme["reporting"]["currency"] == "USD"
    assert cents(acme["reporting"]["revenue"]["amount"]) == cents(revenue)
    assert cents(acme["reporting"]["cost"]["amount"]) == cents(cost)
    assert cents(acme["reporting"]["margin"]) == cents(revenue - cost)
    eur = next(r for r in acme["reporting"]["cost"]["rates_used"] if r["currency"] == "EUR")
    assert (eur["rate"], eur["valid_from"], eur["distinct_rates"]) == ("1.0921", LAST_MONTH.isoformat(), 2)
    initech = by["initech"]
    assert initech["reporting"]["complete"] is False and initech["reporting"]["margin"] is None
    ((currency, amount, first, last, days),) = [
        (m["currency"], Decimal(m["amount"]), m["first_day"], m["last_day"], m["days"])
        for m in initech["reporting"]["cost"]["missing"]
    ]
    day = (LAST_MONTH + datetime.timedelta(days=2)).isoformat()
    assert (currency, amount, first, last, days) == ("CHF", Decimal("30"), day, day, 1)
    total_revenue, _ = expected(REVENUE)
    total_cost, _ = expected(COST)
    assert cents(body["total"]["revenue"]["amount"]) == cents(total_revenue)
    assert cents(body["total"]["cost"]["amount"]) == cents(total_cost)
    assert body["total"]["complete"] is False and body["total"]["margin"] is None
    assert len(body["months"]) == 3


def test_the_api_gives_the_figures_in_a_currency_the_caller_names(cast, login, book):
    body = login(cast.finance).get(API, {"months": 3, "currency": "eur"}).json()

    acme = next(c for c in body["results"] if c["customer"] == "acme")
    assert acme["reporting"]["currency"] == "EUR"
    assert Decimal(acme["reporting"]["revenue"]["amount"]) == Decimal("2033.70")  # no rate applied
    assert body["total"]["currency"] == "EUR"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"months": "abc"}, "months"),
        ({"months": "4"}, "months"),
        ({"months": "9" * 40}, "months"),
        ({"months": "6\x00"}, "months"),
        ({"currency": "XYZ"}, "currency"),
        ({"currency": "EURO"}, "currency"),
        ({"currency": "US\x00"}, "currency"),
        ({"currency": "9" * 40}, "currency"),
    ],
)
def test_a_bad_query_is_a_400_naming_the_field(cast, login, params, field):
    response = login(cast.finance).get(API, params)

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


@pytest.mark.parametrize(("who", "status"), [("requester_a", 403), ("council", 403), ("finance", 200)])
def test_only_finance_and_admins_read_the_margins_api(cast, login, who, status):
    assert login(getattr(cast, who)).get(API).status_code == status


def test_anonymous_gets_401_from_the_margins_api(client):
    assert client.get(API).status_code == 401


def test_the_page_csv_and_api_keep_their_query_count_as_customers_and_days_grow(
    cast, login, book, django_assert_max_num_queries
):
    client = login(cast.finance)
    urls = [PAGE, CSV, API + "?months=3"]

    def read(url):
        response = client.get(url)
        if response.streaming:
            b"".join(response.streaming_content)
        return response

    counts = {}
    for url in urls:
        read(url)
        with django_assert_max_num_queries(40) as few:
            read(url)
        counts[url] = len(few.captured_queries)
    # More customers, days and rates, in the same currencies
    for n in range(1, 21):
        day = LAST_MONTH + datetime.timedelta(days=n)
        ExchangeRate.objects.create(
            base="EUR", quote="USD", rate=Decimal("1.09"), valid_from=day, source="ECB"
        )
        CustomerRevenue.objects.create(month=LAST_MONTH, customer=f"c{n}", currency="EUR", revenue=Decimal(7))
        for currency in ("USD", "EUR", "GBP", "CHF"):
            CustomerDailySpend.objects.create(
                date=day, customer=f"c{n}", currency=currency, effective_cost=Decimal("2.5"), feature="f"
            )
    for url in urls:
        with django_assert_max_num_queries(counts[url]):
            assert read(url).status_code == 200
