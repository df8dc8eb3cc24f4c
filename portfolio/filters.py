import django_filters
from django.db.models import Q

from aifinops.core import permissions
from aifinops.core.widgets import DropdownMultiple, style_fields

from .choices import (
    AutonomyLevel,
    BusinessFunction,
    OptimizationLever,
    OptimizationStatus,
    RiskTier,
    Stage,
    in_choice_order,
)
from .models import AIModel, CostLine, Milestone, OptimizationItem, Team, UseCase, ValueSignal


def _only_visible_teams(filterset):
    """Through the API (whose request brings the user) the team filter accepts only teams the
    caller may see: another team's slug is refused as an unknown one is, not answered with an empty
    list that tells it exists. The pages narrow their dropdowns in their selectors."""
    user = getattr(filterset.request, "user", None)
    if user is not None:
        filterset.form.fields["team"].queryset = Team.objects.filter(permissions.team_scope(user)).order_by(
            "name"
        )


# Sorts by actual spend, which the ledger counts (portfolio reads it through spend.py, not in this
# queryset): {sort param: the period of spend.use_case_spend_totals}. The selector sorts by them.
ACTUAL_SPEND_SORTS = {"actual_mtd": "month_to_date", "actual_last": "last_month"}


# Sorts by a field of choices, in the choices' order (concept before MVP, low before medium), not
# by the stored value: {field: its choices}.
CHOICE_SORTS = {"stage": Stage, "risk_tier": RiskTier, "autonomy_level": AutonomyLevel}


class UseCaseOrderingFilter(django_filters.OrderingFilter):
    """The list's sorts; those by actual spend are left to `selectors.use_case_page`. A sort by
    stage, risk or autonomy follows the choices' order, then the name, so pages do not shuffle."""

    def get_ordering_value(self, param):
        field = self.param_map.get(param.lstrip("-"), param.lstrip("-"))
        if field not in CHOICE_SORTS:
            return super().get_ordering_value(param)
        rank = in_choice_order(field, CHOICE_SORTS[field])
        return rank.desc() if param.startswith("-") else rank.asc()

    def filter(self, qs, value):
        params = [v for v in value or [] if v and v.lstrip("-") not in ACTUAL_SPEND_SORTS]
        if not params:
            return qs
        ordering = [self.get_ordering_value(param) for param in params]
        if any(self.param_map.get(param.lstrip("-")) in CHOICE_SORTS for param in params):
            ordering += ["name", "pk"]
        return qs.order_by(*ordering)


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
    owner = django_filters.CharFilter(method="owned_by", label="Owner (username)")
    sort = UseCaseOrderingFilter(
        fields=(
            ("name", "name"),
            ("team__name", "team"),
            ("stage", "stage"),
            ("risk_tier", "risk"),
            ("autonomy_level", "autonomy"),
            ("expected_monthly_cost", "cost"),
            *((param, param) for param in ACTUAL_SPEND_SORTS),
            ("created_at", "created"),
        ),
        # Short enough for the dropdown at any width, each saying which end comes first.
        choices=[
            (f"{sign}{param}", f"{label} ({end})")
            for param, label, ends in (
                ("name", "Name", ("A to Z", "Z to A")),
                ("team", "Team", ("A to Z", "Z to A")),
                ("stage", "Stage", ("concept first", "sunset first")),
                ("risk", "Risk", ("lowest", "highest")),
                ("autonomy", "Autonomy", ("assistive first", "autonomous first")),
                ("cost", "Expected cost", ("lowest", "highest")),
                ("actual_mtd", "Actual this month", ("lowest", "highest")),
                ("actual_last", "Actual last month", ("lowest", "highest")),
                ("created", "Registered", ("oldest", "newest")),
            )
            for sign, end in zip(("", "-"), ends, strict=True)
        ],
        label="Sort by",
        # No empty choice: the list's own order is by name, the first choice.
        empty_label=None,
    )

    class Meta:
        model = UseCase
        fields = ["q", "team", "stage", "risk_tier", "autonomy_level", "business_function", "owner", "sort"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_fields(self.form.fields, small=True)
        _only_visible_teams(self)

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(name__icontains=value) | Q(key__icontains=value) | Q(purpose__icontains=value)
        )

    def owned_by(self, queryset, name, value):
        return queryset.filter(Q(business_owner__username=value) | Q(technical_owner__username=value))


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


class UseCaseKeyFilter(django_filters.FilterSet):
    use_case = django_filters.CharFilter(field_name="use_case__key", label="Use-case key")


class MilestoneFilter(UseCaseKeyFilter):
    class Meta:
        model = Milestone
        fields = ["use_case", "status"]


class ValueSignalFilter(UseCaseKeyFilter):
    class Meta:
        model = ValueSignal
        fields = ["use_case"]


class CostLineFilter(UseCaseKeyFilter):
    class Meta:
        model = CostLine
        fields = ["use_case", "category"]


class OptimizationFilter(UseCaseKeyFilter):
    """One filter for the backlog page and the backlog API."""

    lever = django_filters.MultipleChoiceFilter(choices=OptimizationLever.choices, widget=DropdownMultiple)
    status = django_filters.MultipleChoiceFilter(choices=OptimizationStatus.choices, widget=DropdownMultiple)
    team = django_filters.ModelChoiceFilter(
        queryset=Team.objects.all(),
        to_field_name="slug",
        field_name="use_case__team",
        empty_label="Any",
        label="Team",
    )

    class Meta:
        model = OptimizationItem
        fields = ["use_case", "lever", "status", "team"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_fields(self.form.fields, small=True)
        _only_visible_teams(self)
