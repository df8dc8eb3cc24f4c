"""One FilterSet per budget list, shared by the pages and the API."""

import django_filters
from django import forms

from aifinops.core.widgets import style_fields

from ..models import (
    Budget,
    BudgetAlert,
    BudgetAlertKind,
    BudgetAlertStatus,
    BudgetIncreaseRequest,
    BudgetMode,
    BudgetPeriod,
    BudgetScope,
    IncreaseRequestStatus,
)


class BudgetFilter(django_filters.FilterSet):
    scope = django_filters.ChoiceFilter(choices=BudgetScope.choices, empty_label="Any")
    mode = django_filters.ChoiceFilter(choices=BudgetMode.choices, empty_label="Any")
    period = django_filters.ChoiceFilter(choices=BudgetPeriod.choices, empty_label="Any")
    team = django_filters.CharFilter(field_name="team__slug", label="Team (slug)")
    use_case = django_filters.CharFilter(field_name="use_case__key", label="Use case (key)")
    owner = django_filters.CharFilter(field_name="owner__username", label="Owner (username)")
    active = django_filters.BooleanFilter(
        widget=forms.Select(choices=[("", "Any"), ("true", "Active"), ("false", "Inactive")])
    )

    class Meta:
        model = Budget
        fields = ["scope", "mode", "period", "team", "use_case", "owner", "active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_fields(self.form.fields, small=True)


class BudgetAlertFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=BudgetAlertStatus.choices)
    kind = django_filters.ChoiceFilter(choices=BudgetAlertKind.choices)
    budget = django_filters.NumberFilter(field_name="budget_id")
    period_start = django_filters.DateFilter()

    class Meta:
        model = BudgetAlert
        fields = ["status", "kind", "budget", "period_start"]


class BudgetIncreaseRequestFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=IncreaseRequestStatus.choices)
    budget = django_filters.NumberFilter(field_name="budget_id")
    needs_council = django_filters.BooleanFilter()

    class Meta:
        model = BudgetIncreaseRequest
        fields = ["status", "budget", "needs_council"]
