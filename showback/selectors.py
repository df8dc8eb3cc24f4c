"""Reads of spend. Everything reads the DailySpend rollup, scoped to what the user may see.

Amounts are summed per currency and never added across currencies.
"""

import datetime
from collections import defaultdict
from decimal import Decimal

from django.db.models import Sum
from django.db.models.functions import TruncMonth
from django.shortcuts import get_object_or_404
from django.utils import timezone

from aifinops.core import permissions

from .models import DailySpend, ImportBatch


def today():
    return timezone.now().date()


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def months_back(day: datetime.date, n: int) -> datetime.date:
    """The first day of the month n months before day's month."""
    y, m = divmod(day.year * 12 + day.month - 1 - n, 12)
    return datetime.date(y, m + 1, 1)


def daily_spend_queryset(*, user, ai_only=True):
    qs = DailySpend.objects.filter(permissions.spend_scope(user))
    if ai_only:
        qs = qs.filter(is_ai=True)
    return qs


def _totals(qs):
    return {
        r["currency"]: r["total"] or Decimal("0")
        for r in qs.order_by().values("currency").annotate(total=Sum("effective_cost"))
    }


def spend_total(*, user, start, end, ai_only=True):
    """{currency: effective cost} between start and end inclusive."""
    return _totals(daily_spend_queryset(user=user, ai_only=ai_only).filter(date__gte=start, date__lte=end))


def spend_by(*, user, dimension, start, end, ai_only=True, limit=None):
    """Rows of {label, key, currency, total} grouped by team, use_case, provider or model."""
    fields = {
        "team": ("team__slug", "team__name"),
        "use_case": ("use_case__key", "use_case__name"),
        "provider": ("provider__slug", "provider__name"),
        "model": ("model__key", "model__name"),
    }[dimension]
    rows = (
        daily_spend_queryset(user=user, ai_only=ai_only)
        .filter(date__gte=start, date__lte=end)
        .order_by()
        .values(*fields, "currency")
        .annotate(total=Sum("effective_cost"))
        .order_by("-total")
    )
    if limit:
        rows = rows[:limit]
    return [
        {
            "key": r[fields[0]],
            "label": r[fields[1]] or "Unattributed",
            "currency": r["currency"],
            "total": r["total"],
        }
        for r in rows
    ]


def monthly_trend(*, user, months=12, ai_only=True, team=None, use_case=None):
    """[(month, {currency: total})] for the last `months` months including the current one."""
    end = today()
    start = months_back(end, months - 1)
    qs = daily_spend_queryset(user=user, ai_only=ai_only).filter(date__gte=start, date__lte=end)
    if team is not None:
        qs = qs.filter(team=team)
    if use_case is not None:
        qs = qs.filter(use_case=use_case)
    rows = (
        qs.annotate(month=TruncMonth("date"))
        .order_by()
        .values("month", "currency")
        .annotate(total=Sum("effective_cost"))
    )
    by_month = defaultdict(dict)
    for r in rows:
        by_month[r["month"]][r["currency"]] = r["total"]
    return [(months_back(end, n), by_month.get(months_back(end, n), {})) for n in range(months - 1, -1, -1)]


def team_spend_summary(*, user, team):
    day = today()
    start = month_start(day)
    qs = daily_spend_queryset(user=user).filter(team=team)
    return {
        "month_to_date": _totals(qs.filter(date__gte=start, date__lte=day)),
        "last_month": _totals(qs.filter(date__gte=months_back(day, 1), date__lt=start)),
        "trend": monthly_trend(user=user, team=team),
    }


def use_case_spend_summary(*, use_case):
    """The spend of one use case; the caller has already checked that the user may see it."""
    day = today()
    start = month_start(day)
    qs = DailySpend.objects.filter(use_case=use_case)
    by_model = (
        qs.filter(date__gte=months_back(day, 2))
        .order_by()
        .values("model__name", "provider__name", "currency")
        .annotate(total=Sum("effective_cost"))
        .order_by("-total")
    )
    return {
        "month_to_date": _totals(qs.filter(date__gte=start, date__lte=day)),
        "last_month": _totals(qs.filter(date__gte=months_back(day, 1), date__lt=start)),
        "by_model": list(by_model),
    }


def use_case_monthly_spend(*, use_case, start, end):
    """{month (first day): {currency: effective cost}} of one use case's AI spend, start..end."""
    rows = (
        DailySpend.objects.filter(use_case=use_case, is_ai=True, date__gte=start, date__lte=end)
        .annotate(month=TruncMonth("date"))
        .order_by()
        .values("month", "currency")
        .annotate(total=Sum("effective_cost"))
    )
    by_month = defaultdict(dict)
    for r in rows:
        by_month[r["month"]][r["currency"]] = r["total"]
    return dict(by_month)


def use_case_has_recent_spend(*, use_case, days=14):
    """Whether spend was attributed to the use case in the last `days` days."""
    since = today() - datetime.timedelta(days=days)
    return DailySpend.objects.filter(use_case=use_case, date__gte=since, effective_cost__gt=0).exists()


def import_list(*, limit=50):
    return list(ImportBatch.objects.select_related("created_by").order_by("-created_at", "-id")[:limit])


def import_get(*, pk):
    return get_object_or_404(ImportBatch.objects.select_related("created_by"), pk=pk)


SUMMARY_GROUPS = {
    "provider": "provider__slug",
    "team": "team__slug",
    "use_case": "use_case__key",
    "model": "model__key",
    "model_tier": "model_tier",
    "environment": "environment",
    "month": "month",
}


def spend_summary(*, user, group_by, start, end, ai_only=True):
    """Totals of the daily rollups the user may see, start inclusive to end exclusive, by one
    dimension and currency: [{group, currency, billed_cost, effective_cost, estimated_cost,
    input_tokens, output_tokens, requests}]."""
    field = SUMMARY_GROUPS[group_by]
    qs = daily_spend_queryset(user=user, ai_only=ai_only).filter(date__gte=start, date__lt=end)
    if group_by == "month":
        qs = qs.annotate(month=TruncMonth("date"))
    rows = (
        qs.order_by()
        .values(field, "currency")
        .annotate(
            billed=Sum("billed_cost"),
            effective=Sum("effective_cost"),
            estimated=Sum("estimated_cost"),
            tokens_in=Sum("input_tokens"),
            tokens_out=Sum("output_tokens"),
            n_requests=Sum("requests"),
        )
        .order_by(field, "currency")
    )
    return [
        {
            "group": r[field].isoformat()[:7] if group_by == "month" and r[field] else r[field],
            "currency": r["currency"],
            "billed_cost": r["billed"] or Decimal("0"),
            "effective_cost": r["effective"] or Decimal("0"),
            "estimated_cost": r["estimated"] or Decimal("0"),
            "input_tokens": r["tokens_in"] or 0,
            "output_tokens": r["tokens_out"] or 0,
            "requests": r["n_requests"] or 0,
        }
        for r in rows
    ]
