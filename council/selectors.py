from django.db.models import Prefetch

from .models import Council, CouncilMember


def council_queryset():
    members = CouncilMember.objects.filter(is_active=True).select_related("user")
    return (
        Council.objects.select_related("chair")
        .prefetch_related(Prefetch("members", queryset=members))
        .order_by("name")
    )


def council_list():
    return list(council_queryset())


def council_seats(*, user):
    return list(CouncilMember.objects.filter(user=user, is_active=True).select_related("council"))
