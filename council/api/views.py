from rest_framework import viewsets

from aifinops.core.api.permissions import SectionPermission

from .. import selectors
from .serializers import CouncilSerializer


class CouncilViewSet(viewsets.ReadOnlyModelViewSet):
    """Councils with their chair and active members."""

    serializer_class = CouncilSerializer
    permission_classes = [SectionPermission]
    section = "council"

    def get_queryset(self):
        return selectors.council_queryset()
