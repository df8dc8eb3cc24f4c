"""What budgets offer to the search box: the budgets the user may see (`budget_scope`, the rule of
`budget_queryset`, without its alert count, which the search does not show)."""

from django.urls import reverse

from aifinops.core import permissions
from aifinops.core.search import SearchSource
from showback.models import Budget


def _context(budget) -> str:
    period = budget.get_period_display().lower()
    return f"{budget.target} · {budget.amount.normalize():,f} {budget.currency} {period}"


def budget_source(*, user) -> SearchSource:
    return SearchSource(
        kind="budget",
        label="Budgets",
        queryset=Budget.objects.filter(permissions.budget_scope(user)).select_related(
            "team", "use_case", "provider", "model"
        ),
        fields=("name", "team__name", "use_case__name", "customer", "tag_value"),
        title=lambda budget: budget.name,
        context=_context,
        url=lambda budget: reverse("showback:budget_detail", args=[budget.pk]),
    )
