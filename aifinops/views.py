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

# Rows a home card lists before it sends to its list.
HOME_ROWS = 8


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
        "stage_total": sum(counts.values()),
    }
    # Each card shows a few rows and says how many its list holds ("see all (N)").
    if Role.REQUESTER in roles or not roles:
        context["team_use_cases"] = list(
            portfolio_selectors.use_case_queryset(user=user).order_by("-created_at")[:HOME_ROWS]
        )
        context["team_use_cases_total"] = sum(counts.values())
        intakes = intake_selectors.intake_list(user=user, scope="mine").qs
        context["my_intakes"] = list(intakes[:HOME_ROWS])
        context["my_intakes_total"] = intakes.count()
    if Role.USE_CASE_OWNER in roles:
        owned = portfolio_selectors.use_case_list(user=user, filters={"owner": user.get_username()})
        context["owned_use_cases"] = list(owned[:HOME_ROWS])
        context["owned_use_cases_total"] = owned.count()
    if roles & {Role.COUNCIL_MEMBER, Role.COUNCIL_CHAIR}:
        context["council_seats"] = council_selectors.council_seats(user=user)
        scaling = [Stage.PILOT, Stage.LAUNCH]
        context["scaling_use_cases"] = list(
            portfolio_selectors.use_case_list(user=user, filters={"stage": scaling})[:HOME_ROWS]
        )
        context["scaling_use_cases_total"] = sum(counts.get(stage, 0) for stage in scaling)
    if Role.FINANCE_ANALYST in roles or Role.PLATFORM_ADMIN in roles:
        # In the reporting currency, each day at its rate, as the month's total above.
        into = context["month_to_date_reporting"].currency
        top = spend_selectors.spend_by_reporting(
            user=user, dimension="use_case", start=start, end=day, limit=HOME_ROWS, into=into
        )
        context["top_use_cases"], context["top_use_cases_conversion"] = top["rows"], top["total"]
        trend = spend_selectors.monthly_trend(user=user, into=into)
        context["trend"], context["trend_chart"] = trend, charts.monthly_trend_chart(trend)
    if Role.PLATFORM_ADMIN in roles:
        context["recent_events"] = list(audit_event_list()[:HOME_ROWS])
    return render(request, "home.html", context)
