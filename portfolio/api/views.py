from rest_framework import viewsets

from .. import selectors
from ..filters import AIModelFilter, TeamFilter, UseCaseFilter
from ..models import AIModel, Provider
from .serializers import AIModelSerializer, ProviderSerializer, TeamSerializer, UseCaseSerializer


class TeamViewSet(viewsets.ReadOnlyModelViewSet):
    """Teams the caller may see: their own, or all for finance, council and admins."""

    serializer_class = TeamSerializer
    filterset_class = TeamFilter
    lookup_field = "slug"

    def get_queryset(self):
        return selectors.team_list(user=self.request.user)


class UseCaseViewSet(viewsets.ReadOnlyModelViewSet):
    """Use cases the caller may see, filtered like the portfolio page."""

    serializer_class = UseCaseSerializer
    filterset_class = UseCaseFilter
    lookup_field = "key"
    ordering_fields = ["name", "created_at", "expected_monthly_cost"]

    def get_queryset(self):
        return (
            selectors.use_case_queryset(user=self.request.user).prefetch_related("ai_models").order_by("name")
        )


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
