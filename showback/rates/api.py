"""Exchange rates over the API: GET the recorded rates, POST a batch.

POST {"source": "ECB reference rates", "rates": [{"date": "2026-11-30", "base": "EUR", "quote":
"USD", "rate": "1.0812"}, ...]}: all or nothing, idempotent on (base, quote, date); a 400 names the
field and every bad row.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from aifinops.core import permissions
from aifinops.core.api.pagination import StandardPagination
from aifinops.core.api.parsers import JSONObjectParser

from .. import fx
from ..currencies import is_currency
from . import selectors


class ExchangeRateSerializer(serializers.Serializer):
    date = serializers.DateField(source="valid_from")
    base = serializers.CharField()
    quote = serializers.CharField()
    rate = serializers.DecimalField(max_digits=24, decimal_places=10)
    source = serializers.CharField()


class ExchangeRateRowSerializer(serializers.Serializer):
    date = serializers.CharField(help_text="YYYY-MM-DD: the rate holds from this day on.")
    base = serializers.CharField(help_text="ISO 4217, e.g. EUR")
    quote = serializers.CharField(help_text="ISO 4217, e.g. USD")
    rate = serializers.CharField(help_text="How many quote one base buys: 1.0812")


class ExchangeRateBatchSerializer(serializers.Serializer):
    source = serializers.CharField(help_text="Where the rates come from, e.g. ECB reference rates.")
    rates = ExchangeRateRowSerializer(many=True)


class ExchangeRateLoadResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    changed = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    pairs = serializers.ListField(child=serializers.CharField())
    first = serializers.DateField()
    last = serializers.DateField()
    reporting_currency = serializers.CharField()


class ExchangeRatesApi(APIView):
    parser_classes = [JSONObjectParser]

    @extend_schema(
        parameters=[OpenApiParameter("base", str), OpenApiParameter("quote", str)],
        responses=inline_serializer(
            "PaginatedExchangeRateList",
            fields={
                "count": serializers.IntegerField(),
                "next": serializers.URLField(allow_null=True),
                "previous": serializers.URLField(allow_null=True),
                "reporting_currency": serializers.CharField(),
                "results": ExchangeRateSerializer(many=True),
            },
        ),
    )
    def get(self, request):
        codes = {}
        for name in ("base", "quote"):
            raw = request.query_params.get(name, "")
            if raw and not is_currency(raw.upper()):
                raise ValidationError({name: [f"“{raw[:10]}” is not an ISO 4217 currency code."]})
            codes[name] = raw.upper() or None
        qs = selectors.exchange_rate_list(**codes, limit=None)
        paginator = StandardPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        response = paginator.get_paginated_response(ExchangeRateSerializer(page, many=True).data)
        response.data["reporting_currency"] = fx.reporting_currency()
        return response

    @extend_schema(request=ExchangeRateBatchSerializer, responses={201: ExchangeRateLoadResultSerializer})
    def post(self, request):
        permissions.require(request.user, permissions.LOAD_EXCHANGE_RATES)
        rates = request.data.get("rates")
        if not isinstance(rates, list):
            raise ValidationError(
                {"rates": ['Send {"source": "…", "rates": [{date, base, quote, rate}, …]}.']}
            )
        try:
            result = fx.exchange_rates_load(actor=request.user, rows=rates, source=request.data.get("source"))
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from None
        body = {
            "created": result.created,
            "changed": result.changed,
            "unchanged": result.unchanged,
            "pairs": result.pairs,
            "first": result.first.isoformat(),
            "last": result.last.isoformat(),
            "reporting_currency": fx.reporting_currency(),
        }
        return Response(body, status=status.HTTP_201_CREATED)


urlpatterns = [
    path("exchange-rates/", ExchangeRatesApi.as_view(), name="api-exchange-rates"),
]
