"""Charts of the margins page, built with plotly in Python (as plain figure dicts, see
aifinops.core.plotting) and handed to the template as JSON."""

from aifinops.core.plotting import Fig, to_json


def _f(value):
    return None if value is None else float(value)


LEGEND = {"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0}


def segment_chart(segments, *, currency):
    rows = [s for s in segments if s.currency == currency]
    if not rows:
        return None
    names = [s.segment for s in rows]
    fig = Fig()
    fig.add_bar(
        x=names,
        y=[_f(s.revenue) for s in rows],
        name="Revenue",
        marker={"color": "#198754"},
        hovertemplate="%{x}: %{y:,.0f} " + currency + " revenue<extra></extra>",
    )
    fig.add_bar(
        x=names,
        y=[_f(s.cost) for s in rows],
        name="AI cost to serve",
        marker={"color": "#dc3545"},
        hovertemplate="%{x}: %{y:,.0f} " + currency + " AI cost<extra></extra>",
    )
    fig.add_scatter(
        x=names,
        y=[_f(s.cost_share * 100) if s.cost_share is not None else None for s in rows],
        name="AI cost as % of revenue",
        yaxis="y2",
        mode="markers",
        marker={"size": 12, "color": "#212529", "symbol": "diamond"},
        hovertemplate="%{x}: AI cost is %{y:.1f} % of revenue<extra></extra>",
    )
    return to_json(
        fig,
        barmode="group",
        margin={"l": 60, "r": 60, "t": 40, "b": 40},
        height=320,
        legend=LEGEND,
        yaxis={"title": {"text": currency}, "tickformat": ",.0f"},
        yaxis2={
            "overlaying": "y",
            "side": "right",
            "ticksuffix": " %",
            "rangemode": "tozero",
            "showgrid": False,
        },
    )


CHART_CUSTOMERS = 300


def erosion_chart(customers, *, currency):
    """Cost growth against revenue growth: every eroding customer, and the others among the
    CHART_CUSTOMERS largest by cost (customers come sorted by cost; the table and CSV have all)."""
    rows = [
        c
        for i, c in enumerate(customers)
        if c.currency == currency
        and c.cost_growth is not None
        and c.revenue_growth is not None
        and (c.eroding or i < CHART_CUSTOMERS)
    ]
    if not rows:
        return None
    fig = Fig()
    for eroding, name, color in (
        (True, "AI cost growing faster", "#dc3545"),
        (False, "Revenue keeping up", "#198754"),
    ):
        mine = [c for c in rows if c.eroding is eroding]
        if not mine:
            continue
        fig.add_scatter(
            x=[_f(c.revenue_growth * 100) for c in mine],
            y=[_f(c.cost_growth * 100) for c in mine],
            # Names on the eroding ones only: the others crowd together near the line.
            mode="markers+text" if eroding else "markers",
            text=[c.customer for c in mine],
            textposition="top center",
            textfont={"size": 10},
            name=name,
            marker={"size": 11, "color": color, "opacity": 0.75},
            hovertemplate="%{text}: revenue %{x:+.0f} %, AI cost %{y:+.0f} %<extra></extra>",
        )
    values = [float(v) * 100 for c in rows for v in (c.cost_growth, c.revenue_growth)]
    low, high = min([*values, 0]) - 10, max([*values, 0]) + 10
    fig.add_scatter(
        x=[low, high],
        y=[low, high],
        mode="lines",
        name="Same growth",
        line={"color": "#6c757d", "dash": "dash"},
        hoverinfo="skip",
    )
    return to_json(
        fig,
        margin={"l": 60, "r": 20, "t": 40, "b": 40},
        height=360,
        legend=LEGEND,
        xaxis={"title": {"text": "Revenue growth, later half against earlier"}, "ticksuffix": " %"},
        yaxis={"title": {"text": "AI cost growth"}, "ticksuffix": " %"},
    )
