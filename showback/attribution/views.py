"""Finance's attribution rules, and the spend no rule or tag attributes yet."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from aifinops.core import permissions

from ..models import AttributionRule
from . import selectors
from .forms import AttributionRuleForm
from .services import attribution_rule_delete, attribution_rule_save


def _check(request):
    permissions.require(request.user, permissions.KEEP_ATTRIBUTION_RULES)


def rule_list(request, pk=None):
    """The rules in priority order, and a form to add one (prefilled by "make a rule from this")."""
    _check(request)
    rule = get_object_or_404(AttributionRule, pk=pk) if pk else None
    if request.method == "POST":
        form = AttributionRuleForm(request.POST, instance=rule)
        if form.is_valid():
            attribution_rule_save(actor=request.user, values=dict(form.cleaned_data), rule=rule)
            messages.success(request, "Rule saved. Past spend is being re-attributed with it.")
            return redirect("showback:rule_list")
    else:
        form = AttributionRuleForm(instance=rule, initial=request.GET.dict() if rule is None else None)
    return render(
        request,
        "showback/rules.html",
        {"form": form, "rule": rule, "rules": selectors.attribution_rule_list()},
    )


@require_POST
def rule_delete(request, pk):
    _check(request)
    attribution_rule_delete(actor=request.user, rule=get_object_or_404(AttributionRule, pk=pk))
    messages.success(request, "Rule deleted. Past spend is being re-attributed without it.")
    return redirect("showback:rule_list")


def unattributed(request):
    """AI spend no use case owns: its biggest sources, to make rules from, and shadow AI by team."""
    _check(request)
    return render(
        request,
        "showback/unattributed.html",
        {"sources": selectors.unattributed_sources(), "shadow": selectors.shadow_ai()},
    )
