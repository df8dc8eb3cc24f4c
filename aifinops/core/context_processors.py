from django.urls import reverse

from . import permissions

NAV = [
    ("intake", "Intake", "intake:index"),
    ("portfolio", "Portfolio", "portfolio:use_case_list"),
    ("dashboard", "Dashboard", "dashboard:index"),
    ("council", "Council", "council:index"),
    ("showback", "Showback", "showback:index"),
    ("admin", "Admin", "admin:index"),
]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = []
    for section, label, url_name in NAV:
        if permissions.can_access_section(user, section):
            url = reverse(url_name)
            items.append(
                {
                    "section": section,
                    "label": label,
                    "url": url,
                    "active": section != "admin" and request.path.startswith(f"/{section}/"),
                }
            )
    # Only people have notifications: a gateway key is authenticated too, and its request can end
    # on a page (the 500 page, at least).
    notifications = getattr(user, "notifications", None)
    unread = notifications.filter(read_at__isnull=True).count() if notifications is not None else 0
    return {"nav_items": items, "user_roles": permissions.roles_of(user), "unread_notifications": unread}
