"""Issue 19: totals in the reporting currency where spend is shown, budgets in any currency, the
spend API's reporting fields, the chargeback CSV's reporting columns, and the rates page and API
with the attacker's tests. On the real PostgreSQL."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from aifinops.core import periods
from aifinops.core.models import AuditEvent
from showback import fx
from showback.budgets.selectors import budget_daily_spend, budget_status
from showback.models import BudgetScope, DailySpend, ExchangeRate

from .budget_factories import BudgetFactory
from .factories import DailySpendFactory

pytestmark = pytest.mark.django_db

TODAY = periods.today()
MONTH_START = periods.month_start(TODAY)


def rate(base, quote, value, valid_from, source="ECB reference rates"):
    return ExchangeRate.objects.create(
        base=base, quote=quote, rate=Decimal(value), valid_from=valid_from, source=source
    )


def spend(cast, currency, amount, on, **kwargs):
    kwargs.setdefault("team", cast.team_a)
    kwargs.setdefault("use_case", cast.use_case_a)
    return DailySpendFactory(currency=currency, effective_cost=Decimal(amount), date=on, **kwargs)


# Budgets in any currency.


def test_a_eur_budget_over_usd_spend_counts_each_day_at_its_rate(cast):
    budget = BudgetFactory(
        scope=BudgetScope.TEAM, team=cast.team_a, currency="EUR", amount=Decimal("1000"), owner=cast.finance
    )
    rate("EUR", "USD", "1.25", MONTH_START - datetime.timedelta(days=40))
    spend(cast, "USD", "125", MONTH_START)  # 100 EUR at 1 EUR = 1.25 USD
    spend(cast, "EUR", "50", MONTH_START)
    spend(cast, "USD", "999", MONTH_START, team=cast.team_b)  # another team's

    status = budget_status(budget, today=MONTH_START)

    assert status.actual == Decimal("150.00")
    assert status.missing_rates == ()
    assert sum(
        v for _, v in budget_daily_spend(budget=budget, start=MONTH_START, end=MONTH_START)
    ) == Decimal("150")


def test_a_budget_names_the_days_without_a_rate_and_does_not_count_them_at_one(cast):
    budget = BudgetFactory(scope=BudgetScope.TEAM, team=cast.team_a, currency="EUR", owner=cast.finance)
    spend(cast, "USD", "125", MONTH_START)
    spend(cast, "EUR", "50", MONTH_START)

    status = budget_status(budget, today=MONTH_START)

    assert status.actual == Decimal("50.00")
    assert status.missing_rates == (f"USD {MONTH_START:%b %Y}",)


def test_a_usd_budget_of_usd_spend_reads_no_rates(cast, django_assert_num_queries):
    budget = BudgetFactory(currency="USD", owner=cast.finance)
    spend(cast, "USD", "10", MONTH_START)
    # The latest spend day, then the window's spend: no rate query when no currency needs one.
    with django_assert_num_queries(2):
        status = budget_status(budget, today=MONTH_START)
    assert status.actual == Decimal("10.00")


def test_the_budget_page_warns_of_missing_rates(cast, login):
    budget = BudgetFactory(scope=BudgetScope.TEAM, team=cast.team_a, currency="EUR", owner=cast.finance)
    spend(cast, "USD", "125", TODAY)

    page = login(cast.finance).get(reverse("showback:budget_detail", args=[budget.pk]))
    listed = login(cast.finance).get(reverse("showback:budget_list"))

    assert page.status_code == 200
    assert "Missing exchange rates" in page.content.decode()
    assert f"rates missing: USD {TODAY:%b %Y}" in listed.content.decode()


def test_customer_and_tag_budgets_in_eur_count_usd_spend_at_each_days_rate(cast):
    from showback.models import CustomerDailySpend, SpendRecord

    rate("EUR", "USD", "1.25", MONTH_START)
    customer = BudgetFactory(scope=BudgetScope.CUSTOMER, customer="acme", currency="EUR", owner=cast.finance)
    tag = BudgetFactory(
        scope=BudgetScope.TAG, tag_key="env", tag_value="prod", currency="EUR", owner=cast.finance
    )
    CustomerDailySpend.objects.create(
        date=MONTH_START, customer="acme", currency="USD", effective_cost=Decimal("25")
    )
    CustomerDailySpend.objects.create(
        date=MONTH_START, customer="acme", currency="EUR", effective_cost=Decimal("3")
    )
    CustomerDailySpend.objects.create(
        date=MONTH_START, customer="other", currency="USD", effective_cost=Decimal("99")
    )
    at = datetime.datetime.combine(MONTH_START, datetime.time(9), tzinfo=datetime.UTC)
    for key, currency, amount, tags in (
        ("a", "USD", "50", {"env": "prod"}),
        ("b", "GBP", "7", {"env": "prod"}),
        ("c", "USD", "80", {"env": "dev"}),
    ):
        SpendRecord.objects.create(
            source="test",
            source_row_key=key,
            charge_period_start=at,
            charge_period_end=at + datetime.timedelta(hours=1),
            is_ai=True,
            currency=currency,
            effective_cost=Decimal(amount),
            billed_cost=Decimal(amount),
            tags=tags,
        )

    customer_status = budget_status(customer, today=MONTH_START)
    tag_status = budget_status(tag, today=MONTH_START)

    assert (customer_status.actual, customer_status.missing_rates) == (Decimal("23.00"), ())
    assert tag_status.actual == Decimal("40.00")
    assert tag_status.missing_rates == (f"GBP {MONTH_START:%b %Y}",)
    daily = budget_daily_spend(budget=customer, start=MONTH_START, end=MONTH_START)
    assert daily == [(MONTH_START, Decimal("23"))]


# The showback overview.


def _overview(client):
    return client.get(reverse("showback:index"), {"start": MONTH_START.isoformat(), "end": TODAY.isoformat()})


def test_the_overview_shows_one_total_in_the_reporting_currency_and_names_its_rates(cast, login):
    rate("EUR", "USD", "1.0812", MONTH_START, source="ECB")
    rate("GBP", "USD", "1.25", MONTH_START, source="ECB")
    spend(cast, "USD", "100", MONTH_START)
    spend(cast, "EUR", "100", MONTH_START)
    spend(cast, "GBP", "100", MONTH_START)

    html = _overview(login(cast.finance)).content.decode()

    assert "Total in USD" in html
    assert "$333.12" in html
    assert f"1 EUR = 1.0812 USD (ECB, {MONTH_START.isoformat()})" in html
    assert f"1 GBP = 1.25 USD (ECB, {MONTH_START.isoformat()})" in html
    assert "Missing exchange rates" not in html


def test_the_overview_names_a_currency_and_month_without_a_rate(cast, login):
    spend(cast, "USD", "100", MONTH_START)
    spend(cast, "EUR", "40", MONTH_START)

    html = _overview(login(cast.finance)).content.decode()

    assert "Missing exchange rates" in html
    assert f"in EUR ({MONTH_START:%b %Y})" in html
    assert "$100.00" in html


def test_a_single_currency_overview_shows_no_conversion(cast, login):
    spend(cast, "USD", "100", MONTH_START)
    assert "Total in USD" not in _overview(login(cast.finance)).content.decode()


def test_the_overview_keeps_its_query_count_as_rates_and_days_grow(
    cast, login, django_assert_max_num_queries
):
    client = login(cast.finance)
    spend(cast, "EUR", "1", MONTH_START)
    rate("EUR", "USD", "1.1", MONTH_START)
    _overview(client)
    with django_assert_max_num_queries(40) as few:
        _overview(client)
    for n in range(1, 6):
        rate("EUR", "USD", "1.1", MONTH_START - datetime.timedelta(days=n))
        spend(cast, "GBP", "1", MONTH_START - datetime.timedelta(days=n))
    rate("GBP", "USD", "1.3", MONTH_START - datetime.timedelta(days=30))
    with django_assert_max_num_queries(len(few.captured_queries)):
        _overview(client)


def test_home_team_and_use_case_pages_give_this_months_spend_in_the_reporting_currency(cast, login):
    rate("EUR", "USD", "2", MONTH_START - datetime.timedelta(days=3), source="ECB")
    spend(cast, "EUR", "10", MONTH_START)
    spend(cast, "USD", "1", MONTH_START)
    client = login(cast.owner)

    for url in (
        reverse("home"),
        reverse("portfolio:team_detail", args=[cast.team_a.slug]),
        reverse("portfolio:use_case_detail", args=[cast.use_case_a.key]),
    ):
        html = client.get(url).content.decode()
        assert "= <strong>$21.00</strong> in USD" in html, url
        assert "1 EUR = 2.00 USD (ECB," in html, url


# The home page's top use cases and trend, and the team's and use case's trend and last month.

LAST = periods.months_back(TODAY, 1)


def _two_currencies(cast):
    """Last month: USD, EUR at two rates (2 until the 5th, 3 from the 6th), GBP with a rate (only
    the inverse is recorded) from the 11th, and GBP on the 3rd without one. This month: support
    in USD and EUR, marketing in EUR only, and JPY with no rate at all, on no use case."""
    rate("EUR", "USD", "2", LAST - datetime.timedelta(days=10), source="ECB")
    rate("EUR", "USD", "3", LAST + datetime.timedelta(days=5), source="ECB")
    rate("USD", "GBP", "0.5", LAST + datetime.timedelta(days=10), source="ECB")
    for currency, amount, day in (
        ("USD", "10", 0),
        ("EUR", "10", 1),
        ("EUR", "10", 6),
        ("GBP", "5", 2),
        ("GBP", "5", 11),
    ):
        spend(cast, currency, amount, LAST + datetime.timedelta(days=day))
    spend(cast, "USD", "1", MONTH_START)
    spend(cast, "EUR", "4", MONTH_START)
    spend(cast, "EUR", "5", MONTH_START, team=cast.team_b, use_case=cast.use_case_b)
    spend(cast, "JPY", "100", MONTH_START, use_case=None)


def _in_force(currency, day):
    """The rate _two_currencies recorded, looked up by hand: None where there is none."""
    if currency == "USD":
        return Decimal(1)
    if currency == "EUR":
        return Decimal(3) if day >= LAST + datetime.timedelta(days=5) else Decimal(2)
    if currency == "GBP" and day >= LAST + datetime.timedelta(days=10):
        return Decimal(1) / Decimal("0.5")
    return None


def _by_hand(rows):
    """(USD of the rows that had a rate, {currency: amount of those that had none})."""
    total, missing = Decimal(0), {}
    for row in rows:
        factor = _in_force(row.currency, row.date)
        if factor is None:
            missing[row.currency] = missing.get(row.currency, Decimal(0)) + row.effective_cost
        else:
            total += row.effective_cost * factor
    return total, missing


def test_the_homes_top_use_cases_and_trend_count_each_day_at_its_rate(cast, login):
    _two_currencies(cast)

    response = login(cast.finance).get(reverse("home"))

    this_month = DailySpend.objects.filter(date__gte=MONTH_START, date__lte=TODAY)
    top = {r["key"]: r for r in response.context["top_use_cases"]}
    for use_case in (cast.use_case_a, cast.use_case_b):
        amount, missing = _by_hand(this_month.filter(use_case=use_case))
        assert (top[use_case.key]["amount"], top[use_case.key]["missing"]) == (amount, missing)
    assert top[cast.use_case_a.key]["amount"] == Decimal("13")  # 1 USD + 4 EUR at 3
    assert top[None]["missing"] == {"JPY": Decimal("100")}  # never counted at 1
    trend = dict(response.context["trend"]["months"])
    assert trend[LAST] == _by_hand(DailySpend.objects.filter(date__gte=LAST, date__lt=MONTH_START))[0]
    assert trend[LAST] == Decimal("70")  # 10 + 10 x 2 + 10 x 3 + 5 GBP x 2; 5 GBP without a rate
    assert trend[MONTH_START] == _by_hand(this_month)[0] == Decimal("28")
    assert response.context["trend"]["missing"] == {
        LAST: {"GBP": Decimal("5")},
        MONTH_START: {"JPY": Decimal("100")},
    }

    html = response.content.decode()
    # A use case billed in one other currency shows the reporting figure with the original beside it
    assert '$15.00<div class="small text-muted">€5.00 as billed</div>' in html
    assert "JPY 100.00 not counted: no JPY→USD rate" in html
    assert f"1 EUR = 3.00 USD (ECB, {LAST + datetime.timedelta(days=5)})" in html
    assert f"Not in this chart: £5.00, no GBP→USD rate for {LAST + datetime.timedelta(days=2)}" in html
    assert f"Not in this list: JPY 100.00, no JPY→USD rate for {MONTH_START}" in html


def test_the_team_and_use_case_pages_give_the_trend_and_last_month_in_the_reporting_currency(cast, login):
    _two_currencies(cast)
    client = login(cast.owner)

    team = client.get(reverse("portfolio:team_detail", args=[cast.team_a.slug]))
    tab = client.get(reverse("portfolio:use_case_tab_spend", args=[cast.use_case_a.key]))

    trend = team.context["spend"]["trend"]
    assert dict(trend["months"])[LAST] == Decimal("70")
    assert dict(trend["months"])[MONTH_START] == Decimal("13")  # the JPY has no rate: left out, named
    html = team.content.decode()
    assert "Not in this chart: £5.00, no GBP→USD rate for" in html
    assert f"Not in this chart: JPY 100.00, no JPY→USD rate for {MONTH_START}" in html
    assert "1 GBP = 2.00 USD (ECB," in html
    # The use case's own trend: its own spend only, the same rates
    assert dict(tab.context["trend"]["months"])[LAST] == Decimal("70")
    assert dict(tab.context["trend"]["months"])[MONTH_START] == Decimal("13")
    use_case = tab.content.decode()
    assert "1 EUR = 3.00 USD (ECB," in use_case
    assert f"Not in this chart: £5.00, no GBP→USD rate for {LAST + datetime.timedelta(days=2)}" in use_case
    # Last month: $70.00 with the GBP day named, on both pages
    for page in (html, use_case):
        assert "= <strong>$70.00</strong> in USD" in page
        assert f"Not counted: £5.00, no GBP→USD rate for {LAST + datetime.timedelta(days=2)}" in page


def test_the_home_team_and_use_case_pages_keep_their_query_count_as_days_currencies_and_rates_grow(
    cast, login, django_assert_max_num_queries
):
    _two_currencies(cast)
    client = login(cast.admin)
    pages = [
        reverse("home"),
        reverse("portfolio:team_detail", args=[cast.team_a.slug]),
        reverse("portfolio:use_case_tab_spend", args=[cast.use_case_b.key]),
    ]
    counts = []
    for url in pages:
        client.get(url)
        with django_assert_max_num_queries(60) as few:
            client.get(url)
        counts.append(len(few.captured_queries))
    for n in range(1, 15):
        day = LAST + datetime.timedelta(days=n)
        rate("CHF", "USD", "1.05", day)
        for currency in ("CHF", "EUR", "GBP", "SEK"):
            spend(cast, currency, "3", day)
            spend(cast, currency, "2", MONTH_START, use_case=cast.use_case_b, team=cast.team_b)
    for url, count in zip(pages, counts, strict=True):
        with django_assert_max_num_queries(count):
            assert "1 CHF = 1.05 USD" in client.get(url).content.decode()


# The spend API.


def test_the_spend_summary_gives_each_row_and_the_whole_in_the_reporting_currency(cast, login):
    rate("EUR", "USD", "1.5", MONTH_START)
    spend(cast, "EUR", "10", MONTH_START)
    spend(cast, "USD", "5", MONTH_START)
    spend(cast, "GBP", "7", MONTH_START)
    end = MONTH_START + datetime.timedelta(days=1)

    body = (
        login(cast.finance)
        .get("/api/v1/spend/summary/", {"group_by": "team", "start": MONTH_START, "end": end})
        .json()
    )

    rows = {r["currency"]: r for r in body["results"]}
    assert Decimal(rows["EUR"]["effective_cost"]) == Decimal("10")
    assert Decimal(rows["EUR"]["reporting_effective_cost"]) == Decimal("15")
    assert rows["GBP"]["reporting_effective_cost"] is None
    reporting = body["reporting"]
    assert (reporting["currency"], Decimal(reporting["amount"]), reporting["complete"]) == (
        "USD",
        Decimal("20"),
        False,
    )
    assert reporting["rates_used"][0]["rate"] == "1.50"
    assert reporting["missing"][0]["currency"] == "GBP"
    assert reporting["missing"][0]["first_day"] == MONTH_START.isoformat()


def test_the_summary_rows_in_the_reporting_currency_add_up_to_its_total(cast):
    from showback.selectors import spend_summary_reporting

    rate("EUR", "USD", "1.1", MONTH_START - datetime.timedelta(days=60))
    rate("GBP", "USD", "1.3", MONTH_START - datetime.timedelta(days=60))
    # From the day of the second row on: that row is on the boundary, the later EUR rows before it.
    rate("EUR", "USD", "1.2", MONTH_START - datetime.timedelta(days=9))
    for n, (currency, team) in enumerate(
        [("USD", "a"), ("EUR", "a"), ("GBP", "b"), ("EUR", "b"), ("EUR", "a")]
    ):
        spend(
            cast,
            currency,
            f"{n + 1}.5",
            MONTH_START - datetime.timedelta(days=n * 9),
            team=cast.team_a if team == "a" else cast.team_b,
            use_case=None,
        )

    rows, total = spend_summary_reporting(
        user=cast.finance,
        group_by="team",
        start=MONTH_START - datetime.timedelta(days=60),
        end=TODAY + datetime.timedelta(days=1),
    )

    assert total.complete
    assert sum(rows.values()) == total.amount
    expected = Decimal("1.5") + Decimal("2.5") * Decimal("1.2") + Decimal("3.5") * Decimal("1.3")
    expected += Decimal("4.5") * Decimal("1.1") + Decimal("5.5") * Decimal("1.1")
    assert total.amount == expected


# The chargeback CSV.


def test_the_chargeback_csv_gives_each_row_in_the_reporting_currency_with_its_rate(cast, login):
    last_month = periods.months_back(TODAY, 1)
    rate("EUR", "USD", "1.2", last_month - datetime.timedelta(days=3))
    spend(cast, "EUR", "10", last_month)
    url = reverse(
        "showback:chargeback_csv",
        kwargs={"team": "support", "year": last_month.year, "month": last_month.month},
    )

    answer = login(cast.finance).get(url)
    rows = list(csv.DictReader(io.StringIO(b"".join(answer.streaming_content).decode("utf-8-sig"))))

    line = next(r for r in rows if r["section"] == "use_case")
    assert Decimal(line["reporting_effective_cost"]) == Decimal("12")
    assert line["reporting_currency"] == "USD"
    assert Decimal(line["reporting_rate"]) == Decimal("1.2")
    assert line["reporting_rate_date"] == (last_month - datetime.timedelta(days=3)).isoformat()
    assert line["effective_cost"].startswith("10")


def test_the_chargeback_statement_page_and_api_give_the_month_in_the_reporting_currency(cast, login):
    last_month = periods.months_back(TODAY, 1)
    rate("EUR", "USD", "1.2", last_month, source="ECB")
    spend(cast, "EUR", "10", last_month)
    spend(cast, "USD", "3", last_month)
    client = login(cast.finance)
    kwargs = {"team": "support", "year": last_month.year, "month": last_month.month}

    html = client.get(reverse("showback:chargeback_statement", kwargs=kwargs)).content.decode()
    body = client.get(f"/api/v1/spend/chargeback/support/{last_month.year}-{last_month.month}/").json()

    assert "Total in USD" in html
    assert "$15.00" in html
    assert Decimal(body["reporting"]["amount"]) == Decimal("15")
    line = next(r for r in body["by_use_case"] if r["currency"] == "EUR")
    assert Decimal(line["reporting"]["amount"]) == Decimal("12")
    assert line["reporting"]["rate_date"] == last_month.isoformat()


# The rates page and API.


def test_finance_uploads_rates_as_csv_and_sees_them_with_their_source(cast, login):
    client = login(cast.finance)
    d1, d2 = (
        (TODAY - datetime.timedelta(days=2)).isoformat(),
        (TODAY - datetime.timedelta(days=1)).isoformat(),
    )
    upload = SimpleUploadedFile(
        "rates.csv", f"Date,Base,Quote,Rate\n{d1},EUR,USD,1.08\n{d2},EUR,USD,1.09\n".encode()
    )

    answer = client.post(
        reverse("showback:exchange_rate_upload"), {"file": upload, "source": "ECB reference"}
    )

    assert answer.status_code == 302
    page = client.get(reverse("showback:exchange_rate_list")).content.decode()
    assert "ECB reference" in page
    assert d2 in page
    assert ExchangeRate.objects.count() == 2
    assert AuditEvent.objects.filter(action="exchange_rate.load", actor=cast.finance).count() == 1


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"date,base,quote\n2026-01-01,EUR,USD\n", "lacks rate"),
        (b"date,base,quote,rate\n2026-01-01,EUR,USD,-1\n", "Line 2: rate must be positive"),
        (b"date,base,quote,rate\n2026-01-01,EUR,ZZZ,1.1\n", "Line 2: quote"),
        (b"\xff\xfe\x00bad", "not UTF-8"),
        (b"", "empty"),
        (b"date,base,quote,rate\n", "no rates"),
    ],
)
def test_a_bad_rates_file_is_refused_naming_the_problem(cast, login, content, words):
    upload = SimpleUploadedFile("rates.csv", content)

    answer = login(cast.finance).post(
        reverse("showback:exchange_rate_upload"), {"file": upload, "source": "ECB"}
    )

    assert answer.status_code == 400
    assert words in answer.content.decode()
    assert not ExchangeRate.objects.exists()


def test_the_reporting_currency_is_set_on_the_rates_page(cast, login):
    client = login(cast.admin)
    answer = client.post(reverse("showback:reporting_currency_edit"), {"code": "EUR"})
    assert answer.status_code == 302
    assert fx.reporting_currency() == "EUR"
    bad = client.post(reverse("showback:reporting_currency_edit"), {"code": "ZZZ"})
    assert bad.status_code == 400
    assert fx.reporting_currency() == "EUR"


API = "/api/v1/exchange-rates/"


def test_the_api_loads_a_batch_once_and_lists_it(cast, login):
    client = login(cast.finance)
    d = (TODAY - datetime.timedelta(days=1)).isoformat()
    body = {"source": "ECB", "rates": [{"date": d, "base": "GBP", "quote": "USD", "rate": "1.27"}]}

    first = client.post(API, body, content_type="application/json")
    again = client.post(API, body, content_type="application/json")

    assert first.status_code == 201, first.content
    assert (first.json()["created"], again.json()["unchanged"]) == (1, 1)
    listed = login(cast.requester_a).get(API).json()
    assert listed["results"][0]["source"] == "ECB"
    assert listed["reporting_currency"] == "USD"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"source": "ECB"}, "rates"),
        ({"source": "ECB", "rates": "EUR"}, "rates"),
        ({"source": "ECB", "rates": []}, "rates"),
        (
            {"source": "ECB", "rates": [{"date": "2026-01-01", "base": "EUR", "quote": "USD", "rate": "0"}]},
            "rates",
        ),
        (
            {
                "source": "ECB",
                "rates": [{"date": "2026-01-01", "base": "EUR", "quote": "USD", "rate": 1e308}],
            },
            "rates",
        ),
        (
            {"source": "ECB", "rates": [{"date": "2026-13-01", "base": "EUR", "quote": "USD", "rate": "1"}]},
            "rates",
        ),
        ({"source": "ECB", "rates": [{"date": ["x"], "base": "EUR", "quote": "USD", "rate": "1"}]}, "rates"),
        ({"source": "ECB", "rates": [1, 2]}, "rates"),
        (
            {"source": "", "rates": [{"date": "2026-01-01", "base": "EUR", "quote": "USD", "rate": "1"}]},
            "source",
        ),
        (
            {"source": 5, "rates": [{"date": "2026-01-01", "base": "EUR", "quote": "USD", "rate": "1"}]},
            "source",
        ),
        (
            {
                "source": "ECB",
                "rates": [{"date": "2026-01-01", "base": "EUR", "quote": "USD", "rate": "1"}] * 2,
            },
            "rates",
        ),
    ],
)
def test_a_bad_batch_is_a_400_naming_the_field(cast, login, body, field):
    answer = login(cast.finance).post(API, body, content_type="application/json")
    assert answer.status_code == 400, answer.content
    assert field in answer.json()["error"]["fields"]
    assert not ExchangeRate.objects.exists()


def test_a_batch_with_a_nul_or_a_surrogate_is_a_400(cast, login):
    client = login(cast.finance)
    row = '{"date": "2026-01-01", "base": "E\\u0000R", "quote": "USD", "rate": "1"}'
    nul = '{"source": "ECB", "rates": [' + row + "]}"
    surrogate = (
        '{"source": "\\ud800", "rates": [{"date": "2026-01-01", "base": "EUR", "quote": "USD", "rate": "1"}]}'
    )
    for raw in (nul, surrogate):
        answer = client.post(API, raw, content_type="application/json")
        assert answer.status_code == 400, answer.content
    assert not ExchangeRate.objects.exists()


def test_a_batch_of_100k_rates_is_a_400(cast, login):
    rows = [{"date": "2026-01-01", "base": "EUR", "quote": "USD", "rate": "1"}] * 100_000
    answer = login(cast.finance).post(API, {"source": "ECB", "rates": rows}, content_type="application/json")
    assert answer.status_code in (400, 413)
    assert not ExchangeRate.objects.exists()


# seed_demo: a mixed-currency month totalled in the reporting currency.


def test_the_demo_bills_in_three_currencies_and_every_day_has_a_rate(demo):
    from showback.models import DailySpend

    month = DailySpend.objects.filter(date__gte=periods.months_back(TODAY, 1), date__lt=MONTH_START)

    converted = fx.converted_sum(month, into="USD")

    assert set(converted.original) == {"USD", "EUR", "GBP"}
    assert converted.complete, [str(m) for m in converted.missing]
    assert [r.currency for r in converted.rates] == ["EUR", "GBP"]
    assert converted.amount > converted.original["USD"]


@pytest.mark.parametrize("value", ["E%00R", "%ED%A0%80", "X" * 10_000, "12", "eux"])
def test_a_bad_currency_filter_on_the_rates_api_is_a_400_naming_it(cast, login, value):
    # Sent as the bytes a client would put on the wire (%ED%A0%80: a lone surrogate in UTF-8).
    answer = login(cast.requester_a).get(f"{API}?base={value}")
    assert answer.status_code == 400
    assert "base" in answer.json()["error"]["fields"]


@pytest.mark.parametrize("value", ["E\x00R/USD", "X" * 10_000, "EUR", "EUR/ZZZ"])
def test_a_bad_pair_on_the_rates_page_shows_all_rates_and_says_so(cast, login, value):
    rate("EUR", "USD", "1.1", TODAY)
    answer = login(cast.requester_a).get(reverse("showback:exchange_rate_list"), {"pair": value})
    assert answer.status_code == 200
    assert "is not a pair such as EUR/USD" in answer.content.decode()
