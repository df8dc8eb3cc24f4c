"""Plotly figures as plain dicts, serialised by plotly without validation.

plotly's graph_objects validate and deep-copy every property, which costs tens of milliseconds a
chart; pages with a dozen charts spent most of their time there. Charts built with `Fig` use the
same documented plotly.js properties (write `marker={"color": ...}`, not the `marker_color`
shorthand, and axis titles as `{"text": ...}`), and `to_json` hands them to plotly's own encoder.
`TEMPLATE` stands in for "plotly_white", which would put 7 KB in every chart.
"""

import plotly.io as pio

AXIS = {
    "gridcolor": "#EBF0F8",
    "linecolor": "#EBF0F8",
    "zerolinecolor": "#EBF0F8",
    "ticks": "",
    "automargin": True,
}
TEMPLATE = {
    "layout": {
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "font": {"color": "#2a3f5f", "size": 12},
        "colorway": ["#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A", "#19d3f3", "#FF6692", "#B6E880"],
        "xaxis": AXIS,
        "yaxis": AXIS,
        "hoverlabel": {"align": "left"},
    }
}


class Fig:
    """The few plotly figure calls these charts make, building a plain figure dict."""

    def __init__(self, *traces):
        self.data = list(traces)
        self.layout = {}

    def add_bar(self, **trace):
        self.data.append({"type": "bar", **trace})

    def add_scatter(self, **trace):
        self.data.append({"type": "scatter", **trace})

    def add_vline(self, *, x, line_dash="dash", line_color="#6c757d"):
        self.layout.setdefault("shapes", []).append(
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": x,
                "x1": x,
                "y0": 0,
                "y1": 1,
                "line": {"dash": line_dash, "color": line_color},
            }
        )


def to_json(fig, **layout):
    """The figure as JSON for the page, with `layout` added."""
    return pio.to_json(
        {"data": fig.data, "layout": {"template": TEMPLATE, **fig.layout, **layout}}, validate=False
    )
