from rest_framework import serializers

from ..models import Council, CouncilMember


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
