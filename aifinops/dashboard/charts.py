"""The dashboard's charts, built with plotly in Python from the figures and handed to the template
as JSON. Each draws the figure's main currency; money stays Decimal until plotly needs floats.

The figures are plain plotly figure dicts (aifinops.core.plotting): graph_objects validate and
deep-copy every property, which cost about 60 ms a chart, most of the page's time.
"""

from aifinops.core.plotting import TEMPLATE, Fig, to_json

from .figures import Dataset

COLORS = {
    "on_track": "#198754",
    "at_risk": "#fd7e14",
    "over": "#dc3545",
    "capped": "#842029",
    "actual": "#0d6efd",
    "to_date": "#9ec5fe",
    "forecast": "#6f42c1",
    "premium": "#6610f2",
    "other": "#ced4da",
    "viable": "#198754",
    "not_viable": "#dc3545",
    "unattributed": "#dc3545",
    "unowned": "#fd7e14",
    "expected": "#adb5bd",
    "realised": "#198754",
}
LABELLED = 8
STATE_LABELS = {"on_track": "On track", "at_risk": "Projected over", "over": "Over", "capped": "Capped"}


def _f(value):
    return None if value is None else float(value)


def _layout(fig, *, height=320, left=50, legend=True, **extra):
    fig.layout.update(
        margin={"l": left, "r": 20, "t": 40 if legend else 10, "b": 40},
        height=height,
        template=TEMPLATE,
        showlegend=legend,
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0},
        **extra,
    )
    return to_json(fig)


def _money_axis(currency):
    return {"title": {"text": currency}, "tickformat": ",.0f", "rangemode": "tozero"}


def budget_chart(ds: Dataset):
    rows = ds.rows
    if not rows:
        return None
    labels = [f"{r['kind']}: {r['target']}" for r in rows][::-1]
    rows = rows[::-1]
    fig = Fig()
    for state, label in STATE_LABELS.items():
        picked = [(lbl, r) for lbl, r in zip(labels, rows, strict=True) if r["state"] == state]
        if not picked:
            continue
        fig.add_bar(
            y=[lbl for lbl, _ in picked],
            x=[_f(r["used_pct"]) for _, r in picked],
            orientation="h",
            name=f"Used ({label.lower()})",
            marker={"color": COLORS[state]},
            text=[f"{r['actual']:,.0f} of {r['amount']:,.0f}" for _, r in picked],
            textposition="inside",
            insidetextanchor="start",
            customdata=[
                [f"{r['actual']:,.0f}", f"{r['amount']:,.0f}", r["currency"], f"{r['period_start']:%-d %b}"]
                for _, r in picked
            ],
            hovertemplate="%{y}: %{customdata[0]} of %{customdata[1]} %{customdata[2]} since %{customdata[3]}"
            " (%{x:.0f} %)<extra></extra>",
        )
    fig.add_scatter(
        y=labels,
        x=[_f(r["projected"] / r["amount"] * 100) if r["amount"] else None for r in rows],
        mode="markers",
        name="Projected at period end",
        marker={"symbol": "line-ns-open", "size": 18, "line": {"width": 3}, "color": "#212529"},
        hovertemplate="%{y}: projected %{x:.0f} % of budget<extra></extra>",
    )
    fig.add_vline(x=100, line_dash="dash", line_color="#6c757d")
    return _layout(
        fig,
        height=max(200, 34 * len(rows) + 90),
        left=220,
        barmode="overlay",
        xaxis={"title": {"text": "% of budget"}, "ticksuffix": " %", "rangemode": "tozero"},
        yaxis={"categoryorder": "array", "categoryarray": labels},
    )


