from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Prefetch, Q
from django.shortcuts import get_object_or_404

from .history import plain_history
from .models import ApiToken, AuditEvent, Notification
from .roles import ROLE_GRANTS, Role


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


PERSON_STATUSES = {"active": True, "inactive": False}


def person_list(*, filters=None):
    """People for Administration, with their roles and teams in two further queries whatever
    their number. `filters`: q (username, name or email contains), role (a Role value), status
    (active / inactive)."""
    filters = filters or {}
    qs = get_user_model().objects.all()
    q = (filters.get("q") or "").strip()
    if q:
        qs = qs.filter(
            Q(username__icontains=q)
            | Q(first_name__icontains=q)
            | Q(last_name__icontains=q)
            | Q(email__icontains=q)
        )
    role = filters.get("role")
    if role == Role.PLATFORM_ADMIN:
        qs = qs.filter(Q(groups__name=role) | Q(is_superuser=True))
    elif role in Role.values:
        qs = qs.filter(groups__name=role)
    if filters.get("status") in PERSON_STATUSES:
        qs = qs.filter(is_active=PERSON_STATUSES[filters["status"]])
    return (
        qs.distinct()
        .prefetch_related(
            Prefetch("groups", queryset=Group.objects.filter(name__in=Role.values), to_attr="role_groups"),
            Prefetch("team_memberships", queryset=_membership_model().objects.select_related("team")),
        )
        .order_by("username")
    )


def _membership_model():
    return get_user_model()._meta.get_field("team_memberships").related_model


def person_get(*, pk):
    return get_object_or_404(person_list(), pk=pk)


def person_roles(person) -> list[str]:
    """A person's roles from `person_list`'s prefetch (a superuser is a platform admin)."""
    names = {g.name for g in person.role_groups}
    if person.is_superuser:
        names.add(Role.PLATFORM_ADMIN)
    return [r for r in Role.values if r in names]


def role_list():
    """Each role, what it grants, and who holds it (active people first), in two queries."""
    User = get_user_model()
    holders = {r: [] for r in Role.values}
    for user in (
        User.objects.filter(Q(groups__name__in=Role.values) | Q(is_superuser=True))
        .distinct()
        .prefetch_related(
            Prefetch("groups", queryset=Group.objects.filter(name__in=Role.values), to_attr="role_groups")
        )
        .order_by("-is_active", "username")
    ):
        for role in person_roles(user):
            holders[role].append(user)
    return [
        {
            "value": role.value,
            "label": role.label,
            "grants": ROLE_GRANTS[role],
            "holders": holders[role.value],
        }
        for role in Role
    ]
