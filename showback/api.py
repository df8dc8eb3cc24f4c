"""The ledger's API: the daily spend rollups and the spend summary. Its urlpatterns are showback's
whole API: the ledger's routes, then each feature's (included by name, so the ledger imports no
feature but the gateway, whose usage events route is here)."""

from django.urls import include, path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, viewsets
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from . import fx, selectors
from .filters import DailySpendFilter
from .gateway.api import OtlpTracesApi, UsageEventsApi
from .models import DailySpend
from .selectors import SUMMARY_GROUPS


class DailySpendSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    use_case = serializers.SlugRelatedField(slug_field="key", read_only=True, allow_null=True)
    provider = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    model = serializers.SlugRelatedField(slug_field="key", read_only=True, allow_null=True)
    reporting_effective_cost = serializers.SerializerMethodField(
        help_text="The effective cost in the reporting currency at the rate in force on the row's day; "
        "null without one (named in the response's reporting.missing)."
    )

    class Meta:
        model = DailySpend
        fields = [
            "date",
            "team",
            "use_case",
            "provider",
            "model",
            "environment",
            "currency",
            "is_ai",
            "is_estimated",
            "billed_cost",
            "effective_cost",
            "list_cost",
            "input_tokens",
            "output_tokens",
            "record_count",
            "reporting_effective_cost",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.DecimalField(max_digits=24, decimal_places=6, allow_null=True))
    def get_reporting_effective_cost(self, row):
        converted = self.context["reporting"].rows.get(row.pk) if "reporting" in self.context else None
        return None if converted is None else str(converted)


class SpendSummaryQuerySerializer(serializers.Serializer):
    group_by = serializers.ChoiceField(choices=sorted(SUMMARY_GROUPS))
    start = serializers.DateField(help_text="First day, inclusive (YYYY-MM-DD).")
    end = serializers.DateField(help_text="Day after the last, exclusive (YYYY-MM-DD).")
    scope = serializers.ChoiceField(choices=["ai", "all"], default="ai", required=False)
    ai = serializers.ChoiceField(
        choices=["ai", "all"],
        required=False,
        help_text="As on the showback page: `all` for all spend, `ai` for AI spend; wins over `scope`.",
    )

    def validate(self, attrs):
        if attrs["end"] <= attrs["start"]:
            raise serializers.ValidationError({"end": "The end must be after the start (it is exclusive)."})
        if (attrs["end"] - attrs["start"]).days > 3700:
            raise serializers.ValidationError({"end": "Ask for at most ten years at a time."})
        return attrs


# The showback page's filters, read by selectors.parse_spend_filters for the page and the API alike.
SPEND_FILTER_PARAMETERS = [
    *(
        OpenApiParameter(
            name,
            OpenApiTypes.STR,
            description=f"Only the spend whose bill states this {name.replace('_', ' ')}, exactly "
            f"(at most {selectors.MAX_FILTER_LENGTH} characters), as the showback page filters it.",
        )
        for name in selectors.BILL_FILTERS
    ),
    OpenApiParameter(
        "import", OpenApiTypes.INT, description="Only the rows of this spend import (its number)."
    ),
]


def spend_filters(params):
    """The showback page's filters from a query, or a 400 naming the field."""
    try:
        return selectors.parse_spend_filters(params)
    except selectors.BadFilter as exc:
        raise serializers.ValidationError({exc.field: [str(exc)]}) from None


class SpendSummaryRowSerializer(serializers.Serializer):
    group = serializers.CharField(help_text="Named after group_by in the response.", allow_null=True)
    currency = serializers.CharField()
    billed_cost = serializers.DecimalField(max_digits=24, decimal_places=6)
    effective_cost = serializers.DecimalField(max_digits=24, decimal_places=6)
    estimated_cost = serializers.DecimalField(max_digits=24, decimal_places=6)
    input_tokens = serializers.IntegerField()
    output_tokens = serializers.IntegerField()
    requests = serializers.IntegerField()
    reporting_effective_cost = serializers.DecimalField(
        max_digits=24,
        decimal_places=6,
        allow_null=True,
        help_text="The effective cost in the reporting currency, each day at its rate; null when a day "
        "of the row has no rate (named in reporting.missing).",
    )


class RateUsedSerializer(serializers.Serializer):
    currency = serializers.CharField()
    rate = serializers.CharField(help_text="1 currency = rate reporting currency; the latest rate used.")
    valid_from = serializers.DateField()
    source = serializers.CharField()
    distinct_rates = serializers.IntegerField(help_text="How many dated rates of the pair were used.")


class MissingRateSerializer(serializers.Serializer):
    currency = serializers.CharField()
    amount = serializers.CharField(help_text="The spend in that currency left out of the reporting total.")
    first_day = serializers.DateField()
    last_day = serializers.DateField()
    days = serializers.IntegerField()


