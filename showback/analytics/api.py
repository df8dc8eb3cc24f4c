"""API of early warning: anomalies (list, read, acknowledge, explain, resolve) and forecasts.

Anomalies are those of the use cases the caller may see; triage goes through the same services
and permission rule as the anomaly page. Forecasts are the portfolio's (the spend the caller may
see) or one use case's, with the backtest and the assumptions applied. Included under /api/v1/.
"""

from decimal import Decimal

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from aifinops.core import permissions
from aifinops.core.api.forms import form_errors, serializer_for_form
from portfolio import selectors as portfolio_selectors

from ..models import Anomaly, Severity
from . import selectors, services
from .filters import AnomalyFilter
from .forecasting import MAX_HORIZON
from .forms import AnomalyNoteForm, ForecastQueryForm

# Severity shares its values with portfolio's risk levels; distinct labels keep them two choice
# sets in the API schema.
SEVERITY_CHOICES = [(value, f"{label} severity") for value, label in Severity.choices]


class AnomalySerializer(serializers.ModelSerializer):
    severity = serializers.ChoiceField(choices=SEVERITY_CHOICES, read_only=True)
    use_case = serializers.SlugRelatedField(slug_field="key", read_only=True)
    model = serializers.SlugRelatedField(
        slug_field="ref", read_only=True, allow_null=True, help_text="provider/key, or null"
    )
    acknowledged_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = Anomaly
        fields = [
            "id",
            "date",
            "use_case",
            "model",
            "kind",
            "severity",
            "expected",
            "actual",
            "currency",
            "detail",
            "status",
            "note",
            "acknowledged_by",
            "acknowledged_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


AnomalyNoteSerializer = serializer_for_form(AnomalyNoteForm, name="AnomalyNoteSerializer")


class AnomalyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Spend anomalies (spikes and drift) of the use cases the caller may see, newest first.

    `expected` and `actual` are amounts in `currency` for spikes and cost per call; ratios and
    shares (0.25 = 25 %) for the other drift kinds (`detail.unit` says which). POST to
    `acknowledge`, `explain` (a note is required) or `resolve`: the use case's team, its owners and
    finance may.
    """

    serializer_class = AnomalySerializer
    filterset_class = AnomalyFilter
    ordering_fields = ["date", "created_at"]
    queryset = Anomaly.objects.none()

    def get_queryset(self):
        return selectors.anomaly_queryset(user=self.request.user).order_by("-date", "-id")

    def _triage(self, request, service):
        anomaly = self.get_object()
        form = AnomalyNoteForm(request.data)
        if not form.is_valid():
            raise ApiValidationError(form_errors(form))
        anomaly = service(anomaly=anomaly, actor=request.user, note=form.cleaned_data["note"])
        return Response(self.get_serializer(selectors.anomaly_get(user=request.user, pk=anomaly.pk)).data)

    @extend_schema(request=AnomalyNoteSerializer, responses=AnomalySerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        return self._triage(request, services.anomaly_acknowledge)

    @extend_schema(request=AnomalyNoteSerializer, responses=AnomalySerializer)
    @action(detail=True, methods=["post"])
    def explain(self, request, pk=None):
        return self._triage(request, services.anomaly_explain)

    @extend_schema(request=AnomalyNoteSerializer, responses=AnomalySerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        return self._triage(request, services.anomaly_resolve)


TENTH = Decimal("0.1")


def _money(value):
    return None if value is None else str(value)


def forecast_body(view):
    """The JSON of a selectors.ForecastView."""
    base = {p.month: p.value for p in view.base.points}
    mape = view.backtest.mape
    return {
        "scope": "use_case" if view.use_case else "portfolio",
        "use_case": view.use_case.key if view.use_case else None,
        "currency": view.history.currency,
        "other_currencies": view.history.other_currencies,
        "reporting": view.history.reporting.as_json() if view.history.reporting else None,
        "method": view.forecast.method,
        "method_label": view.forecast.method_label,
        "band_level_pct": 80,
        "history": [{"month": m.isoformat()[:7], "amount": _money(v)} for m, v in view.history.actual_months],
        "month_to_date": _money(view.history.month_to_date),
        "forecast": [
            {
                "month": p.month.isoformat()[:7],
                "amount": _money(p.value),
                "lower": _money(p.lower) if view.forecast.has_band else None,
                "upper": _money(p.upper) if view.forecast.has_band else None,
                "without_assumptions": _money(base.get(p.month)),
            }
            for p in view.forecast.points
        ],
        "backtest": {
            "mape_pct": _money(mape.quantize(TENTH) if mape is not None else None),
            "origins": view.backtest.origins,
            "horizon_months": view.backtest.horizon,
            "points": len(view.backtest.pairs),
        },
        "assumptions": [
            {
                "id": p.assumption.pk,
                "use_case": p.assumption.use_case.key if p.assumption.use_case_id else None,
                "kind": p.assumption.kind,
                "effective_from": p.assumption.effective_from.isoformat(),
                "growth_pct": _money(p.assumption.growth_pct),
                "from_model": p.assumption.from_model.ref if p.assumption.from_model_id else None,
                "target_model": p.assumption.target_model.ref if p.assumption.target_model_id else None,
                "note": p.assumption.note,
                "applied": p.adjustment is not None,
                "effect": p.effect,
            }
            for p in [*view.assumptions, *view.use_case_assumptions]
        ],
    }


MONTHS_PARAM = OpenApiParameter("months", int, description="Months to forecast, 6 to 12 (default 12).")


def _months(request):
    if not request.query_params.get("months"):
        return MAX_HORIZON
    query = ForecastQueryForm(request.query_params)
    if not query.is_valid():
        raise ApiValidationError(form_errors(query))
    return query.cleaned_data["months"]


class PortfolioForecastApi(APIView):
    """The monthly forecast of the AI spend the caller may see (all of it for cross-team roles):
    method, 80 % band, rolling-origin backtest MAPE and the planners' assumptions."""

    @extend_schema(parameters=[MONTHS_PARAM], responses=dict)
    def get(self, request):
        view = selectors.forecast_get(user=request.user, months=_months(request))
        return Response(forecast_body(view))


class UseCaseForecastApi(APIView):
    """The monthly forecast of one use case the caller may see."""

    @extend_schema(parameters=[MONTHS_PARAM], responses=dict)
    def get(self, request, key):
        months = _months(request)
        use_case = portfolio_selectors.use_case_get(user=request.user, key=key)
        if not permissions.can_view_forecast(request.user, use_case):
            raise NotFound()
        return Response(
            forecast_body(selectors.forecast_get(user=request.user, use_case=use_case, months=months))
        )


router = SimpleRouter()
router.register("anomalies", AnomalyViewSet, basename="api-anomaly")

urlpatterns = [
    path("forecasts/portfolio/", PortfolioForecastApi.as_view(), name="api-forecast-portfolio"),
    path("forecasts/use-cases/<slug:key>/", UseCaseForecastApi.as_view(), name="api-forecast-use-case"),
    *router.urls,
]
