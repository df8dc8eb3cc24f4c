from . import permissions
from .navigation import navigation_for


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = navigation_for(user, request.path)
    # Only people have notifications: a gateway key is authenticated too, and its request can end
    # on a page (the 500 page, at least).
    notifications = getattr(user, "notifications", None)
    unread = notifications.filter(read_at__isnull=True).count() if notifications is not None else 0
    return {"nav_items": items, "user_roles": permissions.roles_of(user), "unread_notifications": unread}
