"""Issue 19: a use case's value tab counts spend in every currency, converted as showback's cost per
outcome converts it, and names what has no rate instead of counting it at 1. On the real PostgreSQL;
figures checked against an independent sum of row x the rate in force on the row's day."""

import datetime
import re
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aifinops.core import periods
from portfolio import selectors
from portfolio.choices import Stage
from portfolio.gates import rules as gates
from portfolio.models import CostLine, UseCase, ValueSignal
from portfolio.value import economics
from showback import selectors as showback
from showback.models import ExchangeRate
from showback.tests.factories import DailySpendFactory

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
CENT = Decimal("0.01")


def _month():
    return periods.months_back(periods.today(), 1)


def _rate(base, quote, value, valid_from):
    ExchangeRate.objects.create(
        base=base, quote=quote, rate=Decimal(value), valid_from=valid_from, source="ECB"
    )


def _spend(use_case, currency, amount, on):
    DailySpendFactory(
        use_case=use_case, team=use_case.team, date=on, effective_cost=Decimal(amount), currency=currency
    )


def _cents(amount):
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _text(response):
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


@pytest.fixture
def billed_twice(cast):
    """A USD use case billed in USD and EUR last month, the EUR rate changing mid-month, with other
    costs in USD and EUR and a value signal; and the independent figures in USD."""
    uc, month = cast.use_case_a, _month()
    _rate("EUR", "USD", "1.10", month - 20 * DAY)
    _rate("USD", "EUR", "0.8", month + 10 * DAY)  # only the inverse: 1 EUR = 1.25 USD from the 11th
    _spend(uc, "USD", "300.00", month)
    _spend(uc, "EUR", "100.00", month + 2 * DAY)  # at 1.10
    _spend(uc, "EUR", "41.37", month + 15 * DAY)  # at 1.25
    _spend(uc, "EUR", "500.00", month - 3 * DAY)  # the month before: not in this month
    CostLine.objects.create(use_case=uc, month=month, category="human_review", amount="150", currency="USD")
    CostLine.objects.create(use_case=uc, month=month, category="evaluation", amount="40", currency="EUR")
    ValueSignal.objects.create(
        use_case=uc, month=month, outcomes=700, value_per_outcome="1.20", currency="USD"
    )
    ai = Decimal("300.00") + Decimal("100.00") * Decimal("1.10") + Decimal("41.37") * Decimal("1.25")
    other = Decimal("150") + Decimal("40") * Decimal("1.10")  # at the rate of the month's first day
    return {"use_case": uc, "month": month, "ai": ai, "other": other, "outcomes": 700}


def test_the_tab_converts_every_currency_at_each_days_rate(billed_twice):
    # Given spend in USD and EUR at two rates, other costs in both currencies and a value signal
    uc, month = billed_twice["use_case"], billed_twice["month"]

    # When the value tab reads its unit economics for the month
    e = economics.unit_economics(use_case=uc, month=month)

    # Then every amount is counted in USD, each row at its day's rate, nothing left out
    assert e.currency == "USD" and e.complete and e.converted
    assert e.model_cost == billed_twice["ai"]
    assert e.hidden_costs == billed_twice["other"]
    assert e.cost_per_outcome_model == _cents(billed_twice["ai"] / 700)
    assert e.cost_per_outcome_full == _cents((billed_twice["ai"] + billed_twice["other"]) / 700)
    assert e.value_per_outcome == Decimal("1.20")
    assert e.viable is ((billed_twice["ai"] + billed_twice["other"]) / 700 < Decimal("1.20"))
    assert dict(e.spend_billed) == {"USD": Decimal("300.00"), "EUR": Decimal("141.37")}


def test_the_tab_shows_the_converted_figures_and_says_how(billed_twice, login, cast):
    # When the owner opens the value tab (last month: this month has no value signal yet)
    body = _text(login(cast.owner).get(billed_twice["use_case"].get_tab_url("value")))

    # Then it shows the cost per outcome with the euros counted, and says how they were converted
    full = _cents((billed_twice["ai"] + billed_twice["other"]) / 700)
    assert f"Viable: full cost per outcome ${full} is below value per outcome $1.20." in body
    assert "AI spend billed as $300.00 + €141.37 is converted at each day's rate" in body


