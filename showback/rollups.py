"""The rollups that every page reads: DailySpend, MonthlySpend (DailySpend by month, for pages that
read whole months) and CustomerDailySpend (cost to serve)."""

import datetime

from django.db import transaction
from django.db.models import Count, Q, Sum, TextField, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce, NullIf, Trim, TruncDate, TruncMonth

from .models import CustomerDailySpend, DailySpend, MonthlySpend, SpendRecord

# The sums of the spend measures, by the column names SpendRecord, DailySpend and MonthlySpend
# share: the one definition the rollups and the selectors annotate with (an alias may not be a
# column's own name, hence the short keys).
SPEND_SUMS = {
    "billed": Sum("billed_cost"),
    "effective": Sum("effective_cost"),
    "listed": Sum("list_cost"),
    "estimated": Sum("estimated_cost"),
    "tokens_in": Sum("input_tokens"),
    "tokens_cached": Sum("cached_tokens"),
    "tokens_out": Sum("output_tokens"),
    "n_requests": Sum("requests"),
}


def spend_sums(*names) -> dict:
    """The named SPEND_SUMS (all of them when none is named), to annotate or aggregate with."""
    return {name: SPEND_SUMS[name] for name in names or SPEND_SUMS}


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
    "provider_name",
    "service_name",
    "service_category",
    "billing_account",
    "sub_account",
    "import_batch_id",
)
# FOCUS keeps these columns in raw_extras as the file states them (other sources have none).
EXTRA_DIMENSIONS = {
    "bill_region": Coalesce(
        NullIf(Trim(KeyTextTransform("RegionName", "raw_extras")), Value("")),
        Trim(KeyTextTransform("RegionId", "raw_extras")),
        Value(""),
        output_field=TextField(),
    ),
    "bill_charge_category": Coalesce(
        Trim(KeyTextTransform("ChargeCategory", "raw_extras")), Value(""), output_field=TextField()
    ),
}


def _records_of_days(start, end, use_case_ids=None):
    start_dt = datetime.datetime.combine(start, datetime.time.min, tzinfo=datetime.UTC)
    end_dt = datetime.datetime.combine(
        end + datetime.timedelta(days=1), datetime.time.min, tzinfo=datetime.UTC
    )
    return _of_use_cases(
        SpendRecord.objects.filter(charge_period_start__gte=start_dt, charge_period_start__lt=end_dt),
        use_case_ids,
    )


def _of_use_cases(queryset, use_case_ids):
    # use_case_id is a dimension of every rollup, so a use case's rows are sums of its own
    # records alone: rebuilding only them leaves the other use cases' rows as they were.
    # None among them stands for the rows of spend with no use case.
    if use_case_ids is None:
        return queryset
    ids = set(use_case_ids)
    if None in ids:
        return queryset.filter(Q(use_case_id__in=ids - {None}) | Q(use_case_id__isnull=True))
    return queryset.filter(use_case_id__in=ids)


@transaction.atomic
def daily_spend_rebuild(*, start: datetime.date, end: datetime.date, use_case_ids=None) -> int:
    """Recompute the DailySpend and CustomerDailySpend rows of the days start..end (inclusive) from
    the SpendRecords, and the MonthlySpend rows of the months they fall in; with `use_case_ids`,
    only the rows of those use cases (a writer that touched nothing else, as usage events).

    Delete-and-insert of whole days keeps it idempotent: running it twice gives the same rows.
    Returns the number of DailySpend rows written.
    """
    _of_use_cases(DailySpend.objects.filter(date__gte=start, date__lte=end), use_case_ids).delete()
    rows = (
        _records_of_days(start, end, use_case_ids)
        .annotate(day=TruncDate("charge_period_start", tzinfo=datetime.UTC), **EXTRA_DIMENSIONS)
        .values("day", *ROLLUP_DIMENSIONS, *EXTRA_DIMENSIONS)
        .annotate(
            # A spend record has no estimated cost of its own: it is estimated, or it is not.
            **{**SPEND_SUMS, "estimated": Sum("effective_cost", filter=Q(is_estimated=True))},
            n=Count("id"),
        )
        .order_by()
    )
    objs = [
        DailySpend(
            date=r["day"],
            **{k: r[k] for k in ROLLUP_DIMENSIONS if k != "model__tier"},
            model_tier=r["model__tier"] or "",
            region=r["bill_region"][:100],
            charge_category=r["bill_charge_category"][:32],
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
    monthly_spend_rebuild(start=start, end=end, use_case_ids=use_case_ids)
    customer_spend_rebuild(start=start, end=end, use_case_ids=use_case_ids)
    return len(objs)


MONTHLY_DIMENSIONS = ("use_case_id", "team_id", "provider_id", "model_id", "model_tier", "currency", "is_ai")


@transaction.atomic
def monthly_spend_rebuild(*, start: datetime.date, end: datetime.date, use_case_ids=None) -> int:
    """Recompute the MonthlySpend rows of every month that start..end touches, whole, from the
    DailySpend rows (the days outside start..end are current already). Returns the rows written."""
    first = start.replace(day=1)
    after = (end.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)
    _of_use_cases(MonthlySpend.objects.filter(month__gte=first, month__lt=after), use_case_ids).delete()
    rows = (
        _of_use_cases(DailySpend.objects.filter(date__gte=first, date__lt=after), use_case_ids)
        .annotate(month_of=TruncMonth("date"))
        .values("month_of", *MONTHLY_DIMENSIONS)
        .annotate(**SPEND_SUMS, n=Sum("record_count"))
        .order_by()
    )
    objs = [
        MonthlySpend(
            month=r["month_of"].date() if isinstance(r["month_of"], datetime.datetime) else r["month_of"],
            **{k: r[k] for k in MONTHLY_DIMENSIONS},
            billed_cost=r["billed"] or 0,
            effective_cost=r["effective"] or 0,
            list_cost=r["listed"] or 0,
            estimated_cost=r["estimated"] or 0,
            input_tokens=int(r["tokens_in"] or 0),
            cached_tokens=int(r["tokens_cached"] or 0),
            output_tokens=int(r["tokens_out"] or 0),
            requests=int(r["n_requests"] or 0),
            record_count=int(r["n"] or 0),
        )
        for r in rows
    ]
    MonthlySpend.objects.bulk_create(objs, batch_size=2000)
    return len(objs)


CUSTOMER_DIMENSIONS = ("customer", "use_case_id", "feature", "currency")


@transaction.atomic
def customer_spend_rebuild(*, start: datetime.date, end: datetime.date, use_case_ids=None) -> int:
    """Recompute the CustomerDailySpend rows of the days start..end (inclusive): the AI spend of the
    records that name a customer. Called by daily_spend_rebuild, so every import and every
    re-attribution (which can assign customers) keeps it current. Returns the rows written."""
    _of_use_cases(CustomerDailySpend.objects.filter(date__gte=start, date__lte=end), use_case_ids).delete()
    rows = (
        _records_of_days(start, end, use_case_ids)
        .filter(is_ai=True)
        .exclude(customer="")
        .annotate(day=TruncDate("charge_period_start", tzinfo=datetime.UTC))
        .values("day", *CUSTOMER_DIMENSIONS)
        .annotate(**spend_sums("billed", "effective", "n_requests"), n=Count("id"))
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