def trend_chart(ds: Dataset):
    rows = ds.rows
    if not any(r.get("actual") or r.get("forecast") for r in rows):
        return None
    months = [r["month"].strftime("%b %Y") for r in rows]
    fig = Fig()
    fig.add_bar(
        x=months,
        y=[_f(r.get("actual")) for r in rows],
        name="Spent",
        marker={"color": [COLORS["to_date"] if r["kind"] == "to date" else COLORS["actual"] for r in rows]},
        hovertemplate="%{x}: %{y:,.0f} " + ds.currency + "<extra>Spent</extra>",
    )
    banded = [r for r in rows if r.get("upper") is not None]
    if banded:
        x = [r["month"].strftime("%b %Y") for r in banded]
        fig.add_scatter(
            x=x,
            y=[_f(r["upper"]) for r in banded],
            mode="lines",
            line={"width": 0},
            showlegend=False,
            hoverinfo="skip",
        )
        fig.add_scatter(
            x=x,
            y=[_f(r["lower"]) for r in banded],
            mode="lines",
            line={"width": 0},
            fill="tonexty",
            fillcolor="rgba(111,66,193,0.18)",
            name="80 % band",
            hoverinfo="skip",
        )
    forecast = [r for r in rows if r.get("forecast") is not None]
    if forecast:
        fig.add_scatter(
            x=[r["month"].strftime("%b %Y") for r in forecast],
            y=[_f(r["forecast"]) for r in forecast],
            mode="lines+markers",
            name="Forecast",
            line={"color": COLORS["forecast"], "dash": "dash"},
            hovertemplate="%{x}: %{y:,.0f} " + ds.currency + "<extra>Forecast</extra>",
        )
    return _layout(fig, yaxis=_money_axis(ds.currency), xaxis={"type": "category"})


def funnel_chart(ds: Dataset):
    rows = [r for r in ds.rows if r["stage"] != "Sunset"]
    if not any(r["use_cases"] for r in rows):
        return None
    fig = Fig(
        {
            "type": "funnel",
            "y": [r["stage"] for r in rows],
            "x": [r["use_cases"] for r in rows],
            "text": [f"{r['use_cases']} · {r['spend']:,.0f} {r['currency']}" for r in rows],
            "textinfo": "text",
            "marker": {"color": ["#6c757d", "#0dcaf0", "#0d6efd", "#6610f2", "#198754"]},
            "hovertemplate": "%{y}: %{x} use cases<extra></extra>",
        }
    )
    return _layout(fig, height=300, left=70, legend=False)


def risk_chart(ds: Dataset):
    rows = ds.in_currency()
    if not rows:
        return None
    risks = [r for r in ("Low", "Medium", "High", "Critical") if any(x["risk_tier"] == r for x in rows)]
    autonomy = [
        a
        for a in ("Assistive", "Human in the loop", "Supervised agent", "Autonomous agent")
        if any(x["autonomy_level"] == a for x in rows)
    ]
    cell = {(r["risk_tier"], r["autonomy_level"]): r for r in rows}
    z = [[_f(cell[(ri, a)]["spend"]) if (ri, a) in cell else None for a in autonomy] for ri in risks]
    text = [
        [
            f"{cell[(ri, a)]['spend']:,.0f}<br>{cell[(ri, a)]['use_cases']} use case"
            f"{'s' if cell[(ri, a)]['use_cases'] != 1 else ''}"
            if (ri, a) in cell
            else ""
            for a in autonomy
        ]
        for ri in risks
    ]
    fig = Fig(
        {
            "type": "heatmap",
            "z": z,
            "x": autonomy,
            "y": risks,
            "text": text,
            "texttemplate": "%{text}",
            "colorscale": "Reds",
            "colorbar": {"title": {"text": ds.currency}},
            "hovertemplate": "%{y} risk, %{x}: %{z:,.0f} " + ds.currency + "<extra></extra>",
        }
    )
    return _layout(fig, height=300, left=80, legend=False, xaxis={"side": "bottom"})


