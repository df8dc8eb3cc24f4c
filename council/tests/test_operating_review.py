"""Issue 19 on the council's monthly operating review: its spend trend, the month's total and the
premium model share in the reporting currency, each day at its rate, with the rates named and a
currency without one named, never counted at 1; its vendor overlap is showback's one selector's.
On the real PostgreSQL; the figures are checked against an independent sum of row x the rate in
force on the row's day, over data dated relative to today."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from aifinops.core import periods
from council import selectors
from council.tests.factories import MeetingFactory
from council.tests.page_fixtures import board_fixture, in_session_fixture, meeting_fixture  # noqa: F401
from portfolio.tests.factories import ProviderFactory, TeamFactory
from showback import selectors as spend_selectors
from showback.models import ExchangeRate
from showback.tests.factories import DailySpendFactory

pytestmark = pytest.mark.django_db

TODAY = periods.today()
START = periods.months_back(TODAY, 1)  # the last full month, the one the review is about
END = periods.month_start(TODAY) - datetime.timedelta(days=1)
FIRST = periods.months_back(START, selectors.TREND_MONTHS - 1)  # the trend's first month
CENT = Decimal("0.01")


def rate(base, quote, value, valid_from, source="ECB"):
    return ExchangeRate.objects.create(
        base=base, quote=quote, rate=Decimal(value), valid_from=valid_from, source=source
    )


def spend(team, currency, amount, on, *, tier="mid", provider=None):
    return DailySpendFactory(
        team=team,
        currency=currency,
        effective_cost=Decimal(amount),
        date=on,
        model_tier=tier,
        provider=provider or ProviderFactory(name="OpenAI", slug="openai"),
    )


def in_force(rates, currency, day):
    """The rate of `currency` into USD on `day`, read from the rates as recorded: the latest
    valid_from on or before the day; 1 for USD; None without one."""
    if currency == "USD":
        return Decimal(1)
    found = [r for r in rates if r.base == currency and r.quote == "USD" and r.valid_from <= day]
    return max(found, key=lambda r: r.valid_from).rate if found else None


@pytest.fixture
def ledger(cast):
    """USD and EUR spend over the trend's months, the EUR rate changing within the review's month;
    GBP spend in that month with no GBP rate at all; spend this month, after the review's month."""
    openai = ProviderFactory(name="OpenAI", slug="openai")
    anthropic = ProviderFactory(name="Anthropic", slug="anthropic")
    rates = [
        rate("EUR", "USD", "1.10", START - datetime.timedelta(days=40)),
        rate("EUR", "USD", "1.20", START + datetime.timedelta(days=10)),
    ]
    a, b = cast.team_a, cast.team_b
    rows = [
        spend(a, "USD", "100", START, provider=openai),
        spend(a, "EUR", "50", START + datetime.timedelta(days=2), tier="frontier", provider=anthropic),
        spend(a, "EUR", "50", START + datetime.timedelta(days=12), tier="frontier", provider=anthropic),
        spend(a, "USD", "40", START + datetime.timedelta(days=3), tier="frontier", provider=openai),
        spend(b, "GBP", "8", START + datetime.timedelta(days=5), tier="frontier", provider=openai),
        spend(b, "USD", "12.34", START + datetime.timedelta(days=7), tier="reasoning", provider=openai),
        spend(b, "EUR", "30", START - datetime.timedelta(days=20), provider=anthropic),
        spend(b, "EUR", "7", START - datetime.timedelta(days=45)),  # before the first EUR rate
        spend(a, "USD", "200", FIRST + datetime.timedelta(days=3), provider=openai),
    ]
    spend(a, "USD", "999", TODAY, tier="frontier")  # this month: in none of the review's figures
    return {"rates": rates, "rows": rows}


