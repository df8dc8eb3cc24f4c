"""The home dashboard: one panel per role the user holds, each fed by its app's selectors."""

from django.shortcuts import render

from aifinops.core import periods, permissions
from aifinops.core.roles import Role
from aifinops.core.selectors import audit_event_list, membership_list
from council import selectors as council_selectors
from intake import selectors as intake_selectors
from portfolio import selectors as portfolio_selectors
from portfolio.choices import Stage
from showback import charts
from showback import selectors as spend_selectors


def home(request):
    user = request.user
    roles = permissions.roles_of(user)
    day = periods.today()
    start = periods.month_start(day)
    counts = portfolio_selectors.stage_counts(user=user)
    context = {
        "roles": roles,
        "sees_all_teams": permissions.sees_all_teams(user),
        "Role": Role,
        "memberships": membership_list(user=user),
        "month_to_date": spend_selectors.spend_total(user=user, start=start, end=day),
        "month_to_date_reporting": spend_selectors.spend_total_reporting(user=user, start=start, end=day),
        "period_start": start,
        "stage_counts": [(label, value, counts.get(value, 0)) for value, label in Stage.choices],
    }
    if Role.REQUESTER in roles or not roles:
        context["team_use_cases"] = list(
            portfolio_selectors.use_case_queryset(user=user).order_by("-created_at")[:8]
        )
        context["my_intakes"] = list(intake_selectors.intake_list(user=user, scope="mine").qs[:6])
    if Role.USE_CASE_OWNER in roles:
        context["owned_use_cases"] = portfolio_selectors.use_cases_owned(user=user)
    if roles & {Role.COUNCIL_MEMBER, Role.COUNCIL_CHAIR}:
        context["council_seats"] = council_selectors.council_seats(user=user)
        context["scaling_use_cases"] = list(
            portfolio_selectors.use_case_list(user=user, filters={"stage": [Stage.PILOT, Stage.LAUNCH]})[:10]
        )
    if Role.FINANCE_ANALYST in roles or Role.PLATFORM_ADMIN in roles:
        context["top_use_cases"] = spend_selectors.spend_by(
            user=user, dimension="use_case", start=start, end=day, limit=8
        )
        context["trend_chart"] = charts.monthly_trend_chart(spend_selectors.monthly_trend(user=user))
    if Role.PLATFORM_ADMIN in roles:
        context["recent_events"] = list(audit_event_list()[:8])
    return render(request, "home.html", context)
