import django_filters
from django.db.models import Q

from aifinops.core.widgets import DropdownMultiple

from .choices import AutonomyLevel, BusinessFunction, RiskTier, Stage
from .models import AIModel, Team, UseCase


class UseCaseFilter(django_filters.FilterSet):
    """One filter for the use-case list page and the use-case API."""

    q = django_filters.CharFilter(method="search", label="Search")
    team = django_filters.ModelChoiceFilter(
        queryset=Team.objects.all(), to_field_name="slug", field_name="team", empty_label="Any"
    )
    stage = django_filters.MultipleChoiceFilter(choices=Stage.choices, widget=DropdownMultiple)
    risk_tier = django_filters.MultipleChoiceFilter(choices=RiskTier.choices, widget=DropdownMultiple)
    autonomy_level = django_filters.MultipleChoiceFilter(
        choices=AutonomyLevel.choices, widget=DropdownMultiple
    )
    business_function = django_filters.ChoiceFilter(choices=BusinessFunction.choices, empty_label="Any")

    class Meta:
        model = UseCase
        fields = ["q", "team", "stage", "risk_tier", "autonomy_level", "business_function"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.form.fields.values():
            field.widget.attrs.setdefault("class", "form-select form-select-sm")

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(name__icontains=value) | Q(key__icontains=value) | Q(purpose__icontains=value)
        )


class TeamFilter(django_filters.FilterSet):
    business_function = django_filters.ChoiceFilter(choices=BusinessFunction.choices)

    class Meta:
        model = Team
        fields = ["business_function"]


class AIModelFilter(django_filters.FilterSet):
    provider = django_filters.CharFilter(field_name="provider__slug", label="Provider slug")

    class Meta:
        model = AIModel
        fields = ["tier", "status", "is_active", "provider"]