def test_the_tab_gives_showbacks_cost_per_outcome_for_the_same_use_case_and_month(billed_twice, cast):
    # Given the use case's currency is the reporting currency (USD)
    uc, month = billed_twice["use_case"], billed_twice["month"]
    end = periods.month_end(month)

    # When the tab and showback's unit-economics selector (the showback card, the dashboard) read it
    tab = economics.unit_economics(use_case=uc, month=month)
    qs = showback.daily_spend_queryset(user=cast.finance).filter(date__gte=month, date__lte=end)
    row = next(
        r
        for r in showback.unit_economics_list(qs, user=cast.finance, start=month, end=end, into="USD").rows
        if r["use_case"].pk == uc.pk
    )

    # Then they give the same figures, to the cent
    assert tab.cost_per_outcome_model == _cents(row["cost_per_outcome"])
    assert tab.cost_per_outcome_full == _cents(row["all_in_cost_per_outcome"])
    assert tab.value_per_outcome == row["value_per_outcome"]
    assert tab.viable is row["viable"]


def test_a_use_case_in_euros_converts_its_dollars_into_euros(cast):
    # Given a EUR use case billed partly in USD
    UseCase.objects.filter(pk=cast.use_case_a.pk).update(currency="EUR")
    uc, month = UseCase.objects.get(pk=cast.use_case_a.pk), _month()
    _rate("EUR", "USD", "1.25", month - DAY)
    _spend(uc, "EUR", "80", month)
    _spend(uc, "USD", "50", month + DAY)  # 40 EUR
    ValueSignal.objects.create(use_case=uc, month=month, outcomes=100, value_per_outcome="3", currency="USD")

    e = economics.unit_economics(use_case=uc, month=month)

    # Then the tab is in euros: the dollars at the inverse rate, the value per outcome too
    assert (e.currency, e.model_cost) == ("EUR", Decimal("120"))
    assert e.cost_per_outcome_model == Decimal("1.20")
    assert e.value_per_outcome == Decimal("2.4")
    assert e.viable is True


def test_spend_without_a_rate_is_named_and_never_counted_at_one(login, cast):
    # Given EUR spend on a day with no EUR->USD rate
    uc, month = cast.use_case_a, _month()
    _spend(uc, "USD", "300", month)
    _spend(uc, "EUR", "999", month + 4 * DAY)
    ValueSignal.objects.create(use_case=uc, month=month, outcomes=1000, value_per_outcome="5")

    e = economics.unit_economics(use_case=uc, month=month)

    # Then the figure is incomplete: the EUR is named, the ratios it would change are empty
    assert not e.complete
    assert [(m.currency, m.amount, m.first) for m in e.missing_spend] == [
        ("EUR", Decimal("999"), month + 4 * DAY)
    ]
    assert e.model_cost == Decimal("300")
    assert e.cost_per_outcome_model is None and e.cost_per_outcome_full is None
    assert e.viable is None and e.margin_per_outcome is None

    # And the tab says so; the gate of scale cannot pass on it
    body = _text(login(cast.owner).get(uc.get_tab_url("value")))
    day = (month + 4 * DAY).isoformat()
    assert f"Incomplete: some amounts of {month:%B %Y} have no exchange rate into USD" in body
    assert f"€999.00 (no EUR→USD rate for {day} (1 day))" in body
    assert "Viable:" not in body


def test_other_costs_and_value_without_a_rate_are_named(cast):
    uc, month = cast.use_case_a, _month()
    _spend(uc, "USD", "300", month)
    CostLine.objects.create(use_case=uc, month=month, category="evaluation", amount="40", currency="GBP")
    ValueSignal.objects.create(use_case=uc, month=month, outcomes=100, value_per_outcome="9", currency="CHF")

    e = economics.unit_economics(use_case=uc, month=month)

    assert e.cost_per_outcome_model == Decimal("3.00")  # AI spend is complete
    assert e.cost_per_outcome_full is None
    assert [m.currency for m in e.missing_costs] == ["GBP"]
    assert [m.currency for m in e.missing_value] == ["CHF"]
    assert e.value_per_outcome is None and e.viable is None


