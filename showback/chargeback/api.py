"""API for chargeback statements, reconciliation and the FOCUS export."""

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from aifinops.core import periods, permissions
from portfolio.models import Team

from . import exports, selectors

MONTH_FORMATS = ["%Y-%m"]


class MonthField(serializers.DateField):
    """A month as YYYY-MM, within the years the product records (`periods.month_named`)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", f"YYYY-MM, {periods.FIRST_YEAR}-01 to {periods.LAST_YEAR}-12")
        super().__init__(input_formats=MONTH_FORMATS, **kwargs)

    def to_internal_value(self, value):
        day = super().to_internal_value(value)
        if periods.month_named(day.year, day.month) is None:
            raise serializers.ValidationError(
                f"A month from {periods.FIRST_YEAR}-01 to {periods.LAST_YEAR}-12: "
                "no spend is dated outside them."
            )
        return day


def _money():
    return serializers.DecimalField(max_digits=24, decimal_places=10)


class LineReportingSerializer(serializers.Serializer):
    """A line's effective cost in the reporting currency, each day at its rate."""

    amount = serializers.DecimalField(
        max_digits=24, decimal_places=6, allow_null=True, help_text="Null when a day of the line has no rate."
    )
    rate = serializers.DecimalField(
        max_digits=24,
        decimal_places=6,
        allow_null=True,
        help_text="The line's effective rate: amount / effective cost (the spend-weighted daily rates).",
    )
    rate_date = serializers.DateField(allow_null=True, help_text="The latest rate date the line used.")
    missing = serializers.SerializerMethodField(
        help_text="The rates the line lacks: [{currency, amount (as billed), first_day, last_day, days}]."
    )

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_missing(self, line):
        return [m.as_json() for m in line.get("missing_rates", ())]


class SpendMeasuresSerializer(serializers.Serializer):
    currency = serializers.CharField()
    reporting = LineReportingSerializer(allow_null=True, required=False)
    billed = _money()
    effective = _money()
    estimated = _money()
    input_tokens = serializers.IntegerField()
    cached_tokens = serializers.IntegerField()
    output_tokens = serializers.IntegerField()
    tokens = serializers.IntegerField()
    requests = serializers.IntegerField()


class UseCaseLineSerializer(SpendMeasuresSerializer):
    key = serializers.CharField(allow_null=True, help_text="Null for spend attributed to no use case.")
    name = serializers.CharField()
    attributed = serializers.BooleanField()
    share = serializers.DecimalField(max_digits=5, decimal_places=1, allow_null=True)


class ModelLineSerializer(SpendMeasuresSerializer):
    provider = serializers.CharField()
    model = serializers.CharField()
    model_key = serializers.CharField(allow_null=True)
    share = serializers.DecimalField(max_digits=5, decimal_places=1, allow_null=True)


class StatementSerializer(serializers.Serializer):
    team = serializers.SlugField(source="team.slug")
    team_name = serializers.CharField(source="team.name")
    month = serializers.DateField()
    period_end = serializers.DateField()
    by_use_case = UseCaseLineSerializer(many=True)
    by_model = ModelLineSerializer(many=True)
    totals = SpendMeasuresSerializer(many=True, source="totals_list")
    reporting = serializers.JSONField(
        source="reporting_json",
        help_text="The month in the reporting currency: {currency, amount, complete, rates_used, missing}.",
    )


class ReconciliationQuerySerializer(serializers.Serializer):
    start = MonthField(required=False)
    months = serializers.IntegerField(min_value=1, max_value=36, default=6)


class ReconciliationRowSerializer(serializers.Serializer):
    month = serializers.DateField()
    provider = serializers.CharField(allow_null=True)
    provider_name = serializers.CharField()
    currency = serializers.CharField()
    estimated = _money()
    billed = _money()
    difference = _money()
    difference_pct = serializers.DecimalField(max_digits=12, decimal_places=1, allow_null=True)
    has_estimate = serializers.BooleanField()
    has_bill = serializers.BooleanField()


class FocusExportQuerySerializer(serializers.Serializer):
    month = MonthField()
    version = serializers.ChoiceField(
        choices=list(exports.FOCUS_VERSIONS),
        default="1.2",
        help_text="The FOCUS version: 1.2 (default) or 1.3.",
    )


def _check_finance(user):
    permissions.require(user, permissions.SEE_CHARGEBACK)


class ChargebackStatementApi(APIView):
    """A team's monthly AI spend statement: lines per use case (spend of no use case as its own
    line) and per provider and model, with totals, each per currency. 404 for a team the caller
    may not see."""

    @extend_schema(responses=StatementSerializer)
    def get(self, request, team, year, month):
        team_obj = get_object_or_404(Team, slug=team)
        if not permissions.can_view_team(request.user, team_obj):
            raise Http404("No such team.")
        first = periods.month_named(year, month)
        if first is None:
            raise Http404("No such month.")
        statement = selectors.team_statement(user=request.user, team=team_obj, month=first)
        statement["totals_list"] = [{"currency": c, **t} for c, t in statement["totals"].items()]
        statement["reporting_json"] = statement["reporting"].as_json()
        return Response(StatementSerializer(statement).data)


class ReconciliationApi(APIView):
    """Estimated (gateway) against billed (provider) spend per provider, month and currency.
    Finance analysts and platform admins only."""

    @extend_schema(
        parameters=[ReconciliationQuerySerializer],
        responses=inline_serializer(
            "ReconciliationResponse", {"results": ReconciliationRowSerializer(many=True)}
        ),
    )
    def get(self, request):
        _check_finance(request.user)
        query = ReconciliationQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        months = query.validated_data["months"]
        start = query.validated_data.get("start") or periods.months_back(periods.today(), months - 1)
        rows = selectors.reconciliation(user=request.user, start_month=start, months=months)
        return Response({"results": ReconciliationRowSerializer(rows, many=True).data})


class FocusExportApi(APIView):
    """The month's AI spend attributed to teams as a FOCUS 1.2 (default) or 1.3 CSV, streamed.
    Finance analysts and platform admins only."""

    @extend_schema(
        parameters=[FocusExportQuerySerializer],
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="FOCUS CSV")},
    )
    def get(self, request):
        _check_finance(request.user)
        query = FocusExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        month, version = query.validated_data["month"], query.validated_data["version"]
        rows = selectors.focus_export_rows(user=request.user, month=month, version=version)
        return exports.focus_csv_response(
            rows, filename=f"focus-{version}-{month:%Y-%m}.csv", version=version
        )


urlpatterns = [
    path(
        "spend/chargeback/<slug:team>/<int:year>-<int:month>/",
        ChargebackStatementApi.as_view(),
        name="api-spend-chargeback",
    ),
    path("spend/reconciliation/", ReconciliationApi.as_view(), name="api-spend-reconciliation"),
    path("spend/exports/focus/", FocusExportApi.as_view(), name="api-spend-focus-export"),
]
