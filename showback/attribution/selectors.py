"""Reads for attribution: the rules, and where unattributed AI spend comes from."""

import datetime

from django.db.models import Count, Sum
from django.utils import timezone

from ..models import AttributionRule, DailySpend, SpendRecord

WINDOW_DAYS = 90
# The fields a rule can match, with the label shown for each source of unattributed spend.
SOURCE_FIELDS = [("sub_account", "Sub account"), ("api_key", "API key or alias"), ("service_name", "Service")]


def attribution_rule_list():
    return list(AttributionRule.objects.select_related("use_case", "team").order_by("priority", "id"))


def unattributed_sources(*, limit=10):
    """The largest sources of AI spend with no use case in the last 90 days, per field a rule can
    match: [(label, match_field, [{value, provider, currency, total, rows}])]."""
    since = timezone.now() - datetime.timedelta(days=WINDOW_DAYS)
    base = SpendRecord.objects.filter(is_ai=True, use_case__isnull=True, charge_period_start__gte=since)
    match = {"sub_account": "sub_account", "api_key": "api_key", "service_name": "service"}
    found = []
    for column, label in SOURCE_FIELDS:
        rows = (
            base.exclude(**{column: ""})
            .values(column, "provider_name", "currency")
            .annotate(total=Sum("effective_cost"), rows=Count("id"))
            .order_by("-total")[:limit]
        )
        found.append((label, match[column], [{**r, "value": r[column]} for r in rows]))
    return found


def shadow_ai():
    """AI spend that no registered use case owns, by team and provider, last 90 days (rollups)."""
    since = timezone.now().date() - datetime.timedelta(days=WINDOW_DAYS)
    return list(
        DailySpend.objects.filter(is_ai=True, use_case__isnull=True, date__gte=since)
        .values("team__name", "provider__name", "currency")
        .annotate(total=Sum("effective_cost"))
        .order_by("-total")
    )
