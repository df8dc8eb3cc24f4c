from rest_framework import serializers

from aifinops.core.api.forms import serializer_for_form
from portfolio.choices import RiskTier, RunFrequency, TaskKind

from ..forms import IntakeForm
from ..models import IntakeRequest, ReviewPath

IntakeWriteSerializer = serializer_for_form(
    IntakeForm,
    name="IntakeWrite",
    required=("name", "team"),
    extra={
        "tags": serializers.DictField(
            child=serializers.CharField(allow_blank=True),
            required=False,
            help_text="Classification tags, keyed by the tag schema's keys (product, function, …).",
        ),
        "submit": serializers.BooleanField(
            required=False, default=False, help_text="Submit for triage at once instead of saving a draft."
        ),
    },
)


class FindingSerializer(serializers.Serializer):
    code = serializers.CharField()
    text = serializers.CharField()
    tier = serializers.CharField(allow_blank=True)


class IntakeSerializer(serializers.ModelSerializer):
    reference = serializers.CharField(read_only=True)
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    requester = serializers.SlugRelatedField(slug_field="username", read_only=True)
    business_owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    technical_owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    ai_models = serializers.SlugRelatedField(slug_field="ref", many=True, read_only=True)
    use_case = serializers.SlugRelatedField(slug_field="key", read_only=True, allow_null=True)
    review_required = serializers.BooleanField(read_only=True)
    # Blank until the requester fills them in or triage runs; read-only fields lose the model's
    # allow_blank, and the schema would then say "" cannot be.
    task_kind = serializers.ChoiceField(choices=TaskKind.choices, allow_blank=True, read_only=True)
    run_frequency = serializers.ChoiceField(choices=RunFrequency.choices, allow_blank=True, read_only=True)
    risk_tier = serializers.ChoiceField(choices=RiskTier.choices, allow_blank=True, read_only=True)
    review_path = serializers.ChoiceField(choices=ReviewPath.choices, allow_blank=True, read_only=True)
    triage_reasons = FindingSerializer(many=True, read_only=True)
    triage_warnings = FindingSerializer(many=True, read_only=True)

    class Meta:
        model = IntakeRequest
        fields = [
            "id",
            "reference",
            "status",
            *IntakeRequest.INPUT_FIELDS,
            "tags",
            "requester",
            "risk_tier",
            "review_path",
            "review_required",
            "triage_reasons",
            "triage_warnings",
            "submitted_at",
            "triaged_at",
            "decided_at",
            "decided_by",
            "decision_note",
            "use_case",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class DecisionSerializer(serializers.Serializer):
    note = serializers.CharField(
        required=False, allow_blank=True, help_text="A note, or the reason to reject."
    )


class RejectSerializer(DecisionSerializer):
    note = serializers.CharField(required=False, allow_blank=True, help_text="The reason to reject.")
    confirm = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Rejecting closes the intake for good and tells its requester and owners the reason: "
        "send true; without it the answer is 400 naming `confirm` and nothing changes.",
    )
