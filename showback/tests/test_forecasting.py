"""Forecasts: the smoothing on known series, the band, the backtest's MAPE, and the driver
assumptions that planners add (pure, then through the selectors and services)."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from aifinops.core import periods
from aifinops.core.models import AuditEvent
from aifinops.core.templatetags.afo import money
from portfolio.tests.factories import AIModelFactory, ProviderFactory, UseCaseFactory
from showback.analytics import assumptions, forecasting, selectors, services
from showback.models import AssumptionKind, Commitment, DailySpend, ForecastAssumption
from showback.tests.analytics_factories import ForecastAssumptionFactory, daily_spend_rows

D = Decimal
JAN_2024 = datetime.date(2024, 1, 1)
JAN_2025 = datetime.date(2025, 1, 1)


def _history(values, start=JAN_2024):
    return [(periods.add_months(start, i), D(str(v))) for i, v in enumerate(values)]


def test_a_linear_trend_is_extrapolated_bending_slightly_with_the_damping():
    # Given twelve months growing by 10 a month, 100 to 210
    history = _history([100 + 10 * i for i in range(12)])

    # When six months are forecast
    result = forecasting.forecast(history, months=6, start=JAN_2025)

    # Then each month is higher than the one before and within 3 % of the line (damped, so a
    # little under it, more so further out)
    assert result.method == "holt_damped"
    values = [p.value for p in result.points]
    assert values == sorted(values) and len(set(values)) == 6
    for h, value in enumerate(values, start=1):
        line = D(210 + 10 * h)
        assert abs(value - line) / line < D("0.03")
        assert value <= line
    assert result.points[0].month == JAN_2025


def test_a_flat_series_forecasts_its_level_and_the_band_widens_with_the_horizon():
    history = _history([1000, 1010, 990, 1005, 995, 1000, 1002, 998, 1001, 999])
    result = forecasting.forecast(history, months=12, start=datetime.date(2024, 11, 1))

    assert result.has_band
    first, last = result.points[0], result.points[-1]
    assert abs(first.value - 1000) < 15
    assert first.lower < first.value < first.upper
    assert last.upper - last.lower > first.upper - first.lower


def test_two_years_bring_a_season_december_stands_out():
    # Given three years where December doubles
    values = [1000 + 10 * i + (1000 if i % 12 == 11 else 0) for i in range(36)]
    result = forecasting.forecast(_history(values, datetime.date(2022, 1, 1)), months=12, start=JAN_2025)

    assert result.method == "holt_winters_damped"
    by_month = {p.month.month: p.value for p in result.points}
    assert by_month[12] > by_month[11] + 700
    assert by_month[12] > by_month[1] + 700


def test_little_history_repeats_the_last_month_without_a_band_and_none_forecasts_nothing():
    naive = forecasting.forecast(_history([0, 0, 300, 500]), months=6, start=datetime.date(2024, 5, 1))
    assert naive.method == "naive"  # leading months without spend are not history
    assert [p.value for p in naive.points] == [D("500.00")] * 6
    assert not naive.has_band

    young = forecasting.forecast(_history([100, 120, 140, 160]), months=6, start=datetime.date(2024, 5, 1))
    assert young.method == "holt_damped"
    assert not young.has_band  # fewer than six months: the spread of so few errors says little
    assert all(p.lower == p.value == p.upper for p in young.points)

    empty = forecasting.forecast([], months=6, start=JAN_2025)
    assert empty.method == "none"
    assert empty.total == 0


def test_a_first_month_that_began_part_way_counts_at_its_daily_rate():
    history = _history([300, 1000, 1100], datetime.date(2024, 4, 1))
    # Spend began on 21 April: 300 in 10 days of a 30-day month is 900 a month
    assert forecasting.whole_first_month(history, datetime.date(2024, 4, 21))[0] == (
        datetime.date(2024, 4, 1),
        D("900.00"),
    )
    assert forecasting.whole_first_month(history, datetime.date(2024, 4, 1)) == history


def test_the_horizon_is_six_to_twelve_months():
    with pytest.raises(ValueError, match="6 to 12"):
        forecasting.forecast(_history([1, 2, 3]), months=13, start=JAN_2025)


def test_mape_on_a_hand_checked_case():
    # |100-110|/100 = 10 %, |200-180|/200 = 10 %, |50-65|/50 = 30 %; the month of 0 is left out
    assert forecasting.mape([D(100), D(200), D(0), D(50)], [D(110), D(180), D(5), D(65)]) == D("50") / 3
    assert forecasting.mape([D(0)], [D(1)]) is None


def test_the_backtest_rolls_its_origin_and_uses_only_the_months_before_each_cut():
    # Given 100, 120, 90, 150 and a forecaster that repeats the last month it was shown
    seen = []

    def last_month(values, horizon):
        seen.append(list(values))
        return [values[-1]] * horizon

    # When backtested one month ahead from every cut after the first month
    result = forecasting.backtest(
        _history([100, 120, 90, 150]), origins=6, horizon=1, forecaster=last_month, min_train=1
    )

    # Then it forecast 120 from [100], 90 from [100, 120], 150 from [100, 120, 90]:
    # errors 20/120, 30/90, 60/150, a MAPE of 30 %
    assert seen == [[D(100)], [D(100), D(120)], [D(100), D(120), D(90)]]
    assert result.origins == 3
    assert result.mape == D("30")


def test_the_backtest_of_the_real_method_reads_up_to_three_months_ahead():
    result = forecasting.backtest(_history([100 + 10 * i for i in range(12)]))
    assert result.origins == 6
    assert len(result.pairs) == 3 + 3 + 3 + 3 + 2 + 1
    assert result.mape < 3


# Assumptions, pure.


def _flat(months=6):
    return forecasting.forecast(
        _history([1000] * 6, datetime.date(2024, 7, 1)), months=months, start=JAN_2025
    )


def test_adoption_growth_compounds_from_its_month():
    base = _flat()
    grown = assumptions.adjust(
        base,
        [
            assumptions.Adjustment(
                AssumptionKind.ADOPTION_GROWTH, datetime.date(2025, 2, 10), growth_pct=D(10)
            )
        ],
    )

    assert grown.adjusted
    assert [p.value for p in grown.points] == [
        D("1000.00"),
        D("1000.00"),
        D("1100.00"),
        D("1210.00"),
        D("1331.00"),
        D("1464.10"),
    ]


def test_a_launch_steps_up_to_its_level_from_its_day_and_a_switch_scales_the_share_that_moves():
    base = _flat()
    launch = assumptions.Adjustment(AssumptionKind.LAUNCH_DATE, datetime.date(2025, 3, 1), level=D(4000))
    # Half the spend moves to a model at a quarter of the price, from mid-April (April has 30 days)
    switch = assumptions.Adjustment(
        AssumptionKind.MODEL_SWITCH, datetime.date(2025, 4, 16), share=D("0.5"), price_ratio=D("0.25")
    )

    adjusted = assumptions.adjust(base, [switch, launch])

    values = [p.value for p in adjusted.points]
    assert values[:2] == [D("1000.00"), D("1000.00")]
    assert values[2] == D("4000.00")
    assert values[3] == D("3250.00")  # 4000 x (1 - 15/30 x 0.5 x 0.75)
    assert values[4] == D("2500.00")  # 4000 x (1 - 0.5 x 0.75)


def test_the_price_ratio_of_a_switch_follows_the_token_mix():
    # 3M input and 1M output tokens at 2 / 8 a million cost 14; at 0.4 / 1.6 they cost 2.8
    mix = [assumptions.ModelMix(D(2), D(8), 3_000_000, 1_000_000, D(14))]
    assert assumptions.switch_price_ratio(mix, D("0.4"), D("1.6")) == D("0.2")
    # With no token counts, 4 input tokens per output token are assumed
    unknown = [assumptions.ModelMix(D(2), D(8), 0, 0, D(100))]
    assert assumptions.switch_price_ratio(unknown, D(1), D(8)) == D(12) / D(16)


# Through the database.


def _this_month():
    return timezone.now().date().replace(day=1)


@pytest.fixture
def spending(cast):
    """Support summarizer has spent 1,000 a month on GPT-4.1 in each of the twelve complete months
    before this one (a day's cost of 1000 / days in the month, rounded), 300 input and 100 output
    tokens a call."""
    provider = ProviderFactory(name="OpenAI", slug="openai")
    gpt = AIModelFactory(
        provider=provider,
        key="gpt-4.1",
        name="GPT-4.1",
        input_price_per_mtok=D("2"),
        output_price_per_mtok=D("8"),
    )
    mini = AIModelFactory(
        provider=provider,
        key="gpt-4.1-mini",
        name="GPT-4.1 mini",
        input_price_per_mtok=D("0.4"),
        output_price_per_mtok=D("1.6"),
    )
    this_month = _this_month()
    rows = []
    for m in range(-12, 0):
        month = periods.add_months(this_month, m)
        days = (periods.add_months(month, 1) - month).days
        per_day = (D(1000) / days).quantize(D("0.0001"))
        rows += daily_spend_rows(
            use_case=cast.use_case_a,
            provider=provider,
            model=gpt,
            costs=[(per_day, 1000, 300_000, 0, 100_000)] * days,
            start=month,
        )
    DailySpend.objects.bulk_create(rows)
    return {"gpt": gpt, "mini": mini, "month": this_month}


def test_the_use_case_forecast_reads_complete_months_and_assumptions_change_it(cast, spending):
    this_month = spending["month"]
    view = selectors.forecast_get(user=cast.owner, use_case=cast.use_case_a, months=6)
    assert len(view.history.months) == 12
    assert view.history.currency == "USD"
    assert abs(view.forecast.points[0].value - 1000) < 1
    assert not view.forecast.adjusted

    # When the owner plans a switch to the mini model in two months and 10 % growth a month later
    services.forecast_assumption_create(
        actor=cast.owner,
        use_case=cast.use_case_a,
        kind=AssumptionKind.MODEL_SWITCH,
        effective_from=periods.add_months(this_month, 2),
        target_model=spending["mini"],
    )
    services.forecast_assumption_create(
        actor=cast.owner,
        use_case=cast.use_case_a,
        kind=AssumptionKind.ADOPTION_GROWTH,
        effective_from=periods.add_months(this_month, 3),
        growth_pct=D("10"),
        note="Rollout to the second support region",
    )
    view = selectors.forecast_get(user=cast.owner, use_case=cast.use_case_a, months=6)

    # Then from the switch each month costs a fifth (the mini model's price for the same tokens),
    # growing 10 % a month from the month after the growth starts
    values = [p.value for p in view.forecast.points]
    assert abs(values[1] - 1000) < 1
    assert abs(values[2] - 200) < 1
    assert abs(values[3] - 200) < 1
    assert abs(values[4] - 220) < 1
    assert [p.adjustment is not None for p in view.assumptions] == [True, True]
    assert "moves to GPT-4.1 mini at 0.20 times the price" in view.assumptions[0].effect
    assert AuditEvent.objects.filter(action="forecast_assumption.create").count() == 2


def test_the_portfolio_forecast_adds_what_a_use_cases_assumptions_change(cast, spending):
    ForecastAssumptionFactory(
        use_case=cast.use_case_a,
        kind=AssumptionKind.ADOPTION_GROWTH,
        effective_from=spending["month"],
        growth_pct=D(50),
    )

    view = selectors.forecast_get(user=cast.finance, months=6)

    assert view.forecast.adjusted
    assert [p.assumption.use_case for p in view.use_case_assumptions] == [cast.use_case_a]
    assert view.forecast.points[1].value - view.base.points[1].value > 400  # 1000 x 1.5 - 1000


def test_a_team_member_sees_the_forecast_of_their_teams_spend_only(cast, spending):
    view = selectors.forecast_get(user=cast.requester_b, months=6)
    assert view.history.months == []
    assert view.forecast.total == 0


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"kind": AssumptionKind.ADOPTION_GROWTH, "effective_from": datetime.date(2025, 3, 1)}, "growth_pct"),
        (
            {"kind": AssumptionKind.ADOPTION_GROWTH, "effective_from": None, "growth_pct": D(5)},
            "effective_from",
        ),
        (
            {
                "kind": AssumptionKind.ADOPTION_GROWTH,
                "effective_from": datetime.date(2025, 3, 1),
                "growth_pct": D(-100),
            },
            "growth_pct",
        ),
        ({"kind": AssumptionKind.MODEL_SWITCH, "effective_from": datetime.date(2025, 3, 1)}, "target_model"),
        ({"kind": AssumptionKind.LAUNCH_DATE, "effective_from": datetime.date(2025, 3, 1)}, "use_case"),
    ],
)
def test_a_bad_portfolio_assumption_names_its_field(cast, values, field):
    if values["effective_from"]:
        values["effective_from"] = periods.add_months(_this_month(), 2)
    with pytest.raises(ValidationError) as err:
        services.forecast_assumption_create(actor=cast.finance, **values)
    assert field in err.value.message_dict
    assert not ForecastAssumption.objects.exists()


def test_a_portfolio_switch_names_the_replaced_model(cast, spending):
    with pytest.raises(ValidationError) as err:
        services.forecast_assumption_create(
            actor=cast.finance,
            kind=AssumptionKind.MODEL_SWITCH,
            effective_from=timezone.now().date(),
            target_model=spending["mini"],
        )
    assert "from_model" in err.value.message_dict


def test_who_plans(cast):
    today = timezone.now().date()
    growth = {"kind": AssumptionKind.ADOPTION_GROWTH, "effective_from": today, "growth_pct": D(5)}
    with pytest.raises(PermissionDenied):
        services.forecast_assumption_create(actor=cast.requester_a, use_case=cast.use_case_a, **growth)
    with pytest.raises(PermissionDenied):
        services.forecast_assumption_create(actor=cast.owner, **growth)
    with pytest.raises(PermissionDenied):
        services.forecast_assumption_create(actor=cast.owner, use_case=cast.use_case_b, **growth)

    mine = services.forecast_assumption_create(actor=cast.owner, use_case=cast.use_case_a, **growth)
    services.forecast_assumption_create(actor=cast.finance, **growth)
    mine_id = mine.pk
    services.forecast_assumption_delete(actor=cast.owner, assumption=mine)

    assert ForecastAssumption.objects.count() == 1
    assert AuditEvent.objects.filter(action="forecast_assumption.delete", object_id=str(mine_id)).exists()


def test_a_launch_without_an_expected_cost_needs_a_step(cast):
    idea = UseCaseFactory(team=cast.team_a, business_owner=cast.owner, expected_monthly_cost=D(0))
    with pytest.raises(ValidationError) as err:
        services.forecast_assumption_create(
            actor=cast.owner,
            use_case=idea,
            kind=AssumptionKind.LAUNCH_DATE,
            effective_from=timezone.now().date(),
        )
    assert "growth_pct" in err.value.message_dict


def test_the_portfolio_forecast_includes_the_committed_cost_of_future_months_of_a_term(cast, spending, login):
    # Given a commitment entered by hand: 6,000 over months 2 to 4 from now (2,000 each, by days),
    # and one imported from FOCUS files (billed, so already in the history) over the same months
    this_month = spending["month"]
    start, end = periods.add_months(this_month, 2), periods.month_end(periods.add_months(this_month, 4))
    provider = spending["gpt"].provider
    Commitment.objects.create(
        name="PTU",
        provider=provider,
        category="spend",
        term_start=start,
        term_end=end,
        committed_amount=D(6000),
    )
    Commitment.objects.create(
        name="Billed",
        provider=provider,
        category="spend",
        term_start=start,
        term_end=end,
        committed_amount=D(9000),
        source="focus",
        commitment_id="cc-9",
    )
    schedule = dict(Commitment.objects.get(name="PTU").schedule())

    # When finance reads the portfolio forecast of the next six months
    view = selectors.forecast_get(user=cast.finance, months=6)

    # Then each month of the term carries its committed cost on top of the usage forecast, and only those
    for point, base in zip(view.forecast.points, view.base.points, strict=True):
        assert point.value - base.value == schedule.get(point.month, 0)
    assert (
        sum(
            point.value - base.value
            for point, base in zip(view.forecast.points, view.base.points, strict=True)
        )
        == 6000
    )
    page = login(cast.finance).get(reverse("analytics:forecast_portfolio"))
    assert 'data-testid="committed"' in page.text
    assert f"{start:%b %Y} {money(schedule[start])}" in page.text
    # A use case's own forecast is its usage alone
    own = selectors.forecast_get(user=cast.owner, use_case=cast.use_case_a, months=6)
    assert own.committed == [] and own.forecast.points[3].value == own.base.points[3].value
