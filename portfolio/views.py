from django.core.paginator import Paginator
from django.shortcuts import render

from aifinops.core.selectors import audit_events_for
from aifinops.core.spreadsheet import csv_response, safe_text

from . import selectors, spend, workspace
from .catalog import routing_guidance_rows


def use_case_list(request):
    filterset = selectors.use_case_filterset(user=request.user, filters=request.GET)
    qs = filterset.qs if request.GET.get("sort") else filterset.qs.order_by("name")
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    context = {"filter": filterset, "page": page, "querystring": _without_page(request.GET)}
    template = "portfolio/partials/_use_case_table.html" if request.htmx else "portfolio/use_case_list.html"
    return render(request, template, context)


def use_case_detail(request, key, tab=workspace.OVERVIEW):
    """The use case's workspace on one tab: the whole page, or for htmx the tab alone.

    A history restore (back or forward past htmx's cache) asks for the whole page."""
    use_case = selectors.use_case_get(user=request.user, key=key)
    partial = request.htmx and not request.htmx.history_restore_request
    header = None if partial else workspace.header_context(use_case=use_case)
    context = {
        "use_case": use_case,
        "tab": tab,
        "tab_template": f"portfolio/workspace/_tab_{tab}.html",
        "tabs": workspace.tab_links(use_case, tab),
        **(header or {}),
        **workspace.tab_context(request, use_case, tab, header=header),
    }
    template = "portfolio/workspace/_tab.html" if partial else "portfolio/use_case_detail.html"
    return render(request, template, context)


CSV_COLUMNS = [
    ("key", lambda uc: uc.key),
    ("name", lambda uc: uc.name),
    ("team", lambda uc: uc.team.name),
    ("stage", lambda uc: uc.stage),
    ("risk_tier", lambda uc: uc.risk_tier),
    ("autonomy_level", lambda uc: uc.autonomy_level),
    ("business_owner", lambda uc: uc.business_owner.get_username() if uc.business_owner else ""),
    ("technical_owner", lambda uc: uc.technical_owner.get_username() if uc.technical_owner else ""),
    ("cost_center", lambda uc: uc.cost_center),
    ("expected_monthly_cost", lambda uc: uc.expected_monthly_cost),
    ("currency", lambda uc: uc.currency),
    ("value_per_outcome", lambda uc: uc.value_per_outcome),
    ("outcomes_per_month", lambda uc: uc.outcomes_per_month),
    ("environment", lambda uc: uc.environment),
    ("created_at", lambda uc: uc.created_at.isoformat()),
]


def use_case_export(request):
    """The filtered portfolio list as CSV, streamed, with the same filters and visibility as the page."""
    filterset = selectors.use_case_filterset(user=request.user, filters=request.GET)
    rows = ([safe_text(get(uc)) for _, get in CSV_COLUMNS] for uc in filterset.qs.iterator(chunk_size=500))
    return csv_response([name for name, _ in CSV_COLUMNS], rows, filename="aifinops-use-cases.csv")


def team_list(request):
    return render(request, "portfolio/team_list.html", {"teams": selectors.team_list(user=request.user)})


def team_detail(request, slug):
    team = selectors.team_get(user=request.user, slug=slug)
    summary = spend.team_spend_summary(user=request.user, team=team)
    return render(
        request,
        "portfolio/team_detail.html",
        {
            "team": team,
            "use_cases": selectors.use_case_list(user=request.user, filters={"team": team.slug}),
            "spend": summary,
            "trend_chart": spend.monthly_trend_chart(
                summary["trend"], title=f"{team.name}: AI spend per month"
            ),
            "history": audit_events_for(team),
        },
    )


def model_catalog(request):
    return render(
        request,
        "portfolio/model_catalog.html",
        {"models": selectors.ai_model_list(), "guidance": routing_guidance_rows()},
    )


def _without_page(params):
    params = params.copy()
    params.pop("page", None)
    return params.urlencode()
