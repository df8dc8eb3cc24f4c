"""The commitment page's chart: committed against used, month by month (plotly figure as JSON)."""

from aifinops.core.plotting import Fig, to_json


def utilisation_chart(view):
    months = view.months
    if not months:
        return None
    currency = view.commitment.currency
    states = {m.month: state for m, state in view.month_rows()}
    x = [m.month.strftime("%b %Y") for m in months]

    def part(value, *, when):
        return [float(value(m)) if states[m.month] in when else None for m in months]

    done = ("done", "current")
    fig = Fig()
    fig.add_bar(
        x=x,
        y=part(lambda m: m.used, when=done),
        name="Used",
        marker={"color": "#198754"},
        hovertemplate="%{x}: %{y:,.0f} " + currency + " used<extra></extra>",
    )
    fig.add_bar(
        x=x,
        y=part(lambda m: m.committed - m.used, when=("done",)),
        name="Unused (waste)",
        marker={"color": "#dc3545"},
        hovertemplate="%{x}: %{y:,.0f} " + currency + " unused<extra></extra>",
    )
    fig.add_bar(
        x=x,
        y=part(
            lambda m: m.committed - m.used if states[m.month] == "current" else m.committed,
            when=("current", "to come"),
        ),
        name="Committed, to come",
        marker={"color": "#ced4da"},
        hovertemplate="%{x}: %{y:,.0f} " + currency + " still to use<extra></extra>",
    )
    fig.add_scatter(
        x=x,
        y=part(lambda m: m.draw, when=done),
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
