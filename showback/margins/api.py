"""The margins (GET /margins/: each customer's revenue, cost to serve and margin in its currency
and in the reporting currency, and the whole) and revenue per customer and month (GET the loaded
rows, POST new ones).

POST takes either a CSV file (multipart, field `file`) or JSON {"rows": [{month, customer,
revenue, currency, plan?, segment?}, ...]}. All or nothing: one bad row loads nothing, and the
answer (400) names every bad row by line (the CSV line, or the row's position from 1) and column.
"""

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from aifinops.core import permissions
from aifinops.core.api.errors import error_response
from aifinops.core.api.pagination import StandardPagination
from aifinops.core.api.parsers import JSONObjectParser

from .. import fx
from ..currencies import is_currency
from . import selectors
from .services import RevenueFileError, parse_month, revenue_import, revenue_rows_from_csv


class CustomerRevenueSerializer(serializers.Serializer):
    month = serializers.DateField()
    customer = serializers.CharField()
    plan = serializers.CharField()
    segment = serializers.CharField()
    revenue = serializers.DecimalField(max_digits=18, decimal_places=2)
    currency = serializers.CharField()


class RevenueRowSerializer(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM")
    customer = serializers.CharField()
    revenue = serializers.CharField(help_text="A plain number, two decimal places at most: 1234.50")
    currency = serializers.CharField(help_text="Three letters: USD")
    plan = serializers.CharField(required=False, allow_blank=True)
    segment = serializers.CharField(required=False, allow_blank=True)


class RevenueLoadSerializer(serializers.Serializer):
    rows = RevenueRowSerializer(many=True, required=False)
    file = serializers.FileField(
        required=False, help_text="A CSV: month, customer, revenue, currency[, plan, segment]"
    )


class RevenueLoadResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    replaced = serializers.IntegerField()
    customers = serializers.IntegerField()
    months = serializers.ListField(child=serializers.DateField())


class MarginsQuerySerializer(serializers.Serializer):
    months = serializers.ChoiceField(
        choices=list(selectors.WINDOWS),
        default=selectors.DEFAULT_MONTHS,
        help_text="The last 3, 6 or 12 complete months.",
    )
    currency = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=3,
        help_text="The currency of the `reporting` figures (ISO 4217); the reporting currency by default.",
    )

    def validate_currency(self, value):
        code = value.strip().upper()
        if code and not is_currency(code):
            raise serializers.ValidationError(
                f"“{value[:10]}” is not an ISO 4217 currency code, e.g. USD or EUR."
            )
        return code


_REPORTING_HELP = (
    "In the reporting currency (or `currency`): {currency, revenue, cost (each {currency, amount, "
    "complete, rates_used, missing}), margin (null when a rate is missing), complete}."
)


class CustomerMarginSerializer(serializers.Serializer):
    customer = serializers.CharField()
    segment = serializers.CharField()
    plan = serializers.CharField()
    currency = serializers.CharField(help_text="The customer's revenue currency: revenue, cost, margin.")
    revenue = serializers.DecimalField(max_digits=36, decimal_places=6)
    cost = serializers.DecimalField(
        max_digits=36,
        decimal_places=6,
        help_text="Other currencies at each day's rate: see cost_without_rate.",
    )
    margin = serializers.DecimalField(max_digits=36, decimal_places=6)
    cost_share = serializers.DecimalField(max_digits=36, decimal_places=6, allow_null=True)
    revenue_growth = serializers.DecimalField(max_digits=36, decimal_places=6, allow_null=True)
    cost_growth = serializers.DecimalField(max_digits=36, decimal_places=6, allow_null=True)
    eroding = serializers.BooleanField()
    months_with_revenue = serializers.IntegerField()
    converted_cost = serializers.DictField(
        child=serializers.DecimalField(max_digits=36, decimal_places=6),
        help_text="{currency: cost as billed} counted in `cost` at each day's rate.",
    )
    cost_without_rate = serializers.DictField(
        source="other_currency_cost",
        child=serializers.DecimalField(max_digits=36, decimal_places=6),
        help_text="{currency: cost as billed} left out of `cost`: no rate into the customer's currency.",
    )
    reporting = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_reporting(self, customer):
        return customer.reporting.as_json()


