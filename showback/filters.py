import django_filters
from rest_framework import serializers

from . import selectors
from .models import DailySpend


class DailySpendFilter(django_filters.FilterSet):
    """The API's filters of the daily rollups. The bill's dimensions and `import` are read by
    selectors.parse_spend_filters, as on the showback page; they are declared here for the schema."""

    date_from = django_filters.DateFilter(field_name="date", lookup_expr="gte")
    date_to = django_filters.DateFilter(field_name="date", lookup_expr="lte")
    team = django_filters.CharFilter(field_name="team__slug")
    use_case = django_filters.CharFilter(field_name="use_case__key")
    model = django_filters.CharFilter(field_name="model__key")
    # `provider` is the provider as the bill names it (as on the showback page); the catalog's
    # provider slug, which `provider` meant before, stays available under its own name.
    provider_slug = django_filters.CharFilter(field_name="provider__slug")
    is_ai = django_filters.BooleanFilter()
    ai = django_filters.ChoiceFilter(
        choices=[("ai", "AI spend only"), ("all", "All spend")],
        method="filter_ai",
        help_text="As on the showback page: `ai` for AI spend only, `all` for all spend (the default here).",
    )

    class Meta:
        model = DailySpend
        fields = [
            "date_from",
            "date_to",
            "team",
            "use_case",
            "model",
            "provider_slug",
            "environment",
            "currency",
            "is_ai",
        ]

    def filter_ai(self, queryset, name, value):
        return queryset.filter(is_ai=True) if value == "ai" else queryset

    def filter_bill(self, queryset, name, value):
        return queryset  # applied once for all in filter_queryset

    def filter_queryset(self, queryset):
        try:
            filters, import_id = selectors.parse_spend_filters(self.data)
        except selectors.BadFilter as exc:
            raise serializers.ValidationError({exc.field: [str(exc)]}) from None
        queryset = selectors.filter_spend(queryset, filters=filters, import_id=import_id)
        return super().filter_queryset(queryset)


for _name in (*selectors.BILL_FILTERS, "import"):
    DailySpendFilter.base_filters[_name] = django_filters.CharFilter(
        method="filter_bill",
        help_text=(
            "Only the rows of this spend import (its number)."
            if _name == "import"
            else f"Only the spend whose bill states this {_name.replace('_', ' ')}, exactly, as the showback "
            "page filters it."
        ),
    )
