"""The daily rollups that every showback page reads: DailySpend, and CustomerDailySpend for cost to
serve."""

import datetime

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate

from ..models import CustomerDailySpend, DailySpend, SpendRecord

ROLLUP_DIMENSIONS = (
    "use_case_id",
    "team_id",
    "provider_id",
    "model_id",
    "environment",
    "currency",
    "is_ai",
    "is_estimated",
    "model__tier",
)


def _records_of_days(start, end):
    start_dt = datetime.datetime.combine(start, datetime.time.min, tzinfo=datetime.UTC)
    end_dt = datetime.datetime.combine(
        end + datetime.timedelta(days=1), datetime.time.min, tzinfo=datetime.UTC
    )
    return SpendRecord.objects.filter(charge_period_start__gte=start_dt, charge_period_start__lt=end_dt)


@transaction.atomic
def daily_spend_rebuild(*, start: datetime.date, end: datetime.date) -> int:
    """Recompute the DailySpend and CustomerDailySpend rows of the days start..end (inclusive) from
    the SpendRecords.

    Delete-and-insert of whole days keeps it idempotent: running it twice gives the same rows.
    Returns the number of DailySpend rows written.
    """
    DailySpend.objects.filter(date__gte=start, date__lte=end).delete()
    rows = (
        _records_of_days(start, end)
        .annotate(day=TruncDate("charge_period_start", tzinfo=datetime.UTC))
        .values("day", *ROLLUP_DIMENSIONS)
        .annotate(
            billed=Sum("billed_cost"),
            effective=Sum("effective_cost"),
            listed=Sum("list_cost"),
            estimated=Sum("effective_cost", filter=Q(is_estimated=True)),
            tokens_in=Sum("input_tokens"),
            tokens_cached=Sum("cached_tokens"),
            tokens_out=Sum("output_tokens"),
            n_requests=Sum("requests"),
            n=Count("id"),
        )
        .order_by()
    )
    objs = [
        DailySpend(
            date=r["day"],
            **{k: r[k] for k in ROLLUP_DIMENSIONS if k != "model__tier"},
            model_tier=r["model__tier"] or "",
            estimated_cost=r["estimated"] or 0,
            billed_cost=r["billed"] or 0,
            effective_cost=r["effective"] or 0,
            list_cost=r["listed"] or 0,
            input_tokens=int(r["tokens_in"] or 0),
            cached_tokens=int(r["tokens_cached"] or 0),
            output_tokens=int(r["tokens_out"] or 0),
            requests=int(r["n_requests"] or 0),
            record_count=r["n"],
        )
        for r in rows
    ]
    DailySpend.objects.bulk_create(objs, batch_size=2000)
    customer_spend_rebuild(start=start, end=end)
    return len(objs)


CUSTOMER_DIMENSIONS = ("customer", "use_case_id", "feature", "currency")


@transaction.atomic
def customer_spend_rebuild(*, start: datetime.date, end: datetime.date) -> int:
    """Recompute the CustomerDailySpend rows of the days start..end (inclusive): the AI spend of the
    records that name a customer. Called by daily_spend_rebuild, so every import and every
    re-attribution (which can assign customers) keeps it current. Returns the rows written."""
    CustomerDailySpend.objects.filter(date__gte=start, date__lte=end).delete()
    rows = (
        _records_of_days(start, end)
        .filter(is_ai=True)
        .exclude(customer="")
        .annotate(day=TruncDate("charge_period_start", tzinfo=datetime.UTC))
        .values("day", *CUSTOMER_DIMENSIONS)
        .annotate(
            billed=Sum("billed_cost"),
            effective=Sum("effective_cost"),
            n_requests=Sum("requests"),
            n=Count("id"),
        )
        .order_by()
    )
    objs = [
        CustomerDailySpend(
            date=r["day"],
            **{k: r[k] for k in CUSTOMER_DIMENSIONS},
            billed_cost=r["billed"] or 0,
            effective_cost=r["effective"] or 0,
            requests=int(r["n_requests"] or 0),
            record_count=r["n"],
        )
        for r in rows
    ]
    CustomerDailySpend.objects.bulk_create(objs, batch_size=2000)
    return len(objs)
