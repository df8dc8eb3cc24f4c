"""Pages and htmx fragments for stage gates: checklist items, guardrails, approvals, moves."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from aifinops.core import permissions
from aifinops.core.exceptions import ConflictError, Unprocessable

from .. import selectors, services
from ..choices import Stage
from . import rules as gates
from .forms import AttestForm, GuardrailsForm, NotApplicableForm

STAGE_PATH = [*gates.FORWARD]


def stage_context(request, use_case, *, open_stage=None, errors=None, economics_viable=None):
    """What the use-case page needs for templates/portfolio/partials/_stage_section.html.

    `economics_viable` is the verdict of the page's unit economics, when it has them already."""
    user = request.user
    next_stage = gates.next_stage(use_case)
    all_gates = selectors.stage_gates(use_case=use_case, economics_viable=economics_viable)
    review = gates.review_reasons(use_case, next_stage) if next_stage else []
    can_manage = permissions.can_manage_use_case(user, use_case)
    approvals = selectors.stage_approvals_open(use_case=use_case)
    return {
        "stage_path": [
            (
                value,
                Stage(value).label,
                STAGE_PATH.index(value) <= STAGE_PATH.index(use_case.stage)
                if use_case.stage in STAGE_PATH
                else False,
            )
            for value in STAGE_PATH
        ],
        "next_stage": next_stage,
        "next_stage_label": Stage(next_stage).label if next_stage else "",
        "gates": [(stage, Stage(stage).label, all_gates[stage]) for stage in [*STAGE_PATH[1:], Stage.SUNSET]],
        "open_stage": open_stage or next_stage,
        "next_gate": all_gates.get(next_stage),
        "review_reasons": review,
        "next_approval": next((a for a in approvals if a.target_stage == next_stage), None),
        "move_requests": selectors.stage_requests_open(use_case=use_case),
        "can_manage": can_manage,
        "can_approve": permissions.can_approve_stage(user) and bool(review),
        "can_move": bool(next_stage)
        and permissions.can_execute_move(user, use_case, target_stage=next_stage, reviewed=bool(review)),
        "can_request": bool(next_stage) and permissions.can_request_move(user, use_case),
        "can_sunset": use_case.stage != Stage.SUNSET
        and permissions.can_execute_move(user, use_case, target_stage=Stage.SUNSET, reviewed=False),
        "guardrails_form": GuardrailsForm(instance=use_case),
        "gate_errors": errors or {},
    }


def _section(request, use_case, **kwargs):
    use_case = selectors.use_case_get(user=request.user, key=use_case.key)
    return render(
        request,
        "portfolio/partials/_stage_section.html",
        {"use_case": use_case, **stage_context(request, use_case, **kwargs)},
    )


def _respond(request, use_case, *, success, stage=None, action, reload=False):
    """Run `action`; answer htmx with the re-rendered section, a browser with a redirect.

    `reload`: a change the whole page shows (a stage move) sends htmx to the page again once done.
    Refusals a browser gets as messages are tagged `stage-alert`: the section clears them when it
    is next re-rendered, so an old "cannot move" does not outlive the items it named."""
    errors = {}
    try:
        action()
    except ValidationError as exc:
        errors = exc.message_dict
    except (ConflictError, Unprocessable) as exc:
        errors = {
            "__all__": [str(exc)],
            **({"details": exc.details} if isinstance(exc, Unprocessable) else {}),
        }
    if request.htmx and not (reload and not errors):
        return _section(request, use_case, open_stage=stage, errors=errors)
    if errors:
        for field, field_errors in errors.items():
            if field == "details":
                for d in field_errors:
                    messages.error(request, f"{d['item']}: {d['missing']}", extra_tags="stage-alert")
            else:
                for e in field_errors:
                    messages.error(request, e, extra_tags="stage-alert")
    else:
        messages.success(request, success)
    # Back to the tab of the page the form was on.
    if request.htmx:
        return HttpResponseClientRedirect(use_case.get_tab_url("gates"))
    return redirect(use_case.get_tab_url("gates"))


