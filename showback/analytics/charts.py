"""Charts of anomalies and forecasts, built with plotly in Python and handed to templates as JSON."""

import plotly.graph_objects as go

from aifinops.core import plotting

LAYOUT = {"template": "plotly_white", "margin": {"l": 60, "r": 20, "t": 50, "b": 40}}
ACTUAL, EXPECTED, FLAG, BAND = "#0d6efd", "#6c757d", "#dc3545", "rgba(13,110,253,0.15)"


def _num(value):
    return None if value is None else float(value)


def anomalies_expected_vs_actual_chart(anomalies, *, currency):
    """Grouped bars of expected and actual spend of spend spikes, in one currency, newest on top."""
    rows = sorted(
        (a for a in anomalies if a.kind == "spike" and a.currency == currency), key=lambda a: a.date
    )
    labels = [f"{a.date:%d %b} · {a.use_case.name}{' · ' + a.model.name if a.model_id else ''}" for a in rows]
    fig = go.Figure()
    fig.add_bar(
        y=labels,
        x=[_num(a.expected) for a in rows],
        name="Expected",
        orientation="h",
        marker_color=EXPECTED,
        hovertemplate="%{y}: expected %{x:,.2f} " + currency + "<extra></extra>",
    )
    fig.add_bar(
        y=labels,
        x=[_num(a.actual) for a in rows],
        name="Actual",
        orientation="h",
        marker_color=FLAG,
        hovertemplate="%{y}: spent %{x:,.2f} " + currency + "<extra></extra>",
    )
    fig.update_layout(
        **LAYOUT,
        title=f"The largest spend spikes on this page: expected and actual ({currency})",
        barmode="group",
        height=max(260, 34 * len(rows) + 110),
        xaxis={"title": f"Spend that day ({currency})", "tickformat": ",.0f"},
        yaxis={"automargin": True},
        legend={"orientation": "h", "y": -0.2},
    )
    return plotting.figure_json(fig)


UNIT_TITLES = {
    "money": "Spend per day",
    "per_call": "Cost per call",
    "ratio": "Output tokens per input token",
    "share": "Share",
}


def anomaly_chart(series, anomaly):
    """The days around one anomaly: what was spent (or the drift's daily metric), what was expected
    of each day, and the anomaly's day marked."""
    unit = series.unit
    suffix = f" ({anomaly.currency})" if unit in ("money", "per_call") else ""
    is_share = unit == "share"
    scale = 100 if is_share else 1
    x = [d.isoformat() for d in series.days]
    fig = go.Figure()
    fig.add_scatter(
        x=x,
        y=[None if v is None else float(v) * scale for v in series.actual],
        name="Actual" if unit == "money" else "Daily value",
        mode="lines+markers",
        line={"color": ACTUAL},
        marker={"size": 4},
    )
    fig.add_scatter(
        x=x,
        y=[None if v is None else float(v) * scale for v in series.expected],
        name="Expected (baseline)" if unit == "money" else "Baseline, then recent week",
        mode="lines",
        line={"color": EXPECTED, "dash": "dash"},
        connectgaps=False,
    )
    fig.add_scatter(
        x=[anomaly.date.isoformat()],
        y=[float(anomaly.actual) * scale],
        name="Anomaly",
        mode="markers",
        marker={"color": FLAG, "size": 12, "symbol": "diamond"},
    )
    fig.update_layout(
        **LAYOUT,
        title=UNIT_TITLES.get(unit, "Value") + (" (%)" if is_share else suffix),
        height=340,
        yaxis={"rangemode": "tozero", "tickformat": ",.0f" if unit == "money" else ",.3~f"},
        legend={"orientation": "h", "y": -0.2},
    )
    return plotting.figure_json(fig)


def forecast_chart(view):
    """History, the forecast with its band and, when assumptions change it, the forecast without."""
    currency = view.history.currency
    hist = view.history.actual_months
    points = view.forecast.points
    fig = go.Figure()
    if points:
        months = [p.month.isoformat() for p in points]
        if view.forecast.has_band:
            fig.add_scatter(
                x=months + months[::-1],
                y=[float(p.upper) for p in points] + [float(p.lower) for p in points][::-1],
                fill="toself",
                fillcolor=BAND,
                line={"width": 0},
                hoverinfo="skip",
                name="80 % band",
            )
        if view.forecast.adjusted:
            fig.add_scatter(
                x=months,
                y=[float(p.value) for p in view.base.points],
                name="Without assumptions",
                mode="lines",
                line={"color": EXPECTED, "dash": "dot"},
                hovertemplate="%{x|%b %Y}: %{y:,.0f} " + currency + "<extra>without assumptions</extra>",
            )
        # The forecast line starts at the last actual month, so the two lines join.
        lead = [hist[-1]] if hist else []
        fig.add_scatter(
            x=[m.isoformat() for m, _ in lead] + months,
            y=[float(v) for _, v in lead] + [float(p.value) for p in points],
            name="Forecast",
            mode="lines+markers",
            line={"color": ACTUAL, "dash": "dash"},
            hovertemplate="%{x|%b %Y}: %{y:,.0f} " + currency + "<extra>forecast</extra>",
        )
    fig.add_scatter(
        x=[m.isoformat() for m, _ in hist],
        y=[float(v) for _, v in hist],
        name="Actual",
        mode="lines+markers",
        line={"color": "#212529"},
        hovertemplate="%{x|%b %Y}: %{y:,.0f} " + currency + "<extra>actual</extra>",
    )
    if points and view.history.month_to_date:
        fig.add_scatter(
            x=[points[0].month.isoformat()],
            y=[float(view.history.month_to_date)],
            name="This month so far",
            mode="markers",
            marker={"color": FLAG, "size": 9, "symbol": "x"},
            hovertemplate="%{x|%b %Y} so far: %{y:,.0f} " + currency + "<extra></extra>",
        )
    fig.update_layout(
        **LAYOUT,
        title=f"AI spend per month, actual and forecast ({currency})",
        height=380,
        xaxis={"tickformat": "%b %Y"},
        yaxis={"title": f"Effective cost ({currency})", "tickformat": ",.0f", "rangemode": "tozero"},
        legend={"orientation": "h", "y": -0.15},
    )
    return plotting.figure_json(fig)
