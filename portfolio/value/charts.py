"""Charts of the portfolio pages, built with plotly in Python and handed to templates as JSON."""

from aifinops.core import plotting


def _point(value):
    # Plotly draws floats; the money stays Decimal everywhere else.
    return None if value is None else float(value)


def unit_economics_chart(history, *, currency):
    """Model-only and full cost per outcome against value per outcome, month by month.

    Months whose figures are partly expectations are drawn with open markers. A plain figure
    (aifinops.core.plotting.Fig): plotly's validating objects cost the use-case page's value tab
    a tenth of a second for this one chart.
    """
    months = [e.month.strftime("%b %Y") for e in history]
    notes = ["expected figures" if e.has_expectations else "measured" for e in history]
    symbols = ["circle-open" if e.has_expectations else "circle" for e in history]
    fig = plotting.Fig()
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
    return plotting.to_json(
        fig,
        margin={"l": 60, "r": 20, "t": 20, "b": 40},
        height=300,
        yaxis={"title": {"text": f"{currency} per outcome"}, "rangemode": "tozero"},
        legend={"orientation": "h", "y": -0.2},
    )
