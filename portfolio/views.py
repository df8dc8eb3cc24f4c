from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from aifinops.core import periods, permissions
from aifinops.core.selectors import audit_events_for
from aifinops.core.spreadsheet import csv_response, safe_text
from aifinops.core.templatetags.afo import money

from . import selectors, spend, workspace
from .catalog import routing_guidance_rows
from .forms import AIModelEditForm, PriceAddForm
from .services import prices as price_services

# The columns of the list a person can sort by, as the filter's sort names them.
SORTABLE = ("name", "team", "stage", "risk", "autonomy", "cost", "actual_mtd", "actual_last")


def use_case_list(request):
    filterset, page = selectors.use_case_page(
        user=request.user, filters=request.GET, page_number=request.GET.get("page")
    )
    sort = request.GET.get("sort", "")
    context = {
        "filter": filterset,
        "page": page,
        "querystring": _without_page(request.GET),
        "sort": sort if sort.lstrip("-") in SORTABLE else "name",
        "sort_base": _without(request.GET, "page", "sort"),
    }
    template = "portfolio/partials/_use_case_table.html" if request.htmx else "portfolio/use_case_list.html"
    # A filter or sort the list does not know is named, not silently dropped.
    return render(request, template, context, status=400 if filterset.errors else 200)


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


# Headers and choices in people's words, as the page shows them and the dashboard's CSVs write them.
CSV_COLUMNS = [
    ("key", lambda uc: uc.key),
    ("name", lambda uc: uc.name),
    ("team", lambda uc: uc.team.name),
    ("stage", lambda uc: uc.get_stage_display()),
    ("risk tier", lambda uc: uc.get_risk_tier_display()),
    ("autonomy level", lambda uc: uc.get_autonomy_level_display()),
    ("business owner", lambda uc: uc.business_owner.get_username() if uc.business_owner else ""),
    ("technical owner", lambda uc: uc.technical_owner.get_username() if uc.technical_owner else ""),
    ("cost center", lambda uc: uc.cost_center),
    ("expected monthly cost", lambda uc: uc.expected_monthly_cost),
    ("currency", lambda uc: uc.currency),
    ("value per outcome", lambda uc: uc.value_per_outcome),
    ("outcomes per month", lambda uc: uc.outcomes_per_month),
    ("environment", lambda uc: uc.get_environment_display()),
    ("created at", lambda uc: uc.created_at.isoformat()),
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


def model_detail(request, pk, *, edit_form=None, price_form=None, status=200):
    """A model of the catalog: its price history and re-costings for everyone signed in, and for
    platform admins the forms that change its status, tier and prices."""
    model = selectors.ai_model_get(pk=pk)
    can_change = permissions.CHANGE_MODEL_CATALOG.predicate(request.user)
    if can_change:
        edit_form = edit_form or AIModelEditForm(initial={"status": model.status, "tier": model.tier})
        price_form = price_form or PriceAddForm(initial={"currency": model.currency})
    return render(
        request,
        "portfolio/model_detail.html",
        {
            "model": model,
            "prices": selectors.model_price_list(model=model),
            "in_force": selectors.price_in_force(model, periods.today()),
            "recostings": selectors.model_recosting_list(model=model),
            "history": audit_events_for(model),
            "can_change": can_change,
            "edit_form": edit_form,
            "price_form": price_form,
        },
        status=status,
    )


def _form_errors(form, exc):
    problems = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    for field, errors in problems.items():
        form.add_error(field if field in form.fields else None, errors)


@require_POST
def model_update(request, pk):
    permissions.require(request.user, permissions.CHANGE_MODEL_CATALOG)
    model = selectors.ai_model_get(pk=pk)
    form = AIModelEditForm(request.POST)
    if form.is_valid():
        try:
            changed = price_services.ai_model_update(actor=request.user, model=model, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, "Status and tier saved." if changed else "Nothing to change.")
            return redirect("portfolio:model_detail", pk=model.pk)
    return model_detail(request, pk, edit_form=form, status=400)


@require_POST
def model_price_add(request, pk):
    permissions.require(request.user, permissions.CHANGE_MODEL_CATALOG)
    model = selectors.ai_model_get(pk=pk)
    form = PriceAddForm(request.POST)
    if form.is_valid():
        try:
            change = price_services.price_add(
                actor=request.user, model=model, source="manual", **form.service_values()
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _price_added_message(change))
            return redirect("portfolio:model_detail", pk=model.pk)
    return model_detail(request, pk, price_form=form, status=400)


def _price_added_message(change):
    price = change.price
    text = f"Price added: {price.label}."
    recosting = change.recosting
    if recosting.since is None:
        return text + " It takes effect on that date; nothing to re-cost yet."
    if not recosting.events:
        return text + f" No estimated usage since {recosting.since:%Y-%m-%d} changed cost."
    totals = "; ".join(
        f"{money(recosting.before[currency], currency)} → {money(recosting.after.get(currency, 0), currency)}"
        for currency in sorted(recosting.before)
    )
    return (
        text
        + f" Re-costed {recosting.events:,} estimated usage event{'s' if recosting.events != 1 else ''}"
        + f" since {recosting.since:%Y-%m-%d}: {totals}."
    )


def _without_page(params):
    return _without(params, "page")


def _without(params, *names):
    params = params.copy()
    for name in names:
        params.pop(name, None)
    return params.urlencode()
