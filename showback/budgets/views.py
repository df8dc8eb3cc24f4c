"""Budget pages: the list with what is left, a budget's period, its alerts and increase requests,
and finance's team webhooks with their delivery log.

Every write is a POST that calls one service. Alert and request actions answer htmx with the row
that changed (with its message when the input was wrong) and plain posts with a redirect.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from aifinops.core import permissions
from aifinops.core.selectors import audit_events_for

from ..models import TeamWebhook
from . import selectors, services
from .charts import budget_burn_chart
from .filters import BudgetFilter
from .forms import AlertNoteForm, BudgetForm, IncreaseDecisionForm, TeamWebhookForm, add_service_errors


def _require_manager(request):
    permissions.require(request.user, permissions.SET_BUDGETS)


OPEN_SHOWN = 20


def budget_list(request):
    """The budgets the user may see, each with its spend to date, what is left and its state."""
    filterset = BudgetFilter(request.GET or None, queryset=selectors.budget_queryset(user=request.user))
    rows = selectors.budget_list(user=request.user, filterset_class=BudgetFilter, filters=request.GET)
    # The cards list the newest open alerts and requests; ?open=all (their "See all") every one.
    limit = None if request.GET.get("open") == "all" else OPEN_SHOWN
    return render(
        request,
        "showback/budgets/list.html",
        {
            "filter": filterset,
            "rows": rows,
            "alerts": selectors.open_alert_list(user=request.user, limit=limit),
            "alerts_total": selectors.open_alert_count(user=request.user),
            "requests": selectors.open_increase_requests(user=request.user, limit=limit),
            "requests_total": selectors.open_increase_request_count(user=request.user),
            "can_manage": permissions.can_manage_budgets(request.user),
            "min_days": selectors.MIN_DAYS_FOR_PROJECTION,
        },
    )


def _budget_form_page(request, budget=None):
    _require_manager(request)
    if request.method == "POST":
        form = BudgetForm.for_budget(budget, request.POST) if budget else BudgetForm(request.POST)
        if form.is_valid():
            try:
                saved = services.budget_save(actor=request.user, values=form.service_values(), budget=budget)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Budget “{saved.name}” saved. It is checked against spend now.")
                return redirect("showback:budget_detail", pk=saved.pk)
    else:
        initial = {}
        for name in ("scope", "team", "use_case", "provider", "model", "function"):
            if request.GET.get(name):
                initial[name] = request.GET[name]
        form = BudgetForm.for_budget(budget) if budget else BudgetForm(initial=initial)
    return render(request, "showback/budgets/form.html", {"form": form, "budget": budget})


def budget_create(request):
    return _budget_form_page(request)


def budget_edit(request, pk):
    _require_manager(request)
    return _budget_form_page(request, selectors.budget_get(user=request.user, pk=pk))


def _detail_context(request, budget):
    status = selectors.budget_status(budget)
    can_handle = permissions.can_handle_budget_alert(request.user, budget)
    can_decide = permissions.can_decide_budget_increase(request.user, budget)
    daily = selectors.budget_daily_spend(budget=budget, start=status.period_start, end=status.as_of)
    cap = (
        selectors.use_case_cap_status(budget.use_case)
        if budget.scope in selectors.USE_CASE_CAP_SCOPES
        else None
    )
    return {
        "budget": budget,
        "status": status,
        "cap": cap,
        "chart": budget_burn_chart(daily, status, title=f"{budget.name}: spend this period"),
        "alerts": [
            (a, AlertNoteForm() if can_handle else None) for a in selectors.budget_alerts(budget=budget)
        ],
        "requests": [
            (r, IncreaseDecisionForm() if can_decide else None)
            for r in selectors.budget_increase_requests(budget=budget)
        ],
        "can_manage": permissions.can_manage_budgets(request.user),
        "history": audit_events_for(budget),
        "min_days": selectors.MIN_DAYS_FOR_PROJECTION,
    }


def budget_detail(request, pk):
    budget = selectors.budget_get(user=request.user, pk=pk)
    return render(request, "showback/budgets/detail.html", _detail_context(request, budget))


def _visible(queryset, pk):
    obj = queryset.filter(pk=pk).first()
    if obj is None:
        raise Http404
    return obj


@dataclass(frozen=True)
class _Row:
    """A row of the budget page that takes a decision: an alert or an increase request."""

    queryset: Callable  # the rows the user may see
    form: type
    may_act: Callable  # (user, budget): whether the row offers its form
    partial: str


ALERT_ROW = _Row(
    selectors.alert_queryset,
    AlertNoteForm,
    permissions.can_handle_budget_alert,
    "showback/budgets/partials/_alert.html",
)
REQUEST_ROW = _Row(
    selectors.increase_request_queryset,
    IncreaseDecisionForm,
    permissions.can_decide_budget_increase,
    "showback/budgets/partials/_request.html",
)


def _act(request, pk, row, *, run, success):
    """Validate the form and run the service on the row; answer htmx with that row alone (with its
    message or the form's errors), a plain post with a redirect to the budget."""
    item = _visible(row.queryset(user=request.user), pk)
    form = row.form(request.POST)
    if form.is_valid():
        try:
            run(item, form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if not request.htmx:
                messages.success(request, success)
                return redirect("showback:budget_detail", pk=item.budget_id)
            item = _visible(row.queryset(user=request.user), pk)
            form = row.form() if row.may_act(request.user, item.budget) else None
            return render(request, row.partial, {"item": item, "item_form": form, "notice": success})
    if not request.htmx:
        for error in [e for errors in form.errors.values() for e in errors]:
            messages.error(request, error)
        return redirect("showback:budget_detail", pk=item.budget_id)
    return render(request, row.partial, {"item": item, "item_form": form, "notice": None})


@require_POST
def alert_acknowledge(request, pk):
    return _act(
        request,
        pk,
        ALERT_ROW,
        run=lambda alert, data: services.budget_alert_acknowledge(
            actor=request.user, alert=alert, note=data["note"]
        ),
        success="Alert acknowledged.",
    )


@require_POST
def alert_resolve(request, pk):
    return _act(
        request,
        pk,
        ALERT_ROW,
        run=lambda alert, data: services.budget_alert_resolve(
            actor=request.user, alert=alert, note=data["note"]
        ),
        success="Alert resolved.",
    )


@require_POST
def increase_approve(request, pk):
    return _act(
        request,
        pk,
        REQUEST_ROW,
        run=lambda increase, data: services.budget_increase_approve(
            actor=request.user, request=increase, amount=data["amount"], note=data["note"]
        ),
        success="Increase approved: the budget is raised.",
    )


@require_POST
def increase_reject(request, pk):
    return _act(
        request,
        pk,
        REQUEST_ROW,
        run=lambda increase, data: services.budget_increase_reject(
            actor=request.user, request=increase, note=data["note"]
        ),
        success="Increase rejected.",
    )


def webhooks(request, pk=None):
    """Finance's team webhooks, a form to add or change one, and the delivery log."""
    _require_manager(request)
    webhook = get_object_or_404(TeamWebhook.objects.select_related("team"), pk=pk) if pk else None
    initial = (
        {"team": webhook.team.slug, "url": webhook.url, "active": webhook.active}
        if webhook is not None
        else None
    )
    if request.method == "POST":
        form = TeamWebhookForm(request.POST, initial=initial)
        if form.is_valid():
            values = dict(form.cleaned_data)
            if webhook is not None and not values["secret"]:
                values.pop("secret")  # left empty on edit: keep the secret it has
            try:
                services.team_webhook_save(actor=request.user, values=values, webhook=webhook)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Webhook saved.")
                return redirect("showback:budget_webhooks")
    else:
        form = TeamWebhookForm(initial=initial)
    return render(
        request,
        "showback/budgets/webhooks.html",
        {
            "form": form,
            "webhook": webhook,
            "webhooks": selectors.team_webhook_list(),
            "deliveries": selectors.webhook_delivery_list(),
        },
    )
