"""Charts of the council's pages, built with plotly in Python from the review pack (a JSON-safe
dict: money as strings) and handed to templates as JSON."""

import datetime

import plotly.graph_objects as go

from aifinops.core import plotting


def _num(value):
    # Plotly draws floats; the pack keeps the money as exact strings.
    return None if value in (None, "") else float(value)


def _month_label(iso):
    return datetime.date.fromisoformat(iso).strftime("%b %Y")


def spend_vs_expected_chart(spend):
    """Bars of the actual AI spend of the last full months and this month to date, against a line
    of the expected monthly cost."""
    currency = spend.get("currency", "USD")
    months = spend.get("months") or []
    labels = [_month_label(m["month"]) for m in months]
    actual = [_num(m["actual"]) for m in months]
    if spend.get("as_of"):
        labels.append(f"{datetime.date.fromisoformat(spend['as_of']).strftime('%b %Y')} (to date)")
        actual.append(_num(spend.get("month_to_date")))
    expected = _num(spend.get("expected_monthly"))
    fig = go.Figure()
    fig.add_bar(
        x=labels,
        y=actual,
        name="Actual",
        marker={"color": ["#0d6efd"] * len(months) + ["#9ec5fe"] * (len(labels) - len(months))},
        hovertemplate="%{x}: %{y:,.2f} " + currency + "<extra>Actual</extra>",
    )
    if expected is not None:
        fig.add_scatter(
            x=labels,
            y=[expected] * len(labels),
            name="Expected per month",
            mode="lines",
            line={"dash": "dash", "color": "#dc3545"},
            hovertemplate="Expected: %{y:,.2f} " + currency + "<extra></extra>",
        )
    fig.update_layout(
        margin={"l": 60, "r": 20, "t": 20, "b": 40},
        height=280,
        yaxis={"title": f"AI spend ({currency})", "tickformat": ",.0f", "rangemode": "tozero"},
        legend={"orientation": "h", "y": -0.2},
        template="plotly_white",
    )
    return plotting.figure_json(fig)


def value_vs_expected_chart(value):
    """The value the use case reported each month against the value it was expected to bring and
    the success criteria (a share of that)."""
    signals = list(reversed(value.get("signals") or []))
    if not signals:
        return None
    currency = value.get("currency", "USD")
    labels = [_month_label(s["month"]) for s in signals]
    fig = go.Figure()
    fig.add_bar(
        x=labels,
        y=[_num(s["value"]) for s in signals],
        name="Reported value",
        marker={"color": ["#198754" if s["meets_success_criteria"] else "#ffc107" for s in signals]},
        hovertemplate="%{x}: %{y:,.2f} " + currency + "<extra>Reported value</extra>",
    )
    expected = _num(value.get("expected_monthly_value"))
    if expected:
        fig.add_scatter(
            x=labels,
            y=[expected] * len(labels),
            name="Expected value",
            mode="lines",
            line={"dash": "dash", "color": "#6c757d"},
        )
        pct = _num(value.get("success_criteria_pct")) or 0
        fig.add_scatter(
            x=labels,
            y=[expected * pct / 100] * len(labels),
            name=f"Success criteria ({pct:g} %)",
            mode="lines",
            line={"dash": "dot", "color": "#dc3545"},
        )
    fig.update_layout(
        margin={"l": 60, "r": 20, "t": 20, "b": 40},
        height=260,
        yaxis={"title": f"Value ({currency})", "tickformat": ",.0f", "rangemode": "tozero"},
        legend={"orientation": "h", "y": -0.25},
        template="plotly_white",
    )
    return plotting.figure_json(fig)


def allocation_chart(allocation, *, currency):
    """The quarter's AI spend per stage of the portfolio, in the reporting currency `currency`."""
    if not allocation:
        return None
    fig = go.Figure(
        go.Bar(
            x=[row["label"] for row in allocation],
            y=[float(row["spend"]) for row in allocation],
            customdata=[row["use_cases"] for row in allocation],
            hovertemplate="%{x}: %{y:,.0f} " + currency + " (%{customdata} use cases)<extra></extra>",
        )
    )
    fig.update_layout(
        margin={"l": 60, "r": 20, "t": 20, "b": 40},
        height=260,
        yaxis={"title": f"AI spend ({currency})", "tickformat": ",.0f"},
        template="plotly_white",
    )
    return plotting.figure_json(fig)