def test_the_trend_and_the_total_count_each_row_at_its_days_rate_to_the_cent(cast, ledger):
    # Given spend in USD, EUR (its rate changing within the month) and GBP (no rate)
    # When the council reads the operating review
    review = selectors.operating_review(user=cast.council, as_of=TODAY)

    # Then each month of the trend is its rows, each at its day's rate, the rows without one left out
    expected = {periods.add_months(FIRST, n): Decimal(0) for n in range(selectors.TREND_MONTHS)}
    for row in ledger["rows"]:
        factor = in_force(ledger["rates"], row.currency, row.date)
        if factor is not None:
            expected[periods.month_start(row.date)] += row.effective_cost * factor
    trend = review["trend"]
    assert trend["currency"] == "USD"
    assert [(m, a.quantize(CENT)) for m, a in trend["months"]] == [
        (m, a.quantize(CENT)) for m, a in expected.items()
    ]
    # And the month's total is the same sum over the month, the amounts as billed beside it
    total = review["total"]
    assert total.amount.quantize(CENT) == expected[START].quantize(CENT) == Decimal("267.34")
    assert total.original == {"USD": Decimal("152.34"), "EUR": Decimal("100"), "GBP": Decimal("8")}
    # And both rates used for EUR are named, the latest first
    assert [str(r) for r in total.rates] == [f"1 EUR = 1.20 USD (ECB, {START + datetime.timedelta(days=10)})"]
    assert total.rates_counted == {"EUR": 2}


def test_a_currency_without_a_rate_is_named_and_not_counted_at_one(cast, ledger):
    review = selectors.operating_review(user=cast.council, as_of=TODAY)

    gbp_day = START + datetime.timedelta(days=5)
    assert [(m.currency, m.amount, m.first, m.days) for m in review["total"].missing] == [
        ("GBP", Decimal("8"), gbp_day, 1)
    ]
    eur_day = START - datetime.timedelta(days=45)
    assert review["trend"]["missing"] == {
        periods.month_start(eur_day): {"EUR": Decimal("7")},
        START: {"GBP": Decimal("8")},
    }


def test_the_premium_share_is_taken_on_reporting_currency_amounts(cast, ledger):
    review = selectors.operating_review(user=cast.council, as_of=TODAY)

    # Frontier: 50 EUR at 1.10 + 50 EUR at 1.20 + 40 USD; reasoning: 12.34 USD; the GBP frontier
    # spend has no rate and is on neither side of the share
    premium = review["premium"]
    assert premium["amount"].quantize(CENT) == Decimal("167.34")
    assert premium["share"].quantize(Decimal("0.0001")) == (Decimal("167.34") / Decimal("267.34")).quantize(
        Decimal("0.0001")
    )
    by_tier = {r["key"]: r for r in premium["premium"]}
    assert by_tier["frontier"]["amount"].quantize(CENT) == Decimal("155.00")
    billed = {"EUR": Decimal("100"), "USD": Decimal("40"), "GBP": Decimal("8")}
    assert by_tier["frontier"]["original"] == billed
    assert by_tier["frontier"]["missing"] == {"GBP": Decimal("8")}
    assert by_tier["reasoning"]["amount"].quantize(CENT) == Decimal("12.34")


def test_the_showback_page_gives_the_reviews_premium_share(cast, ledger):
    # Given the same month on the showback page, whose largest currency alone (USD) has a premium
    # share of 52.34 / 152.34 (34 %), not the 63 % of all of it in USD
    review = selectors.operating_review(user=cast.council, as_of=TODAY)
    page = spend_selectors.spend_breakdown(user=cast.council, dimension="team", start=START, end=END)

    # Then its sentence names the review's share, one number for one question
    share = review["premium"]["share"]
    assert f"{share:.0%}" == "63%"
    assert f"{share:.0%} went to frontier and reasoning models." in page["explanation"]
    assert page["totals"]["USD"]["premium_share"] != share


