from rest_framework import mixins, viewsets

from .. import selectors
from ..filters import DailySpendFilter
from .serializers import DailySpendSerializer


class DailySpendViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Daily spend rollups the caller may see (their teams', or all for cross-team roles).

    Includes non-AI spend; filter with `is_ai=true` for AI spend only.
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
