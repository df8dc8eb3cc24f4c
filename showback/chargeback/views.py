"""Chargeback statements, reconciliation and the FOCUS export."""

from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render

from aifinops.core import periods, permissions
from portfolio.models import Team

from . import exports, selectors


def _month(year, month):
    found = periods.month_named(year, month)
    if found is None:
        raise Http404("No such month.")
    return found


def _visible_team(user, slug):
    team = get_object_or_404(Team, slug=slug)
    if not permissions.can_view_team(user, team):
        raise Http404("No such team.")
    return team


def _check_finance(user):
    permissions.require(user, permissions.SEE_CHARGEBACK)


def chargeback_index(request):
    """Pick a team and a month; finance sees every team, members their own."""
    teams = list(Team.objects.filter(permissions.team_scope(request.user)).order_by("name"))
    day = periods.today()
    months = [periods.months_back(day, n) for n in range(12)]
    team_slug, month_text = request.GET.get("team"), request.GET.get("month")
    if team_slug and month_text:
        try:
            year, month = (int(part) for part in month_text.split("-"))
        except ValueError:
            year = month = 0
        if any(t.slug == team_slug for t in teams) and 1 <= month <= 12:
            return redirect("showback:chargeback_statement", team=team_slug, year=year, month=month)
    return render(
        request,
        "showback/chargeback.html",
        {
            "teams": teams,
            "months": months,
            "is_finance": permissions.can_import_spend(request.user),
            "last_month": months[1],
        },
    )


def chargeback_statement(request, team, year, month):
    statement = selectors.team_statement(
        user=request.user, team=_visible_team(request.user, team), month=_month(year, month)
    )
    return render(request, "showback/chargeback_statement.html", {"statement": statement})


def chargeback_csv(request, team, year, month):
    statement = selectors.team_statement(
        user=request.user, team=_visible_team(request.user, team), month=_month(year, month)
    )
    return exports.statement_csv_response(statement)


def reconciliation(request):
    _check_finance(request.user)
    months = 6
    start = periods.months_back(periods.today(), months - 1)
    year, _, month = request.GET.get("start", "").partition("-")
    if year.isascii() and year.isdigit() and month.isascii() and month.isdigit():
        start = periods.month_named(int(year), int(month)) or start
    rows = selectors.reconciliation(user=request.user, start_month=start, months=months)
    return render(
        request,
        "showback/reconciliation.html",
        {
            "rows": rows,
            "totals": selectors.reconciliation_totals(rows),
            "reporting": selectors.reconciliation_reporting(
                user=request.user, start_month=start, months=months
            ),
            "start": start,
            "end": periods.months_back(start, -(months - 1)),
            "months": months,
        },
    )


def focus_export(request, year, month):
    """The month as FOCUS 1.2 (the default, as before) or 1.3 (?version=1.3)."""
    _check_finance(request.user)
    version = request.GET.get("version") or "1.2"
    if version not in exports.FOCUS_VERSIONS:
        return HttpResponseBadRequest(f"version: give one of {', '.join(exports.FOCUS_VERSIONS)}.")
    rows = selectors.focus_export_rows(user=request.user, month=_month(year, month), version=version)
    return exports.focus_csv_response(
        rows, filename=f"focus-{version}-{year:04d}-{month:02d}.csv", version=version
    )
