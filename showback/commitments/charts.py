"""The commitment page's chart: committed against used, month by month (plotly figure as JSON)."""

from aifinops.core.plotting import Fig, to_json


def utilisation_chart(view):
    months = view.months
    if not months:
        return None
    currency = view.commitment.currency
    x = [m.month.strftime("%b %Y") for m in months]
    fig = Fig()
    fig.add_bar(
        x=x,
        y=[float(m.used) for m in months],
        name="Used",
        marker={"color": "#198754"},
        hovertemplate="%{x}: %{y:,.0f} " + currency + " used<extra></extra>",
    )
    fig.add_bar(
        x=x,
        y=[float(m.committed - m.used) for m in months],
        name="Unused (waste)",
        marker={"color": "#dc3545"},
        hovertemplate="%{x}: %{y:,.0f} " + currency + " unused<extra></extra>",
    )
    fig.add_scatter(
        x=x,
        y=[float(m.draw) for m in months],
        name="Covered usage",
        mode="lines+markers",
        line={"color": "#212529"},
        hovertemplate="%{x}: %{y:,.0f} " + currency + " of covered usage<extra></extra>",
    )
    return to_json(
        fig,
        barmode="stack",
        margin={"l": 60, "r": 20, "t": 30, "b": 40},
        height=300,
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0},
        yaxis={"title": {"text": currency}, "tickformat": ",.0f"},
    )
