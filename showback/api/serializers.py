from rest_framework import serializers

from ..models import DailySpend


class DailySpendSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    use_case = serializers.SlugRelatedField(slug_field="key", read_only=True)
    provider = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    model = serializers.SlugRelatedField(slug_field="key", read_only=True)

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
