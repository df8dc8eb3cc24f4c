from django.urls import reverse
from rest_framework import serializers

from ..importers.registry import IMPORTERS
from ..models import DailySpend, ImportBatch, ImportMode
from ..selectors import SUMMARY_GROUPS


class DailySpendSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    use_case = serializers.SlugRelatedField(slug_field="key", read_only=True, allow_null=True)
    provider = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    model = serializers.SlugRelatedField(slug_field="key", read_only=True, allow_null=True)

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
        ]
        read_only_fields = fields


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
            "finished_at",
        ]
        read_only_fields = fields

    def get_progress(self, batch) -> int:
        from ..services.imports import import_progress

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


class SpendSummaryQuerySerializer(serializers.Serializer):
    group_by = serializers.ChoiceField(choices=sorted(SUMMARY_GROUPS))
    start = serializers.DateField(help_text="First day, inclusive (YYYY-MM-DD).")
    end = serializers.DateField(help_text="Day after the last, exclusive (YYYY-MM-DD).")
    scope = serializers.ChoiceField(choices=["ai", "all"], default="ai", required=False)

    def validate(self, attrs):
        if attrs["end"] <= attrs["start"]:
            raise serializers.ValidationError({"end": "The end must be after the start (it is exclusive)."})
        if (attrs["end"] - attrs["start"]).days > 3700:
            raise serializers.ValidationError({"end": "Ask for at most ten years at a time."})
        return attrs


class SpendSummaryRowSerializer(serializers.Serializer):
    group = serializers.CharField(help_text="Named after group_by in the response.", allow_null=True)
    currency = serializers.CharField()
    billed_cost = serializers.DecimalField(max_digits=24, decimal_places=6)
    effective_cost = serializers.DecimalField(max_digits=24, decimal_places=6)
    estimated_cost = serializers.DecimalField(max_digits=24, decimal_places=6)
    input_tokens = serializers.IntegerField()
    output_tokens = serializers.IntegerField()
    requests = serializers.IntegerField()


class SpendSummarySerializer(serializers.Serializer):
    results = SpendSummaryRowSerializer(many=True)
    currency = serializers.CharField(allow_null=True, help_text="The currency, when there is only one.")
