"""Plotly figures as plain dicts, serialised by plotly without validation.

plotly's graph_objects validate and deep-copy every property, which costs tens of milliseconds a
chart; pages with a dozen charts spent most of their time there. Charts built with `Fig` use the
same documented plotly.js properties (write `marker={"color": ...}`, not the `marker_color`
shorthand, and axis titles as `{"text": ...}`), and `to_json` hands them to plotly's own encoder.
`TEMPLATE` stands in for "plotly_white", which would put 7 KB in every chart.
"""

import math
import re

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
    """The figure as JSON for the page, with `layout` added and its value axes fitted."""
    figure = {"data": fig.data, "layout": {"template": TEMPLATE, **fig.layout, **layout}}
    return pio.to_json(fit_value_axes(figure), validate=False)


def figure_json(fig):
    """A plotly graph_objects figure as JSON for the page, its value axes fitted like every chart's."""
    return pio.to_json(fit_value_axes(fig.to_plotly_json()), validate=False)


# Number formats this module may refine; percent, date and other formats are left as they are.
FIXED_FORMAT = re.compile(r"^,?\.\d+~?f$")
HOVER_NUMBER = re.compile(r"%\{([xy]):(,?)\.\d+~?f\}")
# Room beyond the data, as a share of its span; data of one sign only also gets some room on the
# other side of zero, so a lone credit of -$0.15 reads as a small bar below a zero line, not as a
# full-height bar.
PAD = 0.05
OTHER_SIDE = 0.25


def axis_decimals(span):
    """Decimals that keep an axis's ticks apart: 0 for spans of 100 or more, more as it shrinks."""
    if span <= 0:
        return 1
    return max(0, min(6, 2 - math.floor(math.log10(span))))


def value_axis(values):
    """{range, tickformat} for an axis of money or counts, whatever the values: negative (credits,
    refunds), tiny or all zero. The range always includes zero."""
    numbers = [float(v) for v in values if v is not None]
    low = min([0.0, *numbers])
    high = max([0.0, *numbers])
    span = high - low
    if span == 0:
        return {"range": [0, 1], "tickformat": ",.1~f"}
    pad = span * PAD
    if low < 0 and high == 0:
        axis_range = [low - pad, span * OTHER_SIDE]
    elif high > 0 and low == 0:
        axis_range = [0, high + pad]
    else:
        axis_range = [low - pad, high + pad]
    return {"range": axis_range, "tickformat": f",.{axis_decimals(span)}~f"}


def _extents(traces, stacked):
    """Per axis name ("yaxis", "xaxis2"...), the values its bars and lines reach."""
    reach = {}
    stacks = {}
    for trace in traces:
        if trace.get("type", "scatter") not in ("bar", "scatter"):
            continue
        horizontal = trace.get("orientation") == "h"
        letter = "x" if horizontal else "y"
        ref = trace.get(f"{letter}axis", letter)
        axis = f"{letter}axis{ref[1:]}"
        values = list(trace.get(letter) or [])
        if not all(isinstance(v, (int, float)) or v is None for v in values):
            return None
        reach.setdefault(axis, []).extend(values)
        if stacked and trace.get("type") == "bar":
            categories = list(trace.get("y" if horizontal else "x") or range(len(values)))
            for category, value in zip(categories, values, strict=False):
                if value is None:
                    continue
                pos, neg = stacks.setdefault((axis, str(category)), [0.0, 0.0])
                stacks[(axis, str(category))] = [pos + max(value, 0), neg + min(value, 0)]
    for (axis, _), (pos, neg) in stacks.items():
        reach[axis].extend([pos, neg])
    return reach


def fit_value_axes(figure):
    """Give every value axis of a figure dict a range and tick format fitted to its data, and its
    hover labels enough decimals for small amounts. The one place every chart's axes are decided."""
    layout = figure.setdefault("layout", {})
    traces = figure.get("data") or []
    stacked = layout.get("barmode") in ("stack", "relative")
    if layout.get("barmode") == "stack":
        # "relative" stacks credits below zero instead of subtracting them from the bar above.
        layout["barmode"] = "relative"
    reach = _extents(traces, stacked)
    if not reach:
        return figure
    for axis, values in reach.items():
        settings = layout.get(axis) or {}
        if settings.get("range") is not None or settings.get("type") in ("date", "category", "log"):
            continue
        if settings.get("tickformat") and not FIXED_FORMAT.match(settings["tickformat"]):
            continue
        fitted = value_axis(values)
        layout[axis] = {**settings, **fitted, "zeroline": True, "zerolinecolor": "#8a94a6"}
        layout[axis].pop("rangemode", None)
    small = any(v is not None and 0 < abs(float(v)) < 10 for vs in reach.values() for v in vs)
    if small:
        for trace in traces:
            template = trace.get("hovertemplate")
            if template:
                trace["hovertemplate"] = HOVER_NUMBER.sub(r"%{\1:\2.2f}", template)
    return figure
