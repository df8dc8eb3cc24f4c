"""The finance dashboard and its CSV downloads.

Who sees what: everyone signed in opens the dashboard; its figures cover the spend and use cases
the user may see (finance, the council and admins: everything; a team member: their teams').
"""

import datetime
from decimal import Decimal

from django.http import Http404
from django.shortcuts import render

from aifinops.core import permissions
from aifinops.core.spreadsheet import csv_response, safe_text

from . import charts, figures
from .data import DashboardData
from .filters import PRESETS, parse_filters, preset_period

MICRO = Decimal("0.000001")

# The order of the page, and which figures sit side by side.
LAYOUT = [
    ("trend", "budget"),
    ("top_cost", "top_growth"),
    ("funnel", "risk"),
    ("premium", "overlap"),
    ("unit_economics",),
    ("unowned", "backlog"),
    ("build_vs_buy", "decisions"),
]


def _presets(filters, day):
    out = []
    for key, label in PRESETS:
        start, end = preset_period(key, day)
        out.append(
            {
                "label": label,
                "query": filters.querystring(start=start.isoformat(), end=end.isoformat()),
                "active": (start, end) == (filters.start, filters.end),
            }
        )
    return out


def dashboard(request):
    filters, form = parse_filters(request.GET, user=request.user)
    data = DashboardData(user=request.user, filters=filters)
    found = figures.figures_all(data)
    cards = [[{"figure": found[key], "chart": charts.chart_for(found[key])} for key in row] for row in LAYOUT]
    context = {
        "filters": filters,
        "form": form,
        "presets": _presets(filters, data.today),
        "data": data,
        "figures": found,
        "headline": figures.headline(data),
        "rows": cards,
        "sees_all_teams": permissions.sees_all_teams(request.user),
        "can_view_overview": permissions.can_view_portfolio_overview(request.user),
        "can_view_margins": permissions.can_view_margins(request.user),
        "query": filters.querystring(),
    }
    template = "dashboard/partials/_body.html" if request.htmx else "dashboard/index.html"
    return render(request, template, context)


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return format(value.quantize(MICRO).normalize(), "f")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, int | float):
        return value
    return safe_text(value)


def chart_csv(request):
    """One chart's data as CSV: ?chart=<name> with the page's filters."""
    key = request.GET.get("chart", "")
    if key not in figures.FIGURES:
        raise Http404(f"No chart named “{key[:40]}”; one of: {', '.join(figures.FIGURES)}.")
    filters, _ = parse_filters(request.GET, user=request.user)
    data = DashboardData(user=request.user, filters=filters)
    ds = figures.figure_get(data, key)
    rows = ([_cell(v) for v in row] for row in ds.csv_rows())
    name = f"aifinops-{key.replace('_', '-')}-{filters.start:%Y%m%d}-{filters.end:%Y%m%d}.csv"
    return csv_response([header for _, header in ds.columns], rows, filename=name)
