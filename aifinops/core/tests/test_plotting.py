"""Charts and figures correct for any totals: negative (credits, refunds), tiny and zero values get
sensible axes, signs and percentages, decided in one place for every chart."""

import datetime
import json
from decimal import Decimal

import pytest

from aifinops.core.plotting import Fig, fit_value_axes, to_json, value_axis
from aifinops.core.templatetags.afo import money, percent
from showback import charts as showback_charts


def _ticks(axis, n=5):
    """The tick labels plotly would draw: evenly spaced values over the range, formatted."""
    low, high = axis["range"]
    decimals = int(axis["tickformat"].split(".")[1].rstrip("~f"))
    return [f"{low + (high - low) * i / n:,.{decimals}f}" for i in range(n + 1)]


def _height_share(value, axis):
    low, high = axis["range"]
    return abs(value) / (high - low)


def test_a_lone_credit_is_a_small_bar_below_a_zero_line_not_a_full_height_bar():
    axis = value_axis([-0.15])
    assert axis["range"][0] < -0.15 < 0 < axis["range"][1]
    assert _height_share(-0.15, axis) < 0.85
    assert len(set(_ticks(axis))) == 6, _ticks(axis)


def test_all_zero_values_get_an_axis_whose_ticks_differ():
    axis = value_axis([0, 0, 0])
    assert axis["range"] == [0, 1]
    assert len(set(_ticks(axis))) == 6


@pytest.mark.parametrize("values", [[0.003, 0.001], [0.15, 0.02], [4.5, 1.25], [1200, 30], [-500, 20000]])
def test_tiny_and_large_values_get_ticks_that_differ_and_a_range_that_holds_them(values):
    axis = value_axis(values)
    assert axis["range"][0] <= min([0, *values]) and axis["range"][1] >= max(values)
    assert len(set(_ticks(axis))) == 6, _ticks(axis)


def test_every_chart_goes_through_the_fitting_stacked_credits_go_below_zero():
    # Given a stacked monthly trend where one series is a credit
    trend = {
        "currency": "USD",
        "months": [datetime.date(2026, 9, 1)],
        "series": [("Oracle", [Decimal("-0.15")]), ("AWS", [Decimal("0.10")])],
    }

    figure = json.loads(showback_charts.breakdown_trend_chart(trend, dimension_label="Provider"))

    layout = figure["layout"]
    assert layout["barmode"] == "relative"
    assert layout["yaxis"]["range"][0] < -0.15 and layout["yaxis"]["range"][1] > 0.10
    assert layout["yaxis"]["tickformat"] != ",.0f"
    assert "%{y:,.2f}" in figure["data"][0]["hovertemplate"]


def test_the_plain_dict_charts_are_fitted_too():
    fig = Fig({"type": "bar", "x": ["a"], "y": [0.0]})
    figure = json.loads(to_json(fig, yaxis={"tickformat": ",.0f", "rangemode": "tozero"}))
    assert figure["layout"]["yaxis"]["range"] == [0, 1]
    assert "rangemode" not in figure["layout"]["yaxis"]


def test_an_axis_with_its_own_range_or_a_percent_format_is_left_alone():
    figure = fit_value_axes(
        {
            "data": [{"type": "bar", "x": ["a"], "y": [3]}],
            "layout": {"yaxis": {"range": [0, 100]}, "xaxis": {}},
        }
    )
    assert figure["layout"]["yaxis"] == {"range": [0, 100]}
    percent_axis = fit_value_axes(
        {"data": [{"type": "bar", "x": ["a"], "y": [0.3]}], "layout": {"yaxis": {"tickformat": ".0%"}}}
    )
    assert percent_axis["layout"]["yaxis"] == {"tickformat": ".0%"}


@pytest.mark.parametrize(
    ("value", "places", "shown"),
    [
        (-0.3, 0, ">-1 %"),
        (0.3, 0, "<1 %"),
        (0, 0, "0 %"),
        (Decimal("-0.00"), 0, "0 %"),
        (-12.46, 0, "-12 %"),
        (99.95, 1, "100.0 %"),
        (0.04, 1, "<0.1 %"),
        (None, 0, "—"),
        (1234.5, 0, "1,235 %"),
    ],
)
def test_percentages_never_read_minus_zero(value, places, shown):
    assert percent(value, places) == shown
    assert "-0 %" not in percent(value, places)


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (Decimal("-0.15"), "-$0.15"),
        (Decimal("-0.001"), "$0.00"),
        (Decimal("0"), "$0.00"),
        (-1234.5, "-$1,234.50"),
    ],
)
def test_money_carries_its_sign_and_never_reads_minus_zero(amount, shown):
    assert money(amount, "USD") == shown
