from django.contrib.auth import get_user_model
from rest_framework import serializers

from .. import permissions
from ..models import ApiToken


class MembershipSerializer(serializers.Serializer):
    team = serializers.CharField(source="team.slug", read_only=True)
    role = serializers.CharField(read_only=True)


class MeSerializer(serializers.ModelSerializer):
    roles = serializers.SerializerMethodField()
    teams = MembershipSerializer(source="team_memberships", many=True, read_only=True)

    class Meta:
        model = get_user_model()
        fields = ["id", "username", "first_name", "last_name", "email", "roles", "teams"]

    def get_roles(self, user) -> list[str]:
        return sorted(permissions.roles_of(user))


class ApiTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
        read_only_fields = fields
