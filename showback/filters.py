import django_filters

from .models import DailySpend


class DailySpendFilter(django_filters.FilterSet):
    date_from = django_filters.DateFilter(field_name="date", lookup_expr="gte")
    date_to = django_filters.DateFilter(field_name="date", lookup_expr="lte")
    team = django_filters.CharFilter(field_name="team__slug")
    use_case = django_filters.CharFilter(field_name="use_case__key")
    provider = django_filters.CharFilter(field_name="provider__slug")
    model = django_filters.CharFilter(field_name="model__key")
    is_ai = django_filters.BooleanFilter()

    class Meta:
        model = DailySpend
        fields = [
            "date_from",
            "date_to",
            "team",
            "use_case",
            "provider",
            "model",
            "environment",
            "currency",
            "is_ai",
        ]
