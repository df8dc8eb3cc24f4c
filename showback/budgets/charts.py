"""The burn-down chart of a budget's period, built with plotly and handed to the template as JSON."""

import datetime
from decimal import Decimal

import plotly.graph_objects as go

from aifinops.core import plotting


def budget_burn_chart(daily, status, *, title):
    """Cumulative spend day by day, the budget line, and the linear projection to period end."""
    by_day = dict(daily)
    days, cumulative, total = [], [], Decimal("0")
    day = status.period_start
    while day <= status.as_of:
        total += by_day.get(day, Decimal("0"))
        days.append(day)
        cumulative.append(float(total))
        day += datetime.timedelta(days=1)
    fig = go.Figure()
    fig.add_scatter(
        x=days,
        y=cumulative,
        mode="lines",
        name="Spend to date",
        line={"width": 3},
        hovertemplate="%{x|%d %b}: %{y:,.2f} " + status.currency + "<extra></extra>",
    )
    fig.add_scatter(
        x=[status.as_of, status.period_end],
        y=[float(status.actual), float(status.projected)],
        mode="lines",
        name="Projection (linear)",
        line={"dash": "dot"},
        hovertemplate="%{x|%d %b}: %{y:,.2f} " + status.currency + "<extra></extra>",
    )
    fig.add_scatter(
        x=[status.period_start, status.period_end],
        y=[float(status.amount)] * 2,
        mode="lines",
        name="Budget",
        line={"color": "#b02a37"},
        hovertemplate="Budget: %{y:,.2f} " + status.currency + "<extra></extra>",
    )
    fig.update_layout(
        title=title,
        margin={"l": 60, "r": 20, "t": 50, "b": 40},
        height=320,
        yaxis={"title": f"Effective cost ({status.currency})", "tickformat": ",.0f", "rangemode": "tozero"},
        xaxis={"range": [status.period_start, status.period_end]},
        legend={"orientation": "h", "y": -0.2},
        template="plotly_white",
    )
    return plotting.figure_json(fig)