class MarginsApi(APIView):
    """Margins over the last complete months: each customer in its revenue currency and in the
    reporting currency (rates used and missing named), and the whole in `total`. Finance analysts
    and platform admins only."""

    @extend_schema(
        parameters=[MarginsQuerySerializer],
        responses=inline_serializer(
            "PaginatedCustomerMarginList",
            fields={
                "count": serializers.IntegerField(),
                "next": serializers.URLField(allow_null=True),
                "previous": serializers.URLField(allow_null=True),
                "months": serializers.ListField(child=serializers.DateField()),
                "total": serializers.JSONField(help_text=_REPORTING_HELP),
                "results": CustomerMarginSerializer(many=True),
            },
        ),
    )
    def get(self, request):
        permissions.require(request.user, permissions.SEE_MARGINS)
        query = MarginsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        found = selectors.margins_get(
            months=query.validated_data["months"],
            into=query.validated_data.get("currency") or fx.reporting_currency(),
        )
        paginator = StandardPagination()
        page = paginator.paginate_queryset(found.customers, request, view=self)
        response = paginator.get_paginated_response(CustomerMarginSerializer(page, many=True).data)
        response.data["months"] = [m.isoformat() for m in found.months]
        response.data["total"] = found.reporting.as_json()
        return response


class CustomerRevenueApi(APIView):
    parser_classes = [JSONObjectParser, MultiPartParser, FormParser]

    def _check(self, request, *, load=False):
        permissions.require(request.user, permissions.SEE_REVENUE)
        if load:
            permissions.require(request.user, permissions.LOAD_REVENUE)

    @extend_schema(
        parameters=[
            OpenApiParameter("month", str, description="YYYY-MM"),
            OpenApiParameter("customer", str),
        ],
        responses=inline_serializer(
            "PaginatedCustomerRevenueList",
            fields={
                "count": serializers.IntegerField(),
                "next": serializers.URLField(allow_null=True),
                "previous": serializers.URLField(allow_null=True),
                "results": CustomerRevenueSerializer(many=True),
            },
        ),
    )
    def get(self, request):
        self._check(request)
        month = None
        raw = request.query_params.get("month", "")
        if raw:
            month = parse_month(raw)
            if month is None:
                raise ValidationError({"month": [f"“{raw[:20]}” is not a month: use YYYY-MM."]})
        customer = request.query_params.get("customer") or None
        if customer and "\x00" in customer:
            raise ValidationError({"customer": ["A customer name cannot hold a NUL character."]})
        qs = selectors.revenue_list(month=month, customer=customer)
        paginator = StandardPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(CustomerRevenueSerializer(page, many=True).data)

    @extend_schema(request=RevenueLoadSerializer, responses={201: RevenueLoadResultSerializer})
    def post(self, request):
        self._check(request, load=True)
        upload = request.FILES.get("file")
        try:
            if upload is not None:
                rows = revenue_rows_from_csv(upload)
                source = upload.name[:100]
            else:
                given = request.data.get("rows")
                if not isinstance(given, list):
                    raise ValidationError({"rows": ['Send a CSV as `file`, or JSON {"rows": [...]}.']})
                rows = [
                    (
                        i,
                        {k: ("" if v is None else str(v)) for k, v in row.items()}
                        if isinstance(row, dict)
                        else {},
                    )
                    for i, row in enumerate(given, start=1)
                ]
                source = "api"
            result = revenue_import(actor=request.user, rows=rows, source=source)
        except RevenueFileError as exc:
            return error_response(str(exc), details=exc.problems)
        body = {
            "created": result.created,
            "replaced": result.replaced,
            "customers": result.customers,
            "months": [m.isoformat() for m in result.months],
        }
        return Response(body, status=status.HTTP_201_CREATED)


urlpatterns = [
    path("margins/", MarginsApi.as_view(), name="api-margins"),
    path("revenue/", CustomerRevenueApi.as_view(), name="api-customer-revenue"),
]