def premium_chart(ds: Dataset):
    rows = ds.rows
    if not any(r["total"] for r in rows):
        return None
    months = [r["month"].strftime("%b %Y") for r in rows]
    fig = Fig()
    fig.add_bar(
        x=months,
        y=[_f(r["premium"]) for r in rows],
        name="Frontier and reasoning",
        marker={"color": COLORS["premium"]},
        hovertemplate="%{x}: %{y:,.0f} " + ds.currency + "<extra>Premium</extra>",
    )
    fig.add_bar(
        x=months,
        y=[_f(r["total"] - r["premium"]) for r in rows],
        name="Other tiers",
        marker={"color": COLORS["other"]},
        hovertemplate="%{x}: %{y:,.0f} " + ds.currency + "<extra>Other</extra>",
    )
    fig.add_scatter(
        x=months,
        y=[_f(r["share"] * 100) if r["share"] is not None else None for r in rows],
        name="Premium share",
        yaxis="y2",
        mode="lines+markers",
        line={"color": "#212529"},
        hovertemplate="%{x}: %{y:.0f} %<extra>Premium share</extra>",
    )
    return _layout(
        fig,
        barmode="stack",
        yaxis=_money_axis(ds.currency),
        yaxis2={
            "overlaying": "y",
            "side": "right",
            "range": [0, 100],
            "tickvals": [0, 25, 50, 75, 100],
            "ticksuffix": " %",
            "showgrid": False,
        },
        xaxis={"type": "category"},
    )


def overlap_chart(ds: Dataset):
    rows = ds.in_currency()
    if not rows:
        return None
    groups = list(dict.fromkeys(f"{r['team']} · {r['tier']}" for r in rows))
    fig = Fig()
    for provider in dict.fromkeys(r["provider"] for r in rows):
        mine = {f"{r['team']} · {r['tier']}": r["spend"] for r in rows if r["provider"] == provider}
        fig.add_bar(
            y=groups,
            x=[_f(mine.get(g)) for g in groups],
            name=provider,
            orientation="h",
            hovertemplate="%{y}, " + provider + ": %{x:,.0f} " + ds.currency + "<extra></extra>",
        )
    return _layout(
        fig,
        height=max(200, 40 * len(groups) + 90),
        left=220,
        barmode="stack",
        xaxis=_money_axis(ds.currency),
        yaxis={"autorange": "reversed"},
    )


def top_chart(ds: Dataset, *, value="spend"):
    rows = ds.in_currency()
    if not rows:
        return None
    fig = Fig()
    fig.add_bar(
        y=[r["use_case"] for r in rows],
        x=[_f(r[value]) for r in rows],
        orientation="h",
        name="This period" if value == "spend" else "Added",
        marker={"color": COLORS["actual"]},
        customdata=[
            [f"{r['before']:,.0f}", f"{r['growth'] * 100:+.0f} %" if r["growth"] is not None else "new"]
            for r in rows
        ],
        hovertemplate="%{y}: %{x:,.0f} " + ds.currency + " (before: %{customdata[0]}, %{customdata[1]})"
        "<extra></extra>",
    )
    if value == "spend":
        fig.add_scatter(
            y=[r["use_case"] for r in rows],
            x=[_f(r["before"]) for r in rows],
            mode="markers",
            name="Period before",
            marker={"symbol": "line-ns-open", "size": 16, "line": {"width": 3}, "color": "#212529"},
            hovertemplate="%{y}: %{x:,.0f} " + ds.currency + " the period before<extra></extra>",
        )
    return _layout(
        fig,
        height=max(220, 30 * len(rows) + 90),
        left=200,
        xaxis=_money_axis(ds.currency),
        yaxis={"autorange": "reversed"},
    )


