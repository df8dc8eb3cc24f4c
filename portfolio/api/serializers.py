from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .. import spend
from ..choices import PriceKind, PriceTier
from ..models import MONEY, AIModel, PriceBookEntry, Provider, Team, UseCase

MICRO = Decimal("0.000001")


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


class PriceBookEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = PriceBookEntry
        fields = [
            "id",
            "kind",
            "tier",
            "effective_from",
            "volume_threshold",
            "input_price_per_mtok",
            "output_price_per_mtok",
            "cache_read_price_per_mtok",
            "cache_write_price_per_mtok",
            "long_context_threshold",
            "long_context_input_price_per_mtok",
            "long_context_output_price_per_mtok",
            "currency",
            "source",
            "note",
        ]


def _price(required=False):
    return serializers.DecimalField(
        max_digits=MONEY["max_digits"],
        decimal_places=MONEY["decimal_places"],
        min_value=0,
        required=required,
        allow_null=not required,
    )


class PriceAddSerializer(serializers.Serializer):
    """A price to add to a model's book; `portfolio.services.prices.price_add` holds the rules."""

    kind = serializers.ChoiceField(choices=PriceKind.choices, default=PriceKind.LIST)
    tier = serializers.ChoiceField(choices=PriceTier.choices, default=PriceTier.STANDARD)
    effective_from = serializers.DateField()
    volume_threshold = serializers.IntegerField(min_value=0, max_value=10**15, default=0)
    input_price_per_mtok = _price(required=True)
    output_price_per_mtok = _price(required=True)
    cache_read_price_per_mtok = _price()
    cache_write_price_per_mtok = _price()
    long_context_threshold = serializers.IntegerField(
        min_value=1, max_value=10**15, required=False, allow_null=True
    )
    long_context_input_price_per_mtok = _price()
    long_context_output_price_per_mtok = _price()
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", required=False)
    note = serializers.CharField(max_length=250, required=False, allow_blank=True, default="")


class PriceAddResultSerializer(serializers.Serializer):
    price = PriceBookEntrySerializer()
    recosted_events = serializers.IntegerField()
    recosted_since = serializers.DateField(allow_null=True)
    estimated_before = serializers.DictField(child=serializers.DecimalField(max_digits=30, decimal_places=10))
    estimated_after = serializers.DictField(child=serializers.DecimalField(max_digits=30, decimal_places=10))


class UseCaseSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    business_owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    technical_owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    ai_models = serializers.SerializerMethodField()
    actual_mtd = serializers.SerializerMethodField(
        help_text="Actual spend this month, {currency: amount}, as the portfolio list shows it."
    )
    actual_last = serializers.SerializerMethodField(
        help_text="Actual spend last month, {currency: amount}, as the portfolio list shows it."
    )

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
            "actual_mtd",
            "actual_last",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_ai_models(self, obj) -> list[str]:
        return [m.key for m in obj.ai_models.all()]

    def _actual(self, obj, period):
        # The list attaches every row's totals in one query; a single use case reads its own.
        if not hasattr(obj, "actual"):
            obj.actual = spend.use_case_spend_totals(use_case_ids=[obj.pk])[obj.pk]
        return {
            currency: str(amount.quantize(MICRO)) for currency, amount in sorted(obj.actual[period].items())
        }

    @extend_schema_field(serializers.DictField(child=serializers.CharField()))
    def get_actual_mtd(self, obj):
        return self._actual(obj, "month_to_date")

    @extend_schema_field(serializers.DictField(child=serializers.CharField()))
    def get_actual_last(self, obj):
        return self._actual(obj, "last_month")


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
