from django.db.models import Q

from .history import plain_history
from .models import ApiToken, AuditEvent, Notification


def audit_events_for(obj, *, limit=50):
    """The history of one object, newest first, in plain words (aifinops.core.history)."""
    events = list(
        AuditEvent.objects.for_object(obj).select_related("actor").order_by("-created_at", "-id")[:limit]
    )
    return plain_history(events, type(obj))


def audit_event_list(*, filters=None):
    filters = filters or {}
    qs = AuditEvent.objects.all()
    if filters.get("action"):
        qs = qs.filter(action__startswith=filters["action"])
    if filters.get("actor"):
        qs = qs.filter(actor_label=filters["actor"])
    if filters.get("object_type"):
        qs = qs.filter(object_type=filters["object_type"])
    if filters.get("q"):
        qs = qs.filter(Q(object_repr__icontains=filters["q"]) | Q(action__icontains=filters["q"]))
    return qs.order_by("-created_at", "-id")


def api_token_list(*, user):
    return list(ApiToken.objects.filter(user=user).order_by("revoked_at", "-created_at"))


def membership_list(*, user):
    return list(user.team_memberships.select_related("team").order_by("team__name"))


def notification_list(*, user, limit=100):
    return list(Notification.objects.filter(recipient=user).order_by("-created_at", "-id")[:limit])
