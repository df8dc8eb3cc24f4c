from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from aifinops.core import permissions
from aifinops.core.exceptions import ConflictError
from aifinops.core.selectors import audit_events_for
from portfolio.catalog import estimate_monthly_cost, routing_guidance_rows
from portfolio.models import AIModel, Team

from . import review, selectors, services
from .forms import DRAFT, SUBMIT, IntakeForm
from .models import IntakeRequest
from .validation import AGENTIC


def intake_list(request):
    scope = request.GET.get("scope", "mine")
    if scope not in selectors.SCOPES or (scope == "all" and not permissions.sees_all_teams(request.user)):
        scope = "mine"
    filterset = selectors.intake_list(user=request.user, scope=scope, filters=request.GET)
    page = Paginator(filterset.qs, 25).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "intake/list.html",
        {
            "filter": filterset,
            "page": page,
            "scope": scope,
            "can_see_all": permissions.sees_all_teams(request.user),
            "can_create": permissions.can_create_intake(request.user),
            "querystring": params.urlencode(),
        },
    )


def _save_from_form(request, form, intake=None):
    """Save the draft and, if asked, submit it, in one transaction. Returns the intake or None."""
    try:
        with transaction.atomic():
            intake = services.intake_save(actor=request.user, values=form.cleaned_data, intake=intake)
            if form.mode == SUBMIT:
                intake = services.intake_submit(actor=request.user, intake=intake)
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return None
    except ConflictError as exc:
        form.add_error(None, str(exc))
        return None
    return intake


def _form_page(request, form, intake=None):
    data = form.data if form.is_bound else _initial_data(form)
    return render(
        request,
        "intake/form.html",
        {
            "form": form,
            "intake": intake,
            "show_agent": form["autonomy_level"].value() in AGENTIC,
            "guidance": routing_guidance_rows(),
            **_estimate_context(data),
        },
    )


def _initial_data(form):
    instance = form.instance
    if not instance.pk:
        return {}
    return {
        "ai_models": [m.ref for m in instance.ai_models.all()],
        "expected_calls_per_month": instance.expected_calls_per_month,
        "input_tokens_per_call": instance.input_tokens_per_call,
        "output_tokens_per_call": instance.output_tokens_per_call,
    }


def intake_create(request):
    permissions.require(request.user, permissions.CREATE_INTAKE)
    if request.method == "POST":
        mode = SUBMIT if "submit" in request.POST else DRAFT
        form = IntakeForm(request.POST, user=request.user, mode=mode)
        if form.is_valid():
            intake = _save_from_form(request, form)
            if intake is not None:
                return _after_save(request, intake, mode)
    else:
        form = IntakeForm(user=request.user)
        teams = list(form.fields["team"].queryset[:2])
        if len(teams) == 1:
            form.initial.update(team=teams[0].slug, business_owner=request.user.username)
            if "tag_function" in form.fields:
                form.fields["tag_function"].initial = teams[0].business_function
    return _form_page(request, form)


def intake_edit(request, pk):
    intake = selectors.intake_get(user=request.user, pk=pk)
    permissions.require(request.user, permissions.EDIT_INTAKE, intake)
    if request.method == "POST":
        mode = SUBMIT if "submit" in request.POST else DRAFT
        form = IntakeForm(request.POST, instance=intake, user=request.user, mode=mode)
        if form.is_valid():
            saved = _save_from_form(request, form, intake=intake)
            if saved is not None:
                return _after_save(request, saved, mode)
    else:
        form = IntakeForm(instance=intake, user=request.user)
    return _form_page(request, form, intake)


def _after_save(request, intake, mode):
    if mode == DRAFT:
        messages.success(request, f"Draft {intake.reference} saved. You can come back to it from Intake.")
        return redirect("intake:edit", pk=intake.pk)
    if intake.use_case_id:
        messages.success(
            request,
            f"{intake.reference} is low risk: it is now the Concept use case “{intake.use_case.name}”.",
        )
    else:
        messages.info(
            request, f"{intake.reference} needs review: it waits for the council or a platform admin."
        )
    return redirect("intake:detail", pk=intake.pk)


def _detail(request, intake, *, status=200, reject=None):
    can_decide = permissions.can_decide_intake(request.user, intake)
    return render(
        request,
        "intake/detail.html",
        {
            "intake": intake,
            "history": audit_events_for(intake),
            "council_review": review.review_of(intake) if intake.review_required else None,
            "can_edit": permissions.can_edit_intake(request.user, intake),
            "can_withdraw": permissions.can_withdraw_intake(request.user, intake),
            "can_decide": can_decide,
            "reject_words": services.intake_reject_words(intake) if can_decide else "",
            "reject": reject or {},
        },
        status=status,
    )


