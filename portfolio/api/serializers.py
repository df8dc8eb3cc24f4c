from rest_framework import serializers

from ..models import AIModel, Provider, Team, UseCase


class TeamSerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "slug", "name", "business_function", "cost_center", "description"]


class ProviderSerializer(serializers.ModelSerializer):
    class Meta:
        model = Provider
        fields = ["id", "slug", "name", "kind"]


class AIModelSerializer(serializers.ModelSerializer):
    provider = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = AIModel
        fields = [
            "id",
            "ref",
            "provider",
            "key",
            "name",
            "tier",
            "status",
            "input_price_per_mtok",
            "output_price_per_mtok",
            "cached_input_price_per_mtok",
            "currency",
            "context_window",
            "is_active",
        ]


class UseCaseSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    business_owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    technical_owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    ai_models = serializers.SerializerMethodField()

    class Meta:
        model = UseCase
        fields = [
            "id",
            "key",
            "name",
            "purpose",
            "team",
            "business_owner",
            "technical_owner",
            "cost_center",
            "business_function",
            "product",
            "customer_segment",
            "workflow",
            "environment",
            "data_classification",
            "personal_data",
            "customer_impact",
            "autonomy_level",
            "risk_tier",
            "stage",
            "ai_models",
            "expected_monthly_cost",
            "currency",
            "value_metric",
            "value_per_outcome",
            "outcomes_per_month",
            "success_metric",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_ai_models(self, obj) -> list[str]:
        return [m.key for m in obj.ai_models.all()]


class GateItemSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()
    group = serializers.CharField()
    met = serializers.BooleanField()
    how = serializers.CharField(help_text="computed, attested, not_applicable or open")
    missing = serializers.CharField(allow_blank=True)


class GateSerializer(serializers.Serializer):
    stage = serializers.CharField()
    complete = serializers.BooleanField()
    items = GateItemSerializer(many=True)
