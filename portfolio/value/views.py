"""Pages and htmx fragments for milestones, value signals, cost lines and the optimization backlog.

Every write is a POST that calls one service. With htmx the answer is the card that changed (plus
the economics card, out of band, when costs or outcomes changed, and, when a gate reads what
changed, the stage section if the page that asked shows it), showing the form again with its
messages when the input was wrong; without htmx it is a redirect back to the use-case page.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import Resolver404, path, resolve
from django.views.decorators.http import require_POST

from aifinops.core import permissions

from .. import selectors
from ..filters import OptimizationFilter
from ..gates.views import stage_context
from ..models import CostLine, Milestone, OptimizationItem
from . import charts, economics, services
from .forms import CostLineForm, MilestoneForm, OptimizationForm, ValueSignalForm

PARTS = {
    "milestones": "portfolio/partials/_milestones.html",
    "signals": "portfolio/partials/_value_signals.html",
    "economics": "portfolio/partials/_economics.html",
    "costs": "portfolio/partials/_cost_lines.html",
    "backlog": "portfolio/partials/_backlog.html",
}
# Cards whose change moves the unit economics, which then travel along out of band.
MOVES_ECONOMICS = ("signals", "costs")
# Cards whose change a stage gate reads (last month's value signal, a pending review milestone, the
# margin at scale, missed milestones for sunset): the stage section travels along too, re-rendered.
MOVES_GATES = ("milestones", "signals", "costs")
# The tabs of the use-case page that hold the stage section (templates/portfolio/workspace/).
STAGE_SECTION_TABS = ("portfolio:use_case_tab_gates",)
STAGE_ALERTS_CLEARED = '<div id="stage-alerts" hx-swap-oob="true"></div>'


def value_context(request, use_case, *, bound=None, notice=None, sections=("value", "backlog")):
    """What the use-case page needs for the value cards (templates/portfolio/partials/_value_*.html).

    `bound` replaces an empty form by the one a person just sent, with its messages: keys are the
    form names below, or ("milestone", pk) / ("optimization", pk) for a row's form. `sections` says
    which cards to read: "value" (unit economics, milestones, value signals, cost lines) and
    "backlog" (the optimization backlog); each tab of the page reads only its own.
    """
    bound = bound or {}
    can_manage = permissions.can_manage_use_case(request.user, use_case)
    context = {"can_manage": can_manage, "notice": notice}

    def row_form(kind, obj, make):
        if not can_manage:
            return None
        return bound.get((kind, obj.pk)) or make(obj)

    if "value" in sections:
        overview = economics.economics_overview(use_case=use_case)
        milestones = selectors.milestone_list(use_case=use_case)
        context |= {
            "milestones": [(m, row_form("milestone", m, MilestoneForm.for_milestone)) for m in milestones],
            "missed_in_a_row": use_case.consecutive_missed_milestones,
            "signals": selectors.value_signal_list(use_case=use_case),
            "cost_lines": selectors.cost_line_list(use_case=use_case),
            "economics": overview.current,
            "history": overview.history,
            "chart": charts.unit_economics_chart(overview.history, currency=use_case.currency),
            "milestone_form": bound.get("milestone_form") or (MilestoneForm() if can_manage else None),
            "signal_form": bound.get("signal_form") or (ValueSignalForm() if can_manage else None),
            "cost_form": bound.get("cost_form") or (CostLineForm() if can_manage else None),
        }
    if "backlog" in sections:
        optimizations = selectors.optimization_list(use_case=use_case)
        people = selectors.people_for_choice() if can_manage else []
        context |= {
            "optimizations": [
                (item, row_form("optimization", item, lambda o: OptimizationForm.for_item(o, people=people)))
                for item in optimizations
            ],
            "savings": selectors.savings_of(optimizations),
            "optimization_form": bound.get("optimization_form")
            or (
                OptimizationForm(
                    people=people,
                    initial={"owner": request.user.get_username(), "currency": use_case.currency},
                )
                if can_manage
                else None
            ),
        }
    return {"value": context}


def _parts_response(request, use_case, part, *, bound=None, notice=None):
    # Read again: the service may have changed the use case (its count of missed milestones).
    use_case = selectors.use_case_get(user=request.user, key=use_case.key)
    context = {
        "use_case": use_case,
        **value_context(
            request,
            use_case,
            bound=bound,
            notice={**notice, "part": part} if notice else None,
            sections=_sections_of(part),
        ),
    }
    html = render_to_string(PARTS[part], context, request=request)
    if part in MOVES_ECONOMICS:
        html += render_to_string(PARTS["economics"], {**context, "oob": True}, request=request)
    if part in MOVES_GATES:
        if _page_shows_stage_section(request, use_case):
            stage = stage_context(request, use_case, economics_viable=context["value"]["economics"].viable)
            html += render_to_string(
                "portfolio/partials/_stage_section.html",
                {"use_case": use_case, **stage, "stage_oob": True},
                request=request,
            )
        else:
            # The gates tab reads afresh when opened; old refusals at the top of the page (base.html's
            # #stage-alerts, on every page) may name what just changed, so they go all the same.
            html += STAGE_ALERTS_CLEARED
    return HttpResponse(html)


def _page_shows_stage_section(request, use_case):
    """Whether the page that sent this htmx request (its HX-Current-URL) holds the stage section.

    Sent out of band to a page without it, the section finds no target and htmx logs an error."""
    current = request.htmx.current_url_abs_path if request.htmx else None
    if not current:
        return False
    try:
        match = resolve(current.split("?", 1)[0].split("#", 1)[0])
    except Resolver404:
        return False
    return match.view_name in STAGE_SECTION_TABS and match.kwargs.get("key") == use_case.key


def _manageable_use_case(request, key):
    use_case = selectors.use_case_get(user=request.user, key=key)
    permissions.require(request.user, permissions.CHANGE_USE_CASE_RECORD, use_case)
    return use_case


def _sections_of(part):
    # The backlog has a tab of its own; the other cards are the value tab's.
    return ("backlog",) if part == "backlog" else ("value",)


def _back(use_case, part):
    """Back to the tab of the page that holds the card."""
    tab = "backlog" if part == "backlog" else "value"
    return redirect(f"{use_case.get_tab_url(tab)}#value-{part}")


def _write(request, use_case, *, part, run, success, form=None, slot=None):
    """Validate `form`, call the service through `run`, and answer with the card or a redirect."""
    if form is None or form.is_valid():
        try:
            run(form.service_values() if form is not None else {})
        except ValidationError as exc:
            problems = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
            if form is None:
                return _refused(request, use_case, part, problems)
            for field, errors in problems.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            if request.htmx:
                return _parts_response(request, use_case, part, notice={"level": "success", "text": success})
            messages.success(request, success)
            return _back(use_case, part)
    if request.htmx:
        return _parts_response(request, use_case, part, bound={slot: form})
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}: {error}" if label else error)
    return _back(use_case, part)


def _refused(request, use_case, part, problems):
    text = " ".join(str(m) for errors in problems.values() for m in errors)
    if request.htmx:
        return _parts_response(request, use_case, part, notice={"level": "danger", "text": text})
    messages.error(request, text)
    return _back(use_case, part)


# Milestones.


@require_POST
def milestone_create(request, key):
    use_case = _manageable_use_case(request, key)
    return _write(
        request,
        use_case,
        part="milestones",
        form=MilestoneForm(request.POST),
        slot="milestone_form",
        run=lambda v: services.milestone_create(actor=request.user, use_case=use_case, **v),
        success="Milestone added.",
    )


def _milestone(use_case, pk):
    return get_object_or_404(Milestone, pk=pk, use_case=use_case)


@require_POST
def milestone_update(request, key, pk):
    use_case = _manageable_use_case(request, key)
    milestone = _milestone(use_case, pk)
    return _write(
        request,
        use_case,
        part="milestones",
        form=MilestoneForm.for_milestone(milestone, request.POST),
        slot=("milestone", milestone.pk),
        run=lambda v: services.milestone_update(actor=request.user, milestone=milestone, **v),
        success="Milestone updated.",
    )


@require_POST
def milestone_met(request, key, pk):
    use_case = _manageable_use_case(request, key)
    milestone = _milestone(use_case, pk)
    return _write(
        request,
        use_case,
        part="milestones",
        run=lambda v: services.milestone_mark_met(actor=request.user, milestone=milestone),
        success=f"“{milestone.name}” is met; the count of missed milestones starts again from zero.",
    )


@require_POST
def milestone_missed(request, key, pk):
    use_case = _manageable_use_case(request, key)
    milestone = _milestone(use_case, pk)
    return _write(
        request,
        use_case,
        part="milestones",
        run=lambda v: services.milestone_mark_missed(actor=request.user, milestone=milestone),
        success=f"“{milestone.name}” is marked missed.",
    )


# Value signals and cost lines.


@require_POST
def value_signal_record(request, key):
    use_case = _manageable_use_case(request, key)
    return _write(
        request,
        use_case,
        part="signals",
        form=ValueSignalForm(request.POST),
        slot="signal_form",
        run=lambda v: services.value_signal_record(actor=request.user, use_case=use_case, **v),
        success="Value signal recorded.",
    )


@require_POST
def cost_line_record(request, key):
    use_case = _manageable_use_case(request, key)
    return _write(
        request,
        use_case,
        part="costs",
        form=CostLineForm(request.POST),
        slot="cost_form",
        run=lambda v: services.cost_line_record(actor=request.user, use_case=use_case, **v),
        success="Cost line recorded.",
    )


@require_POST
def cost_line_delete(request, key, pk):
    use_case = _manageable_use_case(request, key)
    line = get_object_or_404(CostLine, pk=pk, use_case=use_case)
    return _write(
        request,
        use_case,
        part="costs",
        run=lambda v: services.cost_line_delete(actor=request.user, cost_line=line),
        success="Cost line removed.",
    )


# The optimization backlog.


@require_POST
def optimization_create(request, key):
    use_case = _manageable_use_case(request, key)
    return _write(
        request,
        use_case,
        part="backlog",
        form=OptimizationForm(request.POST, people=selectors.people_for_choice()),
        slot="optimization_form",
        run=lambda v: services.optimization_create(actor=request.user, use_case=use_case, **v),
        success="Added to the optimization backlog.",
    )


@require_POST
def optimization_update(request, key, pk):
    use_case = _manageable_use_case(request, key)
    item = get_object_or_404(OptimizationItem, pk=pk, use_case=use_case)
    return _write(
        request,
        use_case,
        part="backlog",
        form=OptimizationForm.for_item(item, request.POST, people=selectors.people_for_choice()),
        slot=("optimization", item.pk),
        run=lambda v: services.optimization_update(actor=request.user, item=item, **v),
        success="Backlog item updated.",
    )


def optimization_backlog(request):
    """Every backlog item the user may see, across the portfolio, with savings totals per currency."""
    filterset = OptimizationFilter(
        request.GET or None, queryset=selectors.optimization_queryset(user=request.user)
    )
    filterset.form.fields["team"].queryset = selectors.backlog_teams(user=request.user)
    items = filterset.qs.order_by(*selectors.backlog_order())
    page = Paginator(items, 50).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "portfolio/optimization_backlog.html",
        {
            "filter": filterset,
            "page": page,
            "totals": selectors.savings_totals(filterset.qs),
            "querystring": params.urlencode(),
        },
    )


urlpatterns = [
    path("use-cases/<slug:key>/milestones/", milestone_create, name="milestone_create"),
    path("use-cases/<slug:key>/milestones/<int:pk>/", milestone_update, name="milestone_update"),
    path("use-cases/<slug:key>/milestones/<int:pk>/met/", milestone_met, name="milestone_met"),
    path("use-cases/<slug:key>/milestones/<int:pk>/missed/", milestone_missed, name="milestone_missed"),
    path("use-cases/<slug:key>/value-signals/", value_signal_record, name="value_signal_record"),
    path("use-cases/<slug:key>/cost-lines/", cost_line_record, name="cost_line_record"),
    path("use-cases/<slug:key>/cost-lines/<int:pk>/delete/", cost_line_delete, name="cost_line_delete"),
    path("use-cases/<slug:key>/optimizations/", optimization_create, name="optimization_create"),
    path("use-cases/<slug:key>/optimizations/<int:pk>/", optimization_update, name="optimization_update"),
    path("backlog/", optimization_backlog, name="optimization_backlog"),
]