def intake_detail(request, pk):
    return _detail(request, selectors.intake_get(user=request.user, pk=pk))


def _act(request, pk, action, success):
    intake = selectors.intake_get(user=request.user, pk=pk)
    try:
        action(intake)
    except ValidationError as exc:
        for errors in exc.message_dict.values():
            for error in errors:
                messages.error(request, error)
    except ConflictError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, success)
    return redirect("intake:detail", pk=pk)


@require_POST
def intake_withdraw(request, pk):
    return _act(
        request,
        pk,
        lambda i: services.intake_withdraw(actor=request.user, intake=i, note=request.POST.get("note", "")),
        "Intake withdrawn.",
    )


@require_POST
def intake_accept(request, pk):
    return _act(
        request,
        pk,
        lambda i: services.intake_accept(actor=request.user, intake=i, note=request.POST.get("note", "")),
        "Intake accepted: the use case is registered at Concept.",
    )


@require_POST
def intake_reject(request, pk):
    """Reject with the reason, once confirmed. Without `confirm` the page comes back (400) with the
    reason kept and the confirmation open: what the requester will be told, that the intake closes."""
    intake = selectors.intake_get(user=request.user, pk=pk)
    reason = request.POST.get("reason", "")
    try:
        services.intake_reject(
            actor=request.user, intake=intake, reason=reason, confirm=request.POST.get("confirm") == "yes"
        )
    except ValidationError as exc:
        errors = exc.message_dict
        if "confirm" not in errors:
            for error in (e for messages_ in errors.values() for e in messages_):
                messages.error(request, error)
            return redirect("intake:detail", pk=pk)
        return _detail(request, intake, status=400, reject={"reason": reason, "errors": errors["confirm"]})
    except ConflictError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Intake rejected; the team has been told why.")
    return redirect("intake:detail", pk=pk)


# htmx fragments of the form.


def _instance_for(request):
    pk = request.POST.get("intake_id") or request.GET.get("intake_id")
    if pk and pk.isdigit():
        intake = IntakeRequest.objects.filter(pk=pk).first()
        if intake is not None and permissions.can_edit_intake(request.user, intake):
            return intake
    return None


@require_POST
def validate_field(request):
    """Re-render one field with the messages a submission would give it, as the user leaves it."""
    form = IntakeForm(request.POST, instance=_instance_for(request), user=request.user, mode=SUBMIT)
    name = request.POST.get("_field", "")
    if name not in form.fields:
        return render(request, "intake/partials/_nothing.html")
    form.is_valid()
    return render(request, "intake/partials/_field.html", {"field": form[name]})


def agent_section(request):
    """The agent controls, shown only when the chosen autonomy is agentic."""
    form = IntakeForm(instance=_instance_for(request), user=request.user)
    show = request.GET.get("autonomy_level") in AGENTIC
    return render(request, "intake/partials/_agent_section.html", {"form": form, "show_agent": show})


def _positive_int(value):
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


def cost_estimate(request):
    """The calculator: calls a month times tokens a call, at the first chosen model's list prices."""
    data = request.POST if request.method == "POST" else request.GET
    return render(request, "intake/partials/_estimate.html", _estimate_context(data))


def _estimate_context(data):
    refs = data.getlist("ai_models") if hasattr(data, "getlist") else data.get("ai_models") or []
    model = AIModel.objects.filter(ref__in=refs).select_related("provider").order_by("ref").first()
    calls = _positive_int(data.get("expected_calls_per_month"))
    tokens_in = _positive_int(data.get("input_tokens_per_call"))
    tokens_out = _positive_int(data.get("output_tokens_per_call"))
    estimate, missing = None, []
    if model is None:
        missing.append("a model from the catalog")
    if calls is None:
        missing.append("calls per month")
    if tokens_in is None:
        missing.append("input tokens per call")
    if tokens_out is None:
        missing.append("output tokens per call")
    if not missing:
        estimate = estimate_monthly_cost(
            model=model, calls_per_month=calls, input_tokens=tokens_in, output_tokens=tokens_out
        )
    return {"estimate": estimate, "model": model, "missing": missing}


def duplicates(request):
    """Use cases and open intakes of the same team that look like this one."""
    data = request.POST if request.method == "POST" else request.GET
    team = Team.objects.filter(slug=data.get("team")).first()
    if team is not None and not permissions.can_view_team(request.user, team):
        team = None
    similar = selectors.similar_use_cases(
        team=team,
        name=data.get("name", ""),
        purpose=data.get("purpose", ""),
        exclude_intake=_instance_for(request),
    )
    return render(request, "intake/partials/_duplicates.html", {"similar": similar})
