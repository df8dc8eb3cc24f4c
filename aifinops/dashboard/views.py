"""The finance dashboard and its CSV downloads, the executive narrative, the maturity scorecard and
a use case's metric hierarchy.

Who sees what: everyone signed in opens the dashboard; its figures cover the spend and use cases
the user may see (finance, the council and admins: everything; a team member: their teams'). The
narrative and the scorecard speak for the whole company and name every team, so they are for the
cross-team roles (finance, the council, platform admins); anyone else is refused (403) rather than
shown a company-wide story cut down to their teams. The metric hierarchy is for whoever may see the
use case (its team, its owners, the cross-team roles); anyone else gets a 404, as for the use case
itself.
"""

import datetime
from decimal import Decimal

from django.http import Http404
from django.shortcuts import render

from aifinops.core import permissions
from aifinops.core.spreadsheet import csv_response, safe_text
from portfolio import selectors
from portfolio.value.build_vs_buy import build_vs_buy_for

from . import charts, figures
from .data import DashboardData
from .filters import PRESETS, parse_filters, preset_period
from .maturity import scorecard_get
from .metrics import metric_hierarchy
from .narrative import narrative_get

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


def _check(request):
    permissions.require(request.user, permissions.VIEW_PORTFOLIO_OVERVIEW)


def narrative(request):
    _check(request)
    filters = None
    if request.GET.get("start") or request.GET.get("end"):
        filters, _ = parse_filters(request.GET, user=request.user)
    story = narrative_get(user=request.user, filters=filters)
    return render(request, "dashboard/narrative.html", {"n": story, "filters": filters})


def maturity(request):
    _check(request)
    return render(request, "dashboard/maturity.html", {"scores": scorecard_get(user=request.user)})


def _month(raw):
    try:
        return datetime.date.fromisoformat(f"{raw}-01") if raw else None
    except ValueError:
        return None


def use_case_metrics(request, key):
    use_case = selectors.use_case_get(user=request.user, key=key)
    raw = (request.GET.get("month") or "").strip()
    month = _month(raw)
    hierarchy = metric_hierarchy(user=request.user, use_case=use_case, month=month)
    return render(
        request,
        "dashboard/metrics.html",
        {
            "use_case": use_case,
            "h": hierarchy,
            "month_error": f"“{raw[:20]}” is not a month (YYYY-MM); showing {hierarchy.month:%B %Y}."
            if raw and month is None
            else "",
            "build_vs_buy": build_vs_buy_for(use_case=use_case),
        },
    )
