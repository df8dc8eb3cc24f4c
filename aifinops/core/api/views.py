from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.generics import RetrieveAPIView
from rest_framework.response import Response

from .. import services
from ..models import ApiToken
from .serializers import ApiTokenSerializer, MeSerializer


class MeApi(RetrieveAPIView):
    """The authenticated user, with roles and team memberships."""

    serializer_class = MeSerializer

    def get_object(self):
        return self.request.user


class ApiTokenViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """The caller's own API tokens. Create them on the profile page; DELETE revokes one."""

    serializer_class = ApiTokenSerializer
    queryset = ApiToken.objects.none()
    ordering_fields = ["created_at", "last_used_at"]

    def get_queryset(self):
        return ApiToken.objects.filter(user=self.request.user).order_by("-created_at")

    @extend_schema(responses={200: ApiTokenSerializer})
    def destroy(self, request, *args, **kwargs):
        token = services.api_token_revoke(token=self.get_object(), actor=request.user)
        return Response(ApiTokenSerializer(token).data)
