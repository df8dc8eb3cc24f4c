from rest_framework.permissions import BasePermission

from .. import permissions


class SectionPermission(BasePermission):
    """The API twin of SectionRequiredMixin: the view names its `section`."""

    message = "Your roles do not give access to this part of the API."

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and permissions.can_access_section(user, view.section))