def unit_economics_chart(ds: Dataset):
    rows = [r for r in ds.in_currency() if r["cost_per_outcome"] and r["value_per_outcome"]]
    if not rows:
        return None
    biggest = max(float(r["model_cost"] + r["other_costs"]) for r in rows) or 1.0
    # Names on the largest bubbles and on the losing ones; the rest name themselves on hover.
    by_cost = sorted(rows, key=lambda r: -(r["model_cost"] + r["other_costs"]))
    named = {r["key"] for r in by_cost[:LABELLED]} | {r["key"] for r in rows if r["viable"] is False}
    fig = Fig()
    for viable, name, color in (
        (True, "Cost below value", "viable"),
        (False, "Cost above value", "not_viable"),
    ):
        mine = [r for r in rows if r["viable"] is viable]
        if not mine:
            continue
        fig.add_scatter(
            x=[_f(r["cost_per_outcome"]) for r in mine],
            y=[_f(r["value_per_outcome"]) for r in mine],
            mode="markers+text",
            name=name,
            text=[r["use_case"] if r["key"] in named else "" for r in mine],
            hovertext=[r["use_case"] for r in mine],
            textposition="top center",
            textfont={"size": 10},
            marker={
                "size": [
                    max(8.0, 60 * (float(r["model_cost"] + r["other_costs"]) / biggest) ** 0.5) for r in mine
                ],
                "color": COLORS[color],
                "opacity": 0.6,
                "line": {"width": 1, "color": "#fff"},
            },
            customdata=[[f"{r['model_cost'] + r['other_costs']:,.0f}", f"{r['outcomes']:,}"] for r in mine],
            hovertemplate="%{hovertext}<br>cost per outcome %{x:,.4~f} · value per outcome %{y:,.4~f} "
            + ds.currency
            + "<br>cost %{customdata[0]} for %{customdata[1]} outcomes<extra></extra>",
        )
    values = [float(v) for r in rows for v in (r["cost_per_outcome"], r["value_per_outcome"]) if v]
    low, high = min(values) / 2, max(values) * 2
    fig.add_scatter(
        x=[low, high],
        y=[low, high],
        mode="lines",
        name="Viability line (cost = value)",
        line={"color": "#6c757d", "dash": "dash"},
        hoverinfo="skip",
    )
    return _layout(
        fig,
        height=420,
        left=70,
        xaxis={"title": {"text": f"Cost per outcome ({ds.currency}, log scale)"}, "type": "log", "dtick": 1},
        yaxis={"title": {"text": f"Value per outcome ({ds.currency}, log scale)"}, "type": "log", "dtick": 1},
    )


def unowned_chart(ds: Dataset):
    rows = ds.in_currency()[:12]
    if not rows:
        return None
    fig = Fig()
    for kind, color in (("Unattributed", "unattributed"), ("Unowned", "unowned")):
        mine = [r for r in rows if r["kind"] == kind]
        if not mine:
            continue
        fig.add_bar(
            y=[r["what"] for r in mine],
            x=[_f(r["spend"]) for r in mine],
            orientation="h",
            name="No use case" if kind == "Unattributed" else "Use case missing an owner",
            marker={"color": COLORS[color]},
            customdata=[r["missing"] for r in mine],
            hovertemplate="%{y}: %{x:,.0f} " + ds.currency + " (no %{customdata})<extra></extra>",
        )
    return _layout(
        fig,
        height=max(200, 30 * len(rows) + 90),
        left=220,
        xaxis=_money_axis(ds.currency),
        yaxis={"categoryorder": "total ascending"},
    )


def backlog_chart(ds: Dataset):
    rows = ds.in_currency()
    if not rows:
        return None
    levers = [r["lever"] for r in rows]
    fig = Fig()
    fig.add_bar(
        x=levers,
        y=[_f(r["expected"]) for r in rows],
        name="Expected (open and done items)",
        marker={"color": COLORS["expected"]},
        hovertemplate="%{x}: %{y:,.0f} " + ds.currency + " a month expected<extra></extra>",
    )
    fig.add_bar(
        x=levers,
        y=[_f(r["expected_done"]) for r in rows],
        name="Expected (done items)",
        marker={"color": "#6c757d"},
        hovertemplate="%{x}: %{y:,.0f} " + ds.currency + " a month expected of the done items<extra></extra>",
    )
    fig.add_bar(
        x=levers,
        y=[_f(r["realised"]) for r in rows],
        name="Realised (done items)",
        marker={"color": COLORS["realised"]},
        hovertemplate="%{x}: %{y:,.0f} " + ds.currency + " a month realised<extra></extra>",
    )
    return _layout(
        fig, barmode="group", yaxis={**_money_axis(ds.currency), "title": {"text": f"{ds.currency} a month"}}
    )


CHARTS = {
    "budget": budget_chart,
    "trend": trend_chart,
    "funnel": funnel_chart,
    "risk": risk_chart,
    "premium": premium_chart,
    "overlap": overlap_chart,
    "top_cost": top_chart,
    "top_growth": lambda ds: top_chart(ds, value="change"),
    "unit_economics": unit_economics_chart,
    "unowned": unowned_chart,
    "backlog": backlog_chart,
}


def chart_for(ds: Dataset):
    build = CHARTS.get(ds.key)
    return build(ds) if build else None