def test_expectations_stand_in_and_are_flagged_before_any_spend(cast):
    e = economics.unit_economics(use_case=cast.use_case_a, month=_month())

    assert e.model_cost_expected and e.outcomes_expected and e.value_expected
    assert e.model_cost == Decimal("1000.00") and e.complete
    assert e.viable is True


# The gate that reads `viable`.


def _margin_gate(use_case):
    use_case = UseCase.objects.get(pk=use_case.pk)
    gate = selectors.stage_gate(use_case=use_case, stage=Stage.SCALE)
    return next(r for r in gate.results if r.code == "margin_target_met")


@pytest.mark.parametrize(
    ("ai", "other", "met"),
    [("2000", "0", True), ("2000", "499.99", True), ("2000", "500", False), ("2600", "0", False)],
)
def test_the_margin_gate_on_single_currency_data_compares_full_cost_with_value_as_before(
    cast, ai, other, met
):
    # Given a use case at launch with one currency: 1,000 outcomes worth 2.50 each
    uc = cast.use_case_a
    UseCase.objects.filter(pk=uc.pk).update(stage=Stage.LAUNCH)
    _spend(uc, "USD", ai, _month())
    CostLine.objects.create(use_case=uc, month=_month(), category="evaluation", amount=other, currency="USD")
    ValueSignal.objects.create(use_case=uc, month=_month(), outcomes=1000, value_per_outcome="2.50")

    # Then the margin item is met exactly when the full cost is below 2,500
    result = _margin_gate(uc)
    assert result.met is met
    assert (Decimal(ai) + Decimal(other) < 2500) is met
    if not met:
        assert "Full cost per outcome is not below value per outcome" in result.missing


def test_the_margin_gate_is_open_while_a_rate_is_missing(cast):
    uc = cast.use_case_a
    UseCase.objects.filter(pk=uc.pk).update(stage=Stage.LAUNCH)
    _spend(uc, "USD", "100", _month())
    _spend(uc, "EUR", "1", _month())  # cheap, but without a rate it is not counted as 1
    ValueSignal.objects.create(use_case=uc, month=_month(), outcomes=1000, value_per_outcome="2.50")

    assert not _margin_gate(uc).met
    assert gates.ITEMS_BY_CODE["margin_target_met"].stage == Stage.SCALE


# Queries.


def test_the_value_tab_keeps_a_constant_number_of_queries_across_currencies(login, cast):
    uc, month = cast.use_case_a, _month()
    client = login(cast.owner)
    _rate("EUR", "USD", "1.10", month - 40 * DAY)
    # Foreign spend in each month the page reads from the start: a sum all in one currency needs
    # no rate, so the page's spend summary reads the rates only once another currency is billed.
    _spend(uc, "EUR", "10", month)
    _spend(uc, "EUR", "10", periods.today())
    ValueSignal.objects.create(use_case=uc, month=month, outcomes=10, value_per_outcome="2")

    def count():
        with CaptureQueriesContext(connection) as page:
            assert client.get(uc.get_tab_url("value")).status_code == 200
        return len(page.captured_queries)

    few = count()
    for n in range(1, 40):
        day = periods.months_back(periods.today(), n % 6) + (n % 20) * DAY
        _rate("EUR", "USD", f"1.{10 + n}", month - (40 - n) * DAY)
        _rate("GBP", "USD", f"1.{30 + n}", month - (40 - n) * DAY)
        _spend(uc, ["EUR", "USD", "GBP"][n % 3], str(n), day)
        CostLine.objects.get_or_create(
            use_case=uc,
            month=periods.months_back(periods.today(), n % 6),
            category=["evaluation", "enablement", "observability"][n % 3],
            defaults={"amount": n, "currency": ["EUR", "USD"][n % 2]},
        )
        ValueSignal.objects.get_or_create(
            use_case=uc, month=periods.months_back(periods.today(), n % 6), defaults={"outcomes": 5}
        )

    assert count() == few
