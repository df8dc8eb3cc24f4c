import django_filters

from aifinops.core import permissions
from aifinops.core.widgets import DropdownMultiple, style_fields
from portfolio.models import UseCase

from ..models import Anomaly, AnomalyKind, AnomalyStatus, Severity


class AnomalyFilter(django_filters.FilterSet):
    """One filter for the anomaly list page and the anomaly API."""

    status = django_filters.MultipleChoiceFilter(choices=AnomalyStatus.choices, widget=DropdownMultiple)
    severity = django_filters.MultipleChoiceFilter(choices=Severity.choices, widget=DropdownMultiple)
    kind = django_filters.MultipleChoiceFilter(choices=AnomalyKind.choices, widget=DropdownMultiple)
    use_case = django_filters.ModelChoiceFilter(
        queryset=UseCase.objects.all(), to_field_name="key", field_name="use_case", empty_label="Any"
    )
    date_from = django_filters.DateFilter(field_name="date", lookup_expr="gte", label="From")
    date_to = django_filters.DateFilter(field_name="date", lookup_expr="lte", label="To")

    class Meta:
        model = Anomaly
        fields = ["status", "severity", "kind", "use_case", "date_from", "date_to"]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        user = user or getattr(self.request, "user", None)
        if user is not None:
            # The dropdown offers, and the filter accepts, only use cases the user may see.
            self.filters["use_case"].queryset = UseCase.objects.filter(
                permissions.use_case_scope(user)
            ).order_by("name")
        style_fields(self.form.fields, small=True)