def test_the_vendor_overlap_is_showbacks_figure(cast, ledger):
    # Given support paid Anthropic (in EUR) and OpenAI (in USD) for the frontier tier last month
    review = selectors.operating_review(user=cast.council, as_of=TODAY)

    # Then the review's overlap is showback's selector's, and the showback page's, over the month
    month = spend_selectors.daily_spend_queryset(user=cast.council).filter(date__gte=START, date__lte=END)
    showback = spend_selectors.vendor_overlap_list(month, into="USD")
    page = spend_selectors.spend_breakdown(user=cast.council, dimension="team", start=START, end=END)
    assert review["overlap"] == showback == page["overlap"]
    [pair] = review["overlap"]
    assert (pair["team"], pair["tier"]) == ("Support", "Frontier")
    assert {p: a.quantize(CENT) for p, a in pair["providers_reporting"].items()} == {
        "Anthropic": Decimal("115.00"),
        "OpenAI": Decimal("40.00"),
    }
    assert list(pair["providers_reporting"]) == ["Anthropic", "OpenAI"]  # largest first


def test_the_meeting_page_shows_the_review_in_the_reporting_currency_and_names_the_missing_rate(
    cast, login, board
):
    # Given the ledger above with support's frontier spend in EUR and USD and no GBP rate
    ExchangeRate.objects.all().delete()
    rate("EUR", "USD", "1.10", START - datetime.timedelta(days=40))
    rate("EUR", "USD", "1.20", START + datetime.timedelta(days=10))
    anthropic = ProviderFactory(name="Anthropic", slug="anthropic")
    spend(cast.team_a, "USD", "100", START)
    spend(cast.team_a, "EUR", "50", START + datetime.timedelta(days=2), tier="frontier", provider=anthropic)
    spend(cast.team_a, "EUR", "50", START + datetime.timedelta(days=12), tier="frontier", provider=anthropic)
    spend(cast.team_a, "USD", "40", START + datetime.timedelta(days=3), tier="frontier")
    spend(cast.team_b, "GBP", "8", START + datetime.timedelta(days=5), tier="frontier")
    meeting = MeetingFactory(council=board)

    # When a member opens the meeting
    html = login(cast.council).get(reverse("council:meeting_detail", args=[meeting.pk])).content.decode()

    # Then the month's total is in USD with the amounts as billed beside it
    assert f"<strong>$255.00</strong> of AI spend in {START:%B}" in html
    assert "$140.00 + €100.00 + £8.00 as billed" in html
    # And the rates are named, and the GBP without one is named and left out, not counted at 1
    assert f"1 EUR = 1.20 USD (ECB, {START + datetime.timedelta(days=10)})" in html
    gbp_day = START + datetime.timedelta(days=5)
    assert f"Not in this total: £8.00, no GBP→USD rate for {gbp_day} (1 day)." in html
    assert f"Not in this trend: £8.00, no GBP→USD rate for {gbp_day} (1 day)." in html
    # And the premium share is 155 of 255 USD (61 %), not counting the GBP
    assert "<strong>61 %</strong> of USD spend on frontier and reasoning models" in html
    assert "not counting the spend without an exchange rate" in html
    # And the vendor overlap gives each provider's spend in USD
    assert "Anthropic $115.00, OpenAI $40.00" in html


def test_the_meeting_page_keeps_its_query_count_as_spend_currencies_and_rates_grow(
    cast, login, in_session, django_assert_max_num_queries
):
    # Given some spend in two currencies with one rate
    rate("EUR", "USD", "1.10", START)
    spend(cast.team_a, "EUR", "10", START, tier="frontier", provider=ProviderFactory(name="A", slug="a"))
    spend(cast.team_a, "USD", "10", START, tier="frontier")
    client = login(cast.chair)
    url = reverse("council:meeting_detail", args=[in_session.pk])
    client.get(url)  # warm the caches (sessions, content types)
    with CaptureQueriesContext(connection) as few:
        client.get(url)

    # When the spend grows: more days, currencies, rates, teams, tiers and overlapping providers
    for n in range(1, 15):
        day = START + datetime.timedelta(days=n)
        rate("CHF", "USD", "1.05", day)
        rate("EUR", "USD", "1.10", day)
        team = TeamFactory()
        for currency in ("CHF", "EUR", "GBP", "SEK"):
            for slug in ("a", "b"):
                provider = ProviderFactory(name=slug, slug=slug)
                spend(team, currency, "3", day, tier="frontier", provider=provider)
            spend(cast.team_b, currency, "2", FIRST + datetime.timedelta(days=n), tier="reasoning")

    # Then the page reads no more queries than before (22, as pinned with the agenda growing)
    with django_assert_max_num_queries(min(len(few.captured_queries), 22)):
        response = client.get(url)
    assert response.status_code == 200
    assert len(response.context["standing"]["overlap"]) == 15


