from django.shortcuts import render

from aifinops.core import permissions

from . import charts, selectors


def index(request):
    """Spend shown back: this month and the last twelve, by team, provider and use case."""
    ai_only = request.GET.get("scope") != "all"
    day = selectors.today()
    start = selectors.month_start(day)
    by_team = selectors.spend_by(user=request.user, dimension="team", start=start, end=day, ai_only=ai_only)
    by_provider = selectors.spend_by(
        user=request.user, dimension="provider", start=start, end=day, ai_only=ai_only
    )
    top_use_cases = selectors.spend_by(
        user=request.user, dimension="use_case", start=start, end=day, ai_only=ai_only, limit=10
    )
    trend = selectors.monthly_trend(user=request.user, ai_only=ai_only)
    return render(
        request,
        "showback/index.html",
        {
            "ai_only": ai_only,
            "can_import": permissions.can_import_spend(request.user),
            "period_start": start,
            "period_end": day,
            "month_to_date": selectors.spend_total(user=request.user, start=start, end=day, ai_only=ai_only),
            "by_team": by_team,
            "by_provider": by_provider,
            "top_use_cases": top_use_cases,
            "trend_chart": charts.monthly_trend_chart(trend),
            "team_chart": charts.breakdown_chart(by_team, title="Month to date by team") if by_team else None,
        },
    )
