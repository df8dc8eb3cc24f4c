"""The spend import API: POST a file to import it, GET an import to follow it."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.settings import api_settings

from aifinops.core import permissions

from ..models import ImportBatch, ImportMode
from .importers.registry import IMPORTERS
from .services import (
    RETRY_MODES,
    import_progress,
    spend_import_cancel,
    spend_import_create,
    spend_import_retry,
    spend_import_undo,
    upload_too_large,
)


class UploadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


class ImportBatchSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    progress = serializers.SerializerMethodField()
    rejects_url = serializers.SerializerMethodField()

    class Meta:
        model = ImportBatch
        fields = [
            "id",
            "original_name",
            "size",
            "sha256",
            "source_format",
            "mode",
            "status",
            "progress",
            "rows_read",
            "rows_imported",
            "rows_duplicate",
            "rows_rejected",
            "error",
            "period_start",
            "period_end",
            "totals",
            "rejects_url",
            "created_by",
            "created_at",
            "started_at",
            "heartbeat_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_progress(self, batch) -> int:
        return import_progress(batch)["percent"]

    def get_rejects_url(self, batch) -> str | None:
        if not batch.rows_rejected:
            return None
        return reverse("showback:import_rejects", args=[batch.pk])


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The spend file: CSV, JSON, or .gz of either.")
    source_format = serializers.ChoiceField(
        choices=sorted(IMPORTERS), required=False, allow_blank=True, help_text="Detected when left out."
    )
    mode = serializers.ChoiceField(
        choices=ImportMode.choices, required=False, default=ImportMode.ALL_OR_NOTHING
    )


class ImportRetrySerializer(serializers.Serializer):
    mode = serializers.ChoiceField(
        choices=RETRY_MODES,
        required=False,
        default="as_before",
        help_text="`as_before` (default) reads the file again as it was; `valid_rows` imports a failed "
        "import's valid rows only, keeping its rejects to download.",
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
        permissions.require(self.request.user, permissions.IMPORT_SPEND)
        return ImportBatch.objects.select_related("created_by").order_by("-created_at", "-id")

    @extend_schema(request=ImportUploadSerializer, responses={202: ImportBatchSerializer})
    def create(self, request, *args, **kwargs):
        refusal = upload_too_large(request.META.get("CONTENT_LENGTH"))
        if refusal:
            self.get_queryset()  # the permission first: a stranger learns nothing of the limit
            raise UploadTooLarge({"file": [refusal]})
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

    def _act(self, service, pk, **kwargs):
        self.get_queryset()
        batch = self.get_object()
        service(batch_id=batch.pk, actor=self.request.user, **kwargs)
        batch.refresh_from_db()
        return Response(ImportBatchSerializer(batch).data)

    @extend_schema(request=ImportRetrySerializer, responses={200: ImportBatchSerializer})
    @action(detail=True, methods=["post"], parser_classes=api_settings.DEFAULT_PARSER_CLASSES)
    def retry(self, request, pk=None):
        """Queue a failed or cancelled import again; it adds only the rows not already imported.
        `{"mode": "valid_rows"}` imports the valid rows of an import that failed on rejected rows."""
        self.get_queryset()
        body = ImportRetrySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._act(spend_import_retry, pk, mode=body.validated_data["mode"])

    @extend_schema(request=None, responses={200: ImportBatchSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel a queued or running import: nothing of it is kept."""
        return self._act(spend_import_cancel, pk)

    @extend_schema(request=None, responses={200: ImportBatchSerializer})
    @action(detail=True, methods=["post"])
    def undo(self, request, pk=None):
        """Remove exactly the rows an imported file added, and rebuild the rollups of its days."""
        return self._act(spend_import_undo, pk)


router = SimpleRouter()
router.register("spend/imports", ImportBatchViewSet, basename="api-spend-import")

urlpatterns = router.urls
