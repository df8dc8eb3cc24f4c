import django_filters
from django.db.models import Q

from aifinops.core import permissions
from aifinops.core.widgets import DropdownMultiple, style_fields
from portfolio.choices import RiskTier
from portfolio.models import Team

from .models import IntakeRequest, IntakeStatus, ReviewPath


class IntakeFilter(django_filters.FilterSet):
    """One filter for the intake list page and the intake API. Given a user (the API's request
    brings one), the team filter offers and accepts only the teams that user may see."""

    q = django_filters.CharFilter(method="search", label="Search")
    status = django_filters.MultipleChoiceFilter(choices=IntakeStatus.choices, widget=DropdownMultiple)
    risk_tier = django_filters.MultipleChoiceFilter(choices=RiskTier.choices, widget=DropdownMultiple)
    review_path = django_filters.ChoiceFilter(choices=ReviewPath.choices, empty_label="Any")
    team = django_filters.ModelChoiceFilter(
        queryset=Team.objects.all(), to_field_name="slug", field_name="team", empty_label="Any"
    )

    class Meta:
        model = IntakeRequest
        fields = ["q", "status", "risk_tier", "review_path", "team"]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        style_fields(self.form.fields, small=True)
        user = user or getattr(self.request, "user", None)
        if user is not None:
            # Another team's name is not one's to learn from a dropdown, nor its slug from a 400.
            self.form.fields["team"].queryset = Team.objects.filter(permissions.team_scope(user)).order_by(
                "name"
            )

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(purpose__icontains=value))
