"""Charts of the portfolio pages, built with plotly in Python and handed to templates as JSON."""

import plotly.graph_objects as go

from aifinops.core import plotting


def _point(value):
    # Plotly draws floats; the money stays Decimal everywhere else.
    return None if value is None else float(value)


def unit_economics_chart(history, *, currency):
    """Model-only and full cost per outcome against value per outcome, month by month.

    Months whose figures are partly expectations are drawn with open markers.
    """
    months = [e.month.strftime("%b %Y") for e in history]
    notes = ["expected figures" if e.has_expectations else "measured" for e in history]
    symbols = ["circle-open" if e.has_expectations else "circle" for e in history]
    fig = go.Figure()
    for name, values, dash in (
        ("Cost per outcome (model only)", [e.cost_per_outcome_model for e in history], "dot"),
        ("Cost per outcome (full)", [e.cost_per_outcome_full for e in history], "solid"),
        ("Value per outcome", [e.value_per_outcome for e in history], "dash"),
    ):
        fig.add_scatter(
            x=months,
            y=[_point(v) for v in values],
            name=name,
            mode="lines+markers",
            line={"dash": dash},
            marker={"symbol": symbols, "size": 8},
            customdata=notes,
            hovertemplate="%{x}: %{y:,.4f} " + currency + " (%{customdata})<extra>" + name + "</extra>",
        )
    fig.update_layout(
        margin={"l": 60, "r": 20, "t": 20, "b": 40},
        height=300,
        yaxis={"title": f"{currency} per outcome", "rangemode": "tozero"},
        legend={"orientation": "h", "y": -0.2},
        template="plotly_white",
    )
    return plotting.figure_json(fig)