@require_POST
def gate_item_attest(request, key, code):
    use_case = selectors.use_case_get(user=request.user, key=key)
    form = AttestForm(request.POST)
    item = gates.ITEMS_BY_CODE.get(code)
    stage = item.stage if item else None

    def action():
        if not form.is_valid():
            raise ValidationError({f"{code}:{f}": e for f, e in form.errors.items()})
        services.gate_item_attest(
            actor=request.user,
            use_case=use_case,
            code=code,
            evidence=form.cleaned_data["evidence"],
            on=form.cleaned_data.get("on"),
        )

    return _respond(request, use_case, success="Item attested.", stage=stage, action=action)


@require_POST
def gate_item_not_applicable(request, key, code):
    use_case = selectors.use_case_get(user=request.user, key=key)
    form = NotApplicableForm(request.POST)
    item = gates.ITEMS_BY_CODE.get(code)

    def action():
        if not form.is_valid():
            raise ValidationError({f"{code}:reason": ["Say why this item does not apply to this use case."]})
        services.gate_item_not_applicable(
            actor=request.user, use_case=use_case, code=code, reason=form.cleaned_data["reason"]
        )

    return _respond(
        request, use_case, success="Marked not applicable.", stage=item.stage if item else None, action=action
    )


@require_POST
def gate_item_reopen(request, key, code):
    use_case = selectors.use_case_get(user=request.user, key=key)
    item = gates.ITEMS_BY_CODE.get(code)
    return _respond(
        request,
        use_case,
        success="Item reopened.",
        stage=item.stage if item else None,
        action=lambda: services.gate_item_reopen(actor=request.user, use_case=use_case, code=code),
    )


@require_POST
def guardrails_update(request, key):
    use_case = selectors.use_case_get(user=request.user, key=key)
    permissions.require(request.user, permissions.CHANGE_GUARDRAILS, use_case)
    form = GuardrailsForm(request.POST, instance=use_case)

    def action():
        if not form.is_valid():
            raise ValidationError({f"guardrails:{f}": e for f, e in form.errors.items()})
        services.use_case_guardrails_update(actor=request.user, use_case=use_case, values=form.cleaned_data)

    return _respond(request, use_case, success="Guardrail settings saved.", stage=Stage.PILOT, action=action)


@require_POST
def stage_move_request(request, key):
    use_case = selectors.use_case_get(user=request.user, key=key)
    return _respond(
        request,
        use_case,
        success="Move requested: the council chair has been told.",
        action=lambda: services.stage_move_request(
            actor=request.user,
            use_case=use_case,
            target_stage=request.POST.get("target_stage", ""),
            note=request.POST.get("note", ""),
        ),
    )


@require_POST
def stage_approve(request, key):
    use_case = selectors.use_case_get(user=request.user, key=key)
    return _respond(
        request,
        use_case,
        success="Approval recorded for the next milestone.",
        action=lambda: services.stage_approval_record(
            actor=request.user,
            use_case=use_case,
            target_stage=request.POST.get("target_stage", ""),
            note=request.POST.get("note", ""),
        ),
    )


@require_POST
def stage_move(request, key):
    use_case = selectors.use_case_get(user=request.user, key=key)
    target = request.POST.get("target_stage", "")
    label = Stage(target).label if target in Stage.values else target
    return _respond(
        request,
        use_case,
        success=f"Moved to {label}.",
        reload=True,
        action=lambda: services.use_case_move(
            actor=request.user,
            use_case=use_case,
            target_stage=target,
            confirm=request.POST.get("confirm") == "yes",
        ),
    )


urlpatterns = [
    path("use-cases/<slug:key>/gate/<slug:code>/attest/", gate_item_attest, name="gate_item_attest"),
    path(
        "use-cases/<slug:key>/gate/<slug:code>/not-applicable/", gate_item_not_applicable, name="gate_item_na"
    ),
    path("use-cases/<slug:key>/gate/<slug:code>/reopen/", gate_item_reopen, name="gate_item_reopen"),
    path("use-cases/<slug:key>/guardrails/", guardrails_update, name="guardrails_update"),
    path("use-cases/<slug:key>/request-move/", stage_move_request, name="stage_move_request"),
    path("use-cases/<slug:key>/approve/", stage_approve, name="stage_approve"),
    path("use-cases/<slug:key>/move/", stage_move, name="stage_move"),
]
