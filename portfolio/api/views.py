from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from aifinops.core import permissions

from .. import selectors, services, spend
from ..choices import Stage
from ..filters import AIModelFilter, TeamFilter, UseCaseFilter
from ..models import AIModel, Provider
from ..services import prices as price_services
from .serializers import (
    AIModelSerializer,
    GateSerializer,
    PriceAddResultSerializer,
    PriceAddSerializer,
    PriceBookEntrySerializer,
    ProviderSerializer,
    TeamSerializer,
    UseCaseSerializer,
)


class TeamViewSet(viewsets.ReadOnlyModelViewSet):
    """Teams the caller may see: their own, or all for finance, council and admins."""

    serializer_class = TeamSerializer
    filterset_class = TeamFilter
    lookup_field = "slug"

    def get_queryset(self):
        return selectors.team_list(user=self.request.user)


def _confirmed(request) -> bool:
    """`confirm: true` in the body (JSON true, or "true"/"yes"/"1" in a form)."""
    data = request.data if isinstance(request.data, dict) else {}
    value = data.get("confirm")
    return value is True or (isinstance(value, str) and value.strip().lower() in ("true", "yes", "1"))


def _transition_action(target, url_path, name):
    def move(self, request, key=None):
        use_case = services.use_case_move(
            actor=request.user,
            use_case=self.get_object(),
            target_stage=target,
            confirm=_confirmed(request),
        )
        return Response(UseCaseSerializer(use_case, context=self.get_serializer_context()).data)

    # Named before decorating: @action records the method mapping under the function's name.
    move.__name__ = name
    sunset = target == Stage.SUNSET
    return extend_schema(
        request=(
            inline_serializer("SunsetConfirm", {"confirm": serializers.BooleanField()}) if sunset else None
        ),
        description=(
            'Sunset is final: send `{"confirm": true}`; without it the answer is 400 naming `confirm` '
            "and nothing changes."
            if sunset
            else ""
        ),
        responses={
            200: UseCaseSerializer,
            **({400: OpenApiResponse(description="`confirm` missing: nothing changed.")} if sunset else {}),
            403: OpenApiResponse(description="Not allowed to make this move."),
            409: OpenApiResponse(description="The use case moved meanwhile (a lost race)."),
            422: OpenApiResponse(description="Gate items not met, listed in error.details."),
        },
        summary=f"Move the use case to {Stage(target).label}",
    )(action(detail=True, methods=["post"], url_path=url_path)(move))


class UseCaseViewSet(viewsets.ReadOnlyModelViewSet):
    """Use cases the caller may see, filtered like the portfolio page. Each stage move is one POST
    (`to-mvp`, `to-pilot`, `to-launch`, `to-scale`, `sunset`): 403 without permission, 409 on a lost
    race, 422 listing the unmet gate items. A sunset needs `{"confirm": true}` (400 naming
    `confirm` without it)."""

    serializer_class = UseCaseSerializer
    filterset_class = UseCaseFilter
    lookup_field = "key"
    ordering_fields = ["name", "created_at", "expected_monthly_cost"]

    def get_queryset(self):
        return (
            selectors.use_case_queryset(user=self.request.user).prefetch_related("ai_models").order_by("name")
        )

    def list(self, request, *args, **kwargs):
        """As the portfolio page lists them: `sort=actual_mtd` / `actual_last` (or `-` for largest
        first) sorts the whole filtered list by actual spend, in each use case's own currency."""
        qs = self.filter_queryset(self.get_queryset())
        filterset = UseCaseFilter(request.query_params, queryset=qs, request=request)
        sort = selectors.actual_spend_sort(filterset)
        if sort is None:
            rows = self.paginate_queryset(qs)
            totals = spend.use_case_spend_totals(use_case_ids=[uc.pk for uc in rows])
        else:
            ids, totals = selectors.use_case_ids_by_actual_spend(qs, sort=sort)
            ids = self.paginate_queryset(ids)
            found = self.get_queryset().in_bulk(ids)
            rows = [found[pk] for pk in ids]
        for use_case in rows:
            use_case.actual = totals[use_case.pk]
        return self.get_paginated_response(self.get_serializer(rows, many=True).data)

    to_mvp = _transition_action(Stage.MVP, "to-mvp", "to_mvp")
    to_pilot = _transition_action(Stage.PILOT, "to-pilot", "to_pilot")
    to_launch = _transition_action(Stage.LAUNCH, "to-launch", "to_launch")
    to_scale = _transition_action(Stage.SCALE, "to-scale", "to_scale")
    sunset = _transition_action(Stage.SUNSET, "sunset", "sunset")

    @extend_schema(responses=GateSerializer(many=True), summary="The gates of the use case's path")
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def gates(self, request, key=None):
        all_gates = selectors.stage_gates(use_case=self.get_object())
        data = [
            {
                "stage": stage,
                "complete": gate.complete,
                "items": [
                    {
                        "code": r.code,
                        "label": r.item.label,
                        "group": r.item.group,
                        "met": r.met,
                        "how": r.how,
                        "missing": r.missing,
                    }
                    for r in gate.results
                ],
            }
            for stage, gate in all_gates.items()
        ]
        return Response(GateSerializer(data, many=True).data)


class ProviderViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ProviderSerializer
    queryset = Provider.objects.order_by("name")
    lookup_field = "slug"


class AIModelViewSet(viewsets.ReadOnlyModelViewSet):
    """The model catalog with list prices per million tokens; filter on tier, status, is_active and
    provider (its slug)."""

    serializer_class = AIModelSerializer
    queryset = AIModel.objects.select_related("provider").order_by("provider__name", "name")
    filterset_class = AIModelFilter

    @extend_schema(
        methods=["get"],
        responses={200: PriceBookEntrySerializer(many=True)},
        summary="The model's price book",
    )
    @extend_schema(
        methods=["post"],
        request=PriceAddSerializer,
        responses={
            201: PriceAddResultSerializer,
            400: OpenApiResponse(description="An invalid or duplicate price, the field named."),
            403: OpenApiResponse(description="Only platform admins change the model catalog."),
        },
        summary="Add a price; one in force from a past day re-costs the estimated usage it affects",
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None, filter_backends=[])
    def prices(self, request, pk=None):
        if request.method == "POST":
            permissions.require(request.user, permissions.CHANGE_MODEL_CATALOG)
        model = self.get_object()
        if request.method == "GET":
            return Response(PriceBookEntrySerializer(selectors.model_price_list(model=model), many=True).data)
        given = PriceAddSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        change = price_services.price_add(
            actor=request.user, model=model, source="api", **given.validated_data
        )
        result = {
            "price": change.price,
            "recosted_events": change.recosting.events,
            "recosted_since": change.recosting.since,
            "estimated_before": change.recosting.before,
            "estimated_after": change.recosting.after,
        }
        return Response(PriceAddResultSerializer(result).data, status=201)
