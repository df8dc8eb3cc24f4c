"""Reads for the internal AI tools register: subscriptions with their seat use, and renewals."""

import datetime

from django.db.models import Count, Q
from django.http import Http404

from aifinops.core import periods, permissions

from ..models import Team, ToolSubscription, UseCase
from .services import ACTIVE_WITHIN_DAYS, WARNING_DAYS, utilisation


def subscription_queryset(user):
    """Subscriptions the user may see, with `holders` and `active_seats` counted in the same query."""
    since = periods.today() - datetime.timedelta(days=ACTIVE_WITHIN_DAYS)
    return (
        ToolSubscription.objects.filter(permissions.subscription_scope(user))
        .select_related("team", "owner", "use_case", "seat_proposal")
        .annotate(
            holders=Count("seat_activity"),
            active_seats=Count("seat_activity", filter=Q(seat_activity__last_active__gte=since)),
        )
    )


def renewal_urgency(subscription, today):
    """90, 60 or 30: the nearest warning lead time the renewal is within, else None."""
    days = (subscription.renewal_date - today).days
    if days < 0 or not subscription.active:
        return None
    within = [d for d in WARNING_DAYS if days <= d]
    return min(within) if within else None


def subscription_list(*, user, today=None):
    """(subscription, utilisation, days to renewal, urgency) for every subscription the user may see,
    soonest renewal first, in a constant number of queries."""
    today = today or periods.today()
    rows = []
    for s in subscription_queryset(user).order_by("renewal_date", "vendor", "product"):
        found = utilisation(s, active=s.active_seats, holders=s.holders)
        rows.append((s, found, (s.renewal_date - today).days, renewal_urgency(s, today)))
    return rows


def subscription_get(*, user, pk):
    try:
        return subscription_queryset(user).get(pk=pk)
    except ToolSubscription.DoesNotExist:
        raise Http404("No such subscription.") from None


def subscription_totals(rows):
    """Monthly cost, seats, active seats and the monthly cost of unused seats, per currency."""
    totals = {}
    for s, found, _days, _urgency in rows:
        if not s.active:
            continue
        t = totals.setdefault(s.currency, {"cost": 0, "seats": 0, "active": 0, "unused_cost": 0})
        t["cost"] += found.monthly_cost
        t["seats"] += found.seats
        t["active"] += found.active
        if found.known:
            t["unused_cost"] += found.unused * s.monthly_price_per_seat
    return totals


def renewals_in(*, user, start, months):
    """Active subscriptions renewing from `start` over `months` months: (subscription, utilisation),
    for the forecast and commitment planning. Right-sized means renewing at the seats in use."""
    end_month = (start.month - 1 + months) % 12 + 1
    end_year = start.year + (start.month - 1 + months) // 12
    end = datetime.date(end_year, end_month, 1)
    rows = subscription_queryset(user).filter(active=True, renewal_date__gte=start, renewal_date__lt=end)
    return [
        (s, utilisation(s, active=s.active_seats, holders=s.holders)) for s in rows.order_by("renewal_date")
    ]


def subscription_choices(user):
    """The teams and use cases a user may pick for a subscription."""
    return {
        "teams": Team.objects.filter(permissions.team_scope(user)).order_by("name"),
        "use_cases": UseCase.objects.filter(permissions.use_case_scope(user)).order_by("name"),
    }
