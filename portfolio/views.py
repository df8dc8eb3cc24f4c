from django.core.paginator import Paginator
from django.shortcuts import render

from aifinops.core.selectors import audit_events_for
from showback import charts as spend_charts
from showback import selectors as spend_selectors

from . import gate_views, selectors, value_views
from .catalog import routing_guidance_rows


def use_case_list(request):
    filterset = selectors.use_case_filterset(user=request.user, filters=request.GET)
    page = Paginator(filterset.qs.order_by("name"), 25).get_page(request.GET.get("page"))
    context = {"filter": filterset, "page": page, "querystring": _without_page(request.GET)}
    template = "portfolio/partials/_use_case_table.html" if request.htmx else "portfolio/use_case_list.html"
    return render(request, template, context)


def use_case_detail(request, key):
    use_case = selectors.use_case_get(user=request.user, key=key)
    return render(
        request,
        "portfolio/use_case_detail.html",
        {
            "use_case": use_case,
            "spend": spend_selectors.use_case_spend_summary(use_case=use_case),
            "history": audit_events_for(use_case),
            **gate_views.stage_context(request, use_case),
            **value_views.value_context(request, use_case),
        },
    )


def use_case_export(request):
    raise NotImplementedError


def team_list(request):
    return render(request, "portfolio/team_list.html", {"teams": selectors.team_list(user=request.user)})


def team_detail(request, slug):
    team = selectors.team_get(user=request.user, slug=slug)
    spend = spend_selectors.team_spend_summary(user=request.user, team=team)
    return render(
        request,
        "portfolio/team_detail.html",
        {
            "team": team,
            "use_cases": selectors.use_case_list(user=request.user, filters={"team": team.slug}),
            "spend": spend,
            "trend_chart": spend_charts.monthly_trend_chart(
                spend["trend"], title=f"{team.name}: AI spend per month"
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
