"""Charts built with plotly in Python and handed to templates as JSON."""

import plotly.graph_objects as go

from aifinops.core import plotting


def monthly_trend_chart(trend, *, title="AI spend per month"):
    """The bars of a monthly trend in the reporting currency (as selectors.monthly_trend gives it);
    the page names its rates and the spend without one under it."""
    currency = trend["currency"]
    fig = go.Figure()
    fig.add_bar(
        x=[m.strftime("%b %Y") for m, _ in trend["months"]],
        y=[float(amount) for _, amount in trend["months"]],
        name=currency,
        hovertemplate="%{x}: %{y:,.0f} " + currency + "<extra></extra>",
    )
    fig.update_layout(
        title=f"{title} ({currency})",
        margin={"l": 50, "r": 20, "t": 50, "b": 40},
        height=320,
        yaxis={"title": f"Effective cost ({currency})", "tickformat": ",.0f"},
        showlegend=False,
        template="plotly_white",
    )
    return plotting.figure_json(fig)


def breakdown_chart(rows, *, title):
    fig = go.Figure(
        go.Bar(
            x=[float(r["total"]) for r in rows][::-1],
            y=[r["label"] for r in rows][::-1],
            orientation="h",
            hovertemplate="%{y}: %{x:,.0f}<extra></extra>",
        )
    )
    fig.update_layout(
        title=title,
        height=max(220, 28 * len(rows) + 80),
        margin={"l": 160, "r": 20, "t": 50, "b": 30},
        template="plotly_white",
        xaxis={"tickformat": ",.0f"},
    )
    return plotting.figure_json(fig)


def breakdown_trend_chart(trend, *, dimension_label):
    """Stacked monthly bars of the top series of a breakdown, in one currency."""
    currency = trend["currency"]
    months = [m.strftime("%b %Y") for m in trend["months"]]
    fig = go.Figure()
    for label, values in trend["series"]:
        fig.add_bar(
            x=months,
            y=[float(v) for v in values],
            name=str(label),
            hovertemplate="%{x} · %{fullData.name}: %{y:,.0f} " + currency + "<extra></extra>",
        )
    fig.update_layout(
        title=f"Spend per month by {dimension_label.lower()} ({currency})",
        barmode="stack",
        margin={"l": 50, "r": 20, "t": 50, "b": 40},
        height=340,
        yaxis={"title": f"Effective cost ({currency})", "tickformat": ",.0f"},
        legend={"orientation": "h", "y": -0.15},
        template="plotly_white",
    )
    return plotting.figure_json(fig)
