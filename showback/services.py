"""Writes of showback: the daily rollup that every showback page reads."""

import datetime

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate

from .models import DailySpend, SpendRecord, TokenType

ROLLUP_DIMENSIONS = (
    "use_case_id",
    "team_id",
    "provider_id",
    "model_id",
    "environment",
    "currency",
    "is_ai",
    "is_estimated",
)


@transaction.atomic
def daily_spend_rebuild(*, start: datetime.date, end: datetime.date) -> int:
    """Recompute the DailySpend rows of the days start..end (inclusive) from the SpendRecords.

    Delete-and-insert of whole days keeps it idempotent: running it twice gives the same rows.
    Returns the number of rollup rows written.
    """
    DailySpend.objects.filter(date__gte=start, date__lte=end).delete()
    start_dt = datetime.datetime.combine(start, datetime.time.min, tzinfo=datetime.UTC)
    end_dt = datetime.datetime.combine(
        end + datetime.timedelta(days=1), datetime.time.min, tzinfo=datetime.UTC
    )
    input_types = [TokenType.INPUT, TokenType.CACHED_INPUT, TokenType.CACHE_WRITE]
    rows = (
        SpendRecord.objects.filter(charge_period_start__gte=start_dt, charge_period_start__lt=end_dt)
        .annotate(day=TruncDate("charge_period_start", tzinfo=datetime.UTC))
        .values("day", *ROLLUP_DIMENSIONS)
        .annotate(
            billed=Sum("billed_cost"),
            effective=Sum("effective_cost"),
            listed=Sum("list_cost"),
            tokens_in=Sum("quantity", filter=Q(token_type__in=input_types)),
            tokens_out=Sum("quantity", filter=Q(token_type__in=[TokenType.OUTPUT, TokenType.REASONING])),
            n=Count("id"),
        )
        .order_by()
    )
    objs = [
        DailySpend(
            date=r["day"],
            **{k: r[k] for k in ROLLUP_DIMENSIONS},
            billed_cost=r["billed"] or 0,
            effective_cost=r["effective"] or 0,
            list_cost=r["listed"] or 0,
            input_tokens=int(r["tokens_in"] or 0),
            output_tokens=int(r["tokens_out"] or 0),
            record_count=r["n"],
        )
        for r in rows
    ]
    DailySpend.objects.bulk_create(objs, batch_size=2000)
    return len(objs)
