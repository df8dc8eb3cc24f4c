"""The hourly telemetry chart of the use-case page, built with plotly in Python."""

import plotly.graph_objects as go

from aifinops.core import plotting


def hourly_chart(hours):
    """Calls per hour today (bars), errors stacked on them, and p95 latency (line, right axis)."""
    labels = [hour.strftime("%H:00") for hour, _ in hours]
    fig = go.Figure()
    fig.add_bar(
        x=labels,
        y=[t.calls - t.errors for _, t in hours],
        name="Calls",
        hovertemplate="%{x} UTC: %{y:,} calls<extra></extra>",
    )
    fig.add_bar(
        x=labels,
        y=[t.errors for _, t in hours],
        name="Errors",
        marker_color="#dc3545",
        hovertemplate="%{x} UTC: %{y:,} errors<extra></extra>",
    )
    fig.add_scatter(
        x=labels,
        y=[t.p95 for _, t in hours],
        name="p95 latency (ms)",
        yaxis="y2",
        mode="lines+markers",
        connectgaps=False,
        hovertemplate="%{x} UTC: p95 %{y:,.0f} ms<extra></extra>",
    )
    fig.update_layout(
        title="Today, hour by hour (UTC)",
        barmode="stack",
        height=300,
        margin={"l": 50, "r": 60, "t": 50, "b": 40},
        template="plotly_white",
        yaxis={"title": "Calls", "rangemode": "tozero"},
        yaxis2={
            "title": "p95 ms",
            "overlaying": "y",
            "side": "right",
            "rangemode": "tozero",
            "showgrid": False,
        },
        legend={"orientation": "h", "y": -0.2},
    )
    return plotting.figure_json(fig)
