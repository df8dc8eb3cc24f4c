from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from aifinops.core import permissions

from .. import selectors
from ..filters import DailySpendFilter
from ..models import ImportBatch, ImportMode
from ..services.imports import spend_import_create
from .serializers import (
    DailySpendSerializer,
    ImportBatchSerializer,
    ImportUploadSerializer,
    SpendSummaryQuerySerializer,
    SpendSummarySerializer,
)


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


class ImportBatchViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Spend imports: POST a file (multipart) to import it; GET one to follow its status.

    The import runs in the background: the POST answers 202 with the queued import, whose
    `status` and `progress` then move to `succeeded` (or `failed`, with `error` and `rejects_url`).
    """

    serializer_class = ImportBatchSerializer
    parser_classes = [MultiPartParser, FormParser]
    queryset = ImportBatch.objects.none()

    def get_queryset(self):
        if not permissions.can_import_spend(self.request.user):
            raise PermissionDenied("Only finance analysts and platform admins import spend.")
        return ImportBatch.objects.select_related("created_by").order_by("-created_at", "-id")

    @extend_schema(request=ImportUploadSerializer, responses={202: ImportBatchSerializer})
    def create(self, request, *args, **kwargs):
        upload = ImportUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        batch = spend_import_create(
            actor=request.user,
            uploaded_file=upload.validated_data["file"],
            source_format=upload.validated_data.get("source_format") or "",
            mode=upload.validated_data.get("mode") or ImportMode.ALL_OR_NOTHING,
        )
        batch.refresh_from_db()
        return Response(ImportBatchSerializer(batch).data, status=status.HTTP_202_ACCEPTED)


class SpendSummaryApi(APIView):
    """Spend totals by one dimension over a period (start inclusive, end exclusive, by charge
    period start), from the daily rollups the caller may see. `scope=ai` (default) or `all`.

    One result per group and currency: amounts are never added across currencies.
    """

    @extend_schema(parameters=[SpendSummaryQuerySerializer], responses=SpendSummarySerializer)
    def get(self, request):
        query = SpendSummaryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        rows = selectors.spend_summary(
            user=request.user,
            group_by=params["group_by"],
            start=params["start"],
            end=params["end"],
            ai_only=params["scope"] == "ai",
        )
        group = params["group_by"]
        money = ("billed_cost", "effective_cost", "estimated_cost")
        results = [
            {group: r["group"], **{k: (str(v) if k in money else v) for k, v in r.items() if k != "group"}}
            for r in rows
        ]
        currencies = sorted({r["currency"] for r in rows})
        body = {"results": results, "currency": currencies[0] if len(currencies) == 1 else None}
        return Response(body)
