from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from aifinops.core.api.forms import serializer_for_form

from ..forms import DecisionForm, FundingRequestForm, MeetingCloseForm, VoteForm
from ..models import AgendaItem, Council, CouncilMember, Decision, FundingRequest, Meeting, Vote, VoteChoice


class CouncilMemberSerializer(serializers.ModelSerializer):
    user = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = CouncilMember
        fields = ["user", "persona", "is_active"]


class CouncilSerializer(serializers.ModelSerializer):
    chair = serializers.SlugRelatedField(slug_field="username", read_only=True)
    members = CouncilMemberSerializer(many=True, read_only=True)

    class Meta:
        model = Council
        fields = ["id", "name", "cadence", "quorum", "chair", "members"]


class MeetingSerializer(serializers.ModelSerializer):
    council_name = serializers.CharField(source="council.name", read_only=True)
    chair = serializers.SlugRelatedField(
        source="council.chair", slug_field="username", read_only=True, allow_null=True
    )
    quorum = serializers.IntegerField(source="council.quorum", read_only=True)
    item_count = serializers.IntegerField(read_only=True, help_text="Items on the agenda.")

    class Meta:
        model = Meeting
        fields = [
            "id",
            "council",
            "council_name",
            "chair",
            "quorum",
            "kind",
            "scheduled_for",
            "state",
            "published_at",
            "started_at",
            "closed_at",
            "item_count",
            "minutes",
        ]
        read_only_fields = fields


@extend_schema_serializer(component_name="CouncilDecision")
class DecisionSerializer(serializers.ModelSerializer):
    meeting = serializers.IntegerField(source="item.meeting_id", read_only=True)
    use_case = serializers.SlugRelatedField(source="item.use_case", slug_field="key", read_only=True)
    recorded_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Decision
        fields = [
            "id",
            "item",
            "meeting",
            "use_case",
            "outcome",
            "amount_approved",
            "currency",
            "conditions",
            "milestone",
            "period_start",
            "period_end",
            "note",
            "funding_request",
            "recorded_by",
            "recorded_at",
        ]
        read_only_fields = fields


class VoteSerializer(serializers.ModelSerializer):
    member = serializers.SlugRelatedField(source="member.user", slug_field="username", read_only=True)
    persona = serializers.CharField(source="member.persona", read_only=True)

    class Meta:
        model = Vote
        fields = [
            "id",
            "item",
            "member",
            "persona",
            "choice",
            "comment",
            "conditions",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class TallySerializer(serializers.Serializer):
    counts = serializers.DictField(child=serializers.IntegerField(), help_text="Votes per choice.")
    votes = serializers.IntegerField()
    quorum = serializers.IntegerField()
    quorum_met = serializers.BooleanField()


def tally_data(tally):
    return {
        "counts": {choice: n for choice, _label, n in tally.counts},
        "votes": tally.votes,
        "quorum": tally.quorum,
        "quorum_met": tally.met,
    }


class AgendaItemSerializer(serializers.ModelSerializer):
    use_case = serializers.SlugRelatedField(
        slug_field="key",
        read_only=True,
        allow_null=True,
        help_text="The use case; null while an intake waits.",
    )
    use_case_name = serializers.CharField(
        source="title", read_only=True, help_text="The use case's name, or the intake's while it waits."
    )
    reasons = serializers.JSONField(read_only=True, help_text="[{code, label, detail, severity, kind, key}]")
    tally = serializers.SerializerMethodField()
    decision = DecisionSerializer(read_only=True, allow_null=True)
    pack_frozen = serializers.SerializerMethodField()

    class Meta:
        model = AgendaItem
        fields = [
            "id",
            "meeting",
            "position",
            "use_case",
            "intake",
            "use_case_name",
            "severity",
            "amount_at_stake",
            "currency",
            "status",
            "reasons",
            "carried_from",
            "tally",
            "decision",
            "pack_frozen",
        ]
        read_only_fields = fields

    @extend_schema_field(TallySerializer)
    def get_tally(self, item):
        from ..selectors import tally_of

        return tally_data(tally_of(item))

    def get_pack_frozen(self, item) -> bool:
        return item.review_pack is not None


class AgendaItemDetailSerializer(AgendaItemSerializer):
    votes = VoteSerializer(many=True, read_only=True)
    review_pack = serializers.SerializerMethodField(
        help_text="Frozen when the agenda was published; built live for a draft meeting."
    )

    class Meta(AgendaItemSerializer.Meta):
        fields = [*AgendaItemSerializer.Meta.fields, "votes", "review_pack"]
        read_only_fields = fields

    @extend_schema_field(serializers.JSONField())
    def get_review_pack(self, item):
        from .. import selectors

        return selectors.item_review_pack(item=item)


class FundingRequestSerializer(serializers.ModelSerializer):
    use_case = serializers.SlugRelatedField(slug_field="key", read_only=True)
    milestone_name = serializers.CharField(source="milestone.name", read_only=True, allow_null=True)
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = FundingRequest
        fields = [
            "id",
            "use_case",
            "target_stage",
            "milestone",
            "milestone_name",
            "amount",
            "currency",
            "period_start",
            "period_end",
            "expected_outcomes",
            "status",
            "requested_by",
            "submitted_at",
            "decided_at",
            "created_at",
        ]
        read_only_fields = fields


class ApprovedSpendSerializer(serializers.Serializer):
    use_case = serializers.SlugField(source="use_case.key")
    use_case_name = serializers.CharField(source="use_case.name")
    team = serializers.CharField(source="use_case.team.name")
    decision = serializers.IntegerField(source="decision.pk")
    outcome = serializers.ChoiceField(choices=VoteChoice.choices)
    amount = serializers.DecimalField(max_digits=18, decimal_places=2, allow_null=True)
    currency = serializers.CharField()
    milestone = serializers.CharField()
    target_stage = serializers.CharField()
    period_start = serializers.DateField(allow_null=True)
    period_end = serializers.DateField(allow_null=True)
    conditions = serializers.CharField()


class ApprovedSpendListSerializer(serializers.Serializer):
    meeting = serializers.IntegerField()
    state = serializers.CharField()
    final = serializers.BooleanField(help_text="True once the meeting is closed.")
    totals = serializers.DictField(
        child=serializers.DecimalField(max_digits=18, decimal_places=2), help_text="Per currency."
    )
    results = ApprovedSpendSerializer(many=True)


class AgendaBuildSerializer(serializers.Serializer):
    meeting = MeetingSerializer()
    created = serializers.ListField(child=serializers.SlugField(), help_text="Use cases added.")
    extended = serializers.ListField(child=serializers.SlugField(), help_text="Items that gained reasons.")
    carried = serializers.ListField(child=serializers.SlugField(), help_text="Items carried over.")


VoteWriteSerializer = serializer_for_form(VoteForm, name="VoteCast", required=("choice",))
DecisionWriteSerializer = serializer_for_form(DecisionForm, name="DecisionRecord", required=("outcome",))
MeetingCloseSerializer = serializer_for_form(MeetingCloseForm, name="MeetingClose")
FundingRequestWriteSerializer = serializer_for_form(
    FundingRequestForm,
    name="FundingRequestCreate",
    required=("amount", "period_start", "period_end", "expected_outcomes"),
    extra={"use_case": serializers.SlugField(help_text="The use case's key.")},
)
