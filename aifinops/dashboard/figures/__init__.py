"""The dashboard's figures, one function per chart, each derived from `DashboardData`.

Every figure is a `Dataset`: the rows its chart draws and its CSV download holds (all currencies;
a chart draws the main one and says what it leaves out), plus a few headline numbers. The figures
live in spend.py (where the money goes) and portfolio.py (the portfolio itself).
"""

from decimal import Decimal

from ..common import Dataset, _growth, _share
from ..data import PREMIUM_TIERS, ZERO, DashboardData
from .portfolio import (
    backlog_figure,
    build_vs_buy_figure,
    build_vs_buy_rows,
    decisions_figure,
    funnel_figure,
    risk_figure,
    unit_economics_figure,
)
from .spend import (
    budget_figure,
    overlap_figure,
    premium_figure,
    top_cost_figure,
    top_growth_figure,
    trend_figure,
    unowned_figure,
)

__all__ = ["Dataset", "build_vs_buy_rows"]


FIGURES = {
    "budget": budget_figure,
    "trend": trend_figure,
    "funnel": funnel_figure,
    "risk": risk_figure,
    "premium": premium_figure,
    "overlap": overlap_figure,
    "top_cost": top_cost_figure,
    "top_growth": top_growth_figure,
    "unit_economics": unit_economics_figure,
    "unowned": unowned_figure,
    "backlog": backlog_figure,
    "decisions": decisions_figure,
    "build_vs_buy": build_vs_buy_figure,
}


def figure_get(data: DashboardData, key: str) -> Dataset:
    return FIGURES[key](data)


def figures_all(data: DashboardData) -> dict[str, Dataset]:
    return {key: build(data) for key, build in FIGURES.items()}


def headline(data: DashboardData) -> dict:
    """The figures across the top of the page, in the reporting currency (each day at its rate, as
    the trend, the top use cases, the premium share and unattributed spend)."""
    reporting = data.reporting
    cents = Decimal("0.01")
    total = reporting.amount.quantize(cents)
    before = data.reporting_before.amount.quantize(cents)
    premium = sum(
        data.reporting_sum(lambda g: None, where=lambda g: g["model_tier"] in PREMIUM_TIERS).values(), ZERO
    ).quantize(cents)
    unattributed = sum(
        data.reporting_sum(lambda g: None, where=lambda g: g["use_case_id"] is None).values(), ZERO
    ).quantize(cents)
    return {
        "currency": reporting.currency,
        "total": total,
        "before": before,
        "growth": _growth(total, before),
        "reporting": reporting,
        "share_currency": data.currency,
        "premium_share": _share(premium, total),
        "unattributed_share": _share(unattributed, total),
        "other_currencies": {c: v for c, v in sorted(data.totals.items()) if c != reporting.currency and v},
    }