class ReportingTotalSerializer(serializers.Serializer):
    currency = serializers.CharField(help_text="The organisation's reporting currency.")
    amount = serializers.CharField(help_text="The effective cost of all rows, each day at its rate.")
    complete = serializers.BooleanField(help_text="False when some spend had no rate (see missing).")
    rates_used = RateUsedSerializer(many=True)
    missing = MissingRateSerializer(many=True)


class SpendSummarySerializer(serializers.Serializer):
    results = SpendSummaryRowSerializer(many=True)
    currency = serializers.CharField(allow_null=True, help_text="The currency, when there is only one.")
    reporting = ReportingTotalSerializer(
        help_text="All results' effective cost in the reporting currency; the original amounts stay."
    )


class DailySpendViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Daily spend rollups the caller may see (their teams', or all for cross-team roles).

    Includes non-AI spend; filter with `is_ai=true` (or `ai=ai`) for AI spend only. The bill's
    dimensions (provider as the bill names it, service, region…) and `import` filter as on the
    showback page.
    """

    serializer_class = DailySpendSerializer
    filterset_class = DailySpendFilter
    ordering_fields = ["date", "effective_cost"]

    def get_queryset(self):
        return (
            selectors.daily_spend_queryset(user=self.request.user, ai_only=False)
            .select_related("team", "use_case", "provider", "model")
            .order_by("-date", "id")
        )

    @extend_schema(
        description="Each row also gives `reporting_effective_cost` (its effective cost in the "
        "reporting currency at the rate in force on its day, null without one) and the response a "
        "`reporting` block: all matching rows' effective cost in the reporting currency, with the "
        "rates used and the currencies and days that had none (left out, never counted at 1)."
    )
    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        rows = page if page is not None else list(queryset)
        reporting = selectors.daily_spend_reporting(rows, queryset)
        data = self.get_serializer(
            rows, many=True, context={**self.get_serializer_context(), "reporting": reporting}
        ).data
        response = self.get_paginated_response(data) if page is not None else Response(data)
        if page is None:
            response.data = {"results": data}
        response.data["reporting"] = reporting.total.as_json()
        return response


class SpendSummaryApi(APIView):
    """Spend totals by one dimension over a period (start inclusive, end exclusive, by charge
    period start), from the daily rollups the caller may see. `scope=ai` (default) or `all`.

    One result per group and currency: amounts are never added across currencies, but each row
    and the whole are also given in the reporting currency, each day at its rate, with the rates
    used and the currencies and days that had none (left out, never counted at 1).
    """

    @extend_schema(
        parameters=[SpendSummaryQuerySerializer, *SPEND_FILTER_PARAMETERS], responses=SpendSummarySerializer
    )
    def get(self, request):
        query = SpendSummaryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        filters, import_id = spend_filters(request.query_params)
        rows = selectors.spend_summary(
            user=request.user,
            group_by=params["group_by"],
            start=params["start"],
            end=params["end"],
            ai_only=params.get("ai", params["scope"]) == "ai",
            filters=filters,
            import_id=import_id,
        )
        reporting, total = selectors.spend_summary_reporting(
            user=request.user,
            group_by=params["group_by"],
            start=params["start"],
            end=params["end"],
            ai_only=params.get("ai", params["scope"]) == "ai",
            filters=filters,
            import_id=import_id,
        )
        group = params["group_by"]
        money = ("billed_cost", "effective_cost", "estimated_cost")
        results = []
        for r in rows:
            converted = reporting.get((r["group"], r["currency"]))
            results.append(
                {
                    group: r["group"],
                    **{k: (str(v) if k in money else v) for k, v in r.items() if k != "group"},
                    "reporting_effective_cost": None
                    if converted is None
                    else str(converted.quantize(fx.MICRO)),
                }
            )
        currencies = sorted({r["currency"] for r in rows})
        body = {
            "results": results,
            "currency": currencies[0] if len(currencies) == 1 else None,
            "reporting": total.as_json(),
        }
        return Response(body)


router = SimpleRouter()
router.register("daily-spend", DailySpendViewSet, basename="api-daily-spend")

urlpatterns = [
    path("spend/summary/", SpendSummaryApi.as_view(), name="api-spend-summary"),
    path("", include("showback.margins.api")),
    path("usage-events/", UsageEventsApi.as_view(), name="api-usage-events"),
    # The OTLP/HTTP path: an exporter given OTEL_EXPORTER_OTLP_ENDPOINT=<host>/api/v1/otlp adds v1/traces.
    path("otlp/v1/traces", OtlpTracesApi.as_view(), name="api-otlp-traces"),
    path("", include("showback.chargeback.api")),
    *router.urls,
    path("", include("showback.ingest.api")),
    path("", include("showback.budgets.api")),
    path("", include("showback.rates.api")),
    path("", include("showback.commitments.api")),
]
