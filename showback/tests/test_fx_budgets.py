"""Issue 19: budgets in any currency. Spend in other currencies counts at each day's rate into the
budget's currency, against an independent row x rate in force; a day without a rate is named by
currency and days on the page, in the list and in the API, and the status says the figures are
incomplete, never counted at 1. On the real PostgreSQL."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from aifinops.core import periods
from showback.budgets.selectors import budget_statuses
from showback.models import Budget, BudgetScope, ExchangeRate

from .budget_factories import BudgetFactory
from .factories import DailySpendFactory

pytestmark = pytest.mark.django_db

TODAY = periods.today()
MONTH_START = periods.month_start(TODAY)
LAST_MONTH = periods.months_back(TODAY, 1)
API = "/api/v1/budgets/"
CENT = Decimal("0.01")


def rate(base, quote, value, valid_from):
    ExchangeRate.objects.create(
        base=base, quote=quote, rate=Decimal(value), valid_from=valid_from, source="ECB"
    )


def spend(cast, currency, amount, on, team=None):
    DailySpendFactory(
        currency=currency,
        effective_cost=Decimal(amount),
        date=on,
        team=team or cast.team_a,
        use_case=cast.use_case_a,
    )


def test_a_sek_budget_counts_usd_eur_and_gbp_spend_each_day_at_its_rate(cast):
    # Given a SEK team budget (not one of the five currencies the form once offered)
    budget = BudgetFactory(
        scope=BudgetScope.TEAM, team=cast.team_a, currency="SEK", amount=Decimal("5000"), owner=cast.finance
    )
    day = lambda n: LAST_MONTH + datetime.timedelta(days=n)  # noqa: E731
    rate("USD", "SEK", "10.4713", day(-20))
    rate("USD", "SEK", "10.8291", day(9))  # changes on the 10th
    rate("SEK", "EUR", "0.0873", day(-20))  # only the inverse is recorded
    rate("GBP", "SEK", "13.2177", day(5))  # none before the 6th
    rows = [
        ("SEK", "123.45", day(0), Decimal(1)),
        ("USD", "10.33", day(2), Decimal("10.4713")),
        ("USD", "10.33", day(12), Decimal("10.8291")),
        ("EUR", "7.77", day(3), 1 / Decimal("0.0873")),
        ("GBP", "5.55", day(2), None),  # before the first GBP rate
        ("GBP", "5.55", day(4), None),
        ("GBP", "6.66", day(14), Decimal("13.2177")),
    ]
    for currency, amount, on, _ in rows:
        spend(cast, currency, amount, on)
    spend(cast, "USD", "999", day(2), team=cast.team_b)  # another team's

    # When its status for last month is read
    status = budget_statuses([budget], today=periods.month_end(LAST_MONTH))[budget.pk]

    # Then spent is each row at its day's rate, to the cent, and the GBP days without one are named
    expected = sum(Decimal(a) * r for _, a, _, r in rows if r is not None)
    assert status.actual == expected.quantize(CENT)
    assert status.complete is False
    ((gbp),) = status.missing
    assert (gbp.currency, gbp.into, gbp.amount, gbp.first, gbp.last, gbp.days) == (
        "GBP",
        "SEK",
        Decimal("11.10"),
        day(2),
        day(4),
        2,
    )
    assert status.missing_rates == (f"GBP {LAST_MONTH:%b %Y}",)


def test_a_budget_with_every_rate_is_complete(cast):
    budget = BudgetFactory(scope=BudgetScope.TEAM, team=cast.team_a, currency="SEK", owner=cast.finance)
    rate("USD", "SEK", "10.5", LAST_MONTH)
    spend(cast, "USD", "10", LAST_MONTH)

    status = budget_statuses([budget], today=periods.month_end(LAST_MONTH))[budget.pk]

    assert (status.actual, status.complete, status.missing) == (Decimal("105.00"), True, ())


def _incomplete_budget(cast):
    budget = BudgetFactory(
        name="Support in SEK", scope=BudgetScope.TEAM, team=cast.team_a, currency="SEK", owner=cast.finance
    )
    rate("USD", "SEK", "10.5", MONTH_START - datetime.timedelta(days=30))
    spend(cast, "USD", "10", MONTH_START)
    spend(cast, "CHF", "4.25", MONTH_START)  # no CHF rate
    return budget


def test_the_budget_page_and_list_name_the_missing_rate_and_say_incomplete(cast, login):
    budget = _incomplete_budget(cast)
    client = login(cast.finance)

    page = client.get(reverse("showback:budget_detail", args=[budget.pk])).content.decode()
    listed = client.get(reverse("showback:budget_list")).content.decode()

    assert "Missing exchange rates" in page and "these figures are incomplete" in page
    assert f"no CHF→SEK rate for {MONTH_START.isoformat()} (1 day)" in page
    assert 'data-testid="budget-incomplete"' in page and "Incomplete: rates missing" in page
    assert "Incomplete: rates missing" in listed and f"rates missing: CHF {MONTH_START:%b %Y}" in listed


def test_the_api_status_says_incomplete_and_names_the_missing_rate(cast, login):
    budget = _incomplete_budget(cast)

    body = login(cast.finance).get(f"{API}{budget.pk}/").json()

    assert Decimal(body["status"]["actual"]) == Decimal("105.00")
    assert body["status"]["complete"] is False
    ((missing),) = body["status"]["missing_rates"]
    assert (missing["currency"], Decimal(missing["amount"]), missing["first_day"], missing["days"]) == (
        "CHF",
        Decimal("4.25"),
        MONTH_START.isoformat(),
        1,
    )


def test_a_complete_budget_says_so_in_the_api(cast, login):
    budget = BudgetFactory(scope=BudgetScope.TEAM, team=cast.team_a, currency="USD", owner=cast.finance)
    spend(cast, "USD", "10", MONTH_START)

    status = login(cast.finance).get(f"{API}{budget.pk}/").json()["status"]

    assert (status["complete"], status["missing_rates"]) == (True, [])


def _payload(**changes):
    return {
        "name": "Support",
        "scope": "team",
        "team": "support",
        "period": "monthly",
        "amount": "500",
        "currency": "SEK",
        "mode": "alert",
        **changes,
    }


def test_finance_creates_a_budget_in_any_iso_currency(cast, login):
    response = login(cast.finance).post(API, _payload(currency="JPY"), content_type="application/json")

    assert response.status_code == 201, response.content
    assert Budget.objects.get().currency == "JPY"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"currency": "XYZ"}, "currency"),
        ({"currency": "XAU"}, "currency"),  # gold: a unit, not money
        ({"currency": "US\x00"}, "currency"),
        ({"currency": "S" * 10_000}, "currency"),
        ({"amount": "9" * 40}, "amount"),
        ({"amount": "1e999999"}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"name": "a\x00b"}, "name"),
    ],
)
def test_a_hostile_budget_is_a_400_naming_the_field_and_saves_nothing(cast, login, changes, field):
    response = login(cast.finance).post(API, _payload(**changes), content_type="application/json")

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not Budget.objects.exists()


def test_the_budget_list_and_api_keep_their_query_count_as_budgets_spend_and_rates_grow(
    cast, login, django_assert_max_num_queries
):
    client = login(cast.finance)
    _incomplete_budget(cast)
    urls = [reverse("showback:budget_list"), API]
    for url in urls:
        client.get(url)
    counts = {}
    for url in urls:
        with django_assert_max_num_queries(60) as few:
            client.get(url)
        counts[url] = len(few.captured_queries)
    for n in range(1, 15):
        on = MONTH_START - datetime.timedelta(days=n)
        rate("EUR", "SEK", "11.4", on)
        rate("GBP", "SEK", "13.2", on)
        for currency in ("USD", "EUR", "GBP", "CHF"):
            spend(cast, currency, "2", MONTH_START)
    BudgetFactory(scope=BudgetScope.TEAM, team=cast.team_b, currency="SEK", owner=cast.finance)
    BudgetFactory(scope=BudgetScope.USE_CASE, use_case=cast.use_case_a, currency="SEK", owner=cast.finance)
    for url in urls:
        with django_assert_max_num_queries(counts[url]):
            assert client.get(url).status_code == 200