# The quarterly review's allocation by stage, in the reporting currency too.

QUARTER_START, QUARTER_END = selectors._last_full_quarter(TODAY)


def test_the_quarterly_allocation_counts_each_row_at_its_days_rate_and_names_the_missing_one(
    cast, login, board
):
    # Given the quarter's spend of two use cases in USD and EUR (the rate changing mid-quarter),
    # and GBP with no rate
    rates = [
        rate("EUR", "USD", "1.10", QUARTER_START),
        rate("EUR", "USD", "1.30", QUARTER_START + datetime.timedelta(days=40)),
    ]
    a, b = cast.use_case_a, cast.use_case_b
    anthropic = ProviderFactory(name="Anthropic", slug="anthropic")
    rows = [
        DailySpendFactory(
            team=a.team, use_case=a, currency="USD", effective_cost=Decimal("100"), date=QUARTER_START
        ),
        DailySpendFactory(
            team=a.team,
            use_case=a,
            currency="EUR",
            effective_cost=Decimal("10"),
            date=QUARTER_START + datetime.timedelta(days=2),
        ),
        DailySpendFactory(
            team=b.team,
            use_case=b,
            currency="EUR",
            effective_cost=Decimal("20"),
            date=QUARTER_START + datetime.timedelta(days=45),
            provider=anthropic,
        ),
        DailySpendFactory(
            team=b.team, use_case=b, currency="GBP", effective_cost=Decimal("5"), date=QUARTER_END
        ),
    ]

    # When the council reads the quarterly review
    review = selectors.quarterly_review(user=cast.council, as_of=TODAY)

    # Then each stage's spend is its rows at their days' rates, the GBP left out and named
    expected = {}
    for row in rows:
        factor = in_force(rates, row.currency, row.date)
        if factor is not None:
            stage = row.use_case.stage
            expected[stage] = expected.get(stage, Decimal(0)) + row.effective_cost * factor
    got = {r["stage"]: r["spend"].quantize(CENT) for r in review["allocation"] if r["spend"]}
    assert got == {stage: amount.quantize(CENT) for stage, amount in expected.items()}
    assert review["currency"] == "USD"
    total = review["allocation_total"]
    assert total.amount.quantize(CENT) == Decimal("137.00")  # 100 + 10 x 1.10 + 20 x 1.30
    assert [(m.currency, m.amount, m.first) for m in total.missing] == [("GBP", Decimal("5"), QUARTER_END)]
    # And its overlap is showback's selector's over the quarter
    quarter = spend_selectors.daily_spend_queryset(user=cast.council).filter(
        date__gte=QUARTER_START, date__lte=QUARTER_END
    )
    assert review["overlap"] == spend_selectors.vendor_overlap_list(quarter, into="USD")

    # And the page names the rates and the GBP without one
    meeting = MeetingFactory(council=board, kind="quarterly_review")
    html = login(cast.council).get(reverse("council:meeting_detail", args=[meeting.pk])).content.decode()
    assert "Spend in the quarter (USD)" in html
    assert f"1 EUR = 1.30 USD (ECB, {QUARTER_START + datetime.timedelta(days=40)})" in html
    assert f"Not in this allocation: £5.00, no GBP→USD rate for {QUARTER_END} (1 day)." in html
