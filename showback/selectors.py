"""Reads of spend. Everything reads the DailySpend rollup, scoped to what the user may see.

Amounts are summed per currency and never added across currencies, but through showback.fx: a
total in the reporting currency is the sum of each (currency, day) at the rate in force that day,
beside the per-currency totals, naming its rates and any currency and days without one.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Max, Q, Sum
from django.db.models.functions import TruncMonth

from aifinops.core import periods, permissions
from portfolio.choices import Environment, ModelTier, Stage
from portfolio.models import CostLine, ValueSignal

from . import fx
from .models import DailySpend, ImportBatch, SpendRecord
from .rollups import spend_sums


def daily_spend_queryset(*, user, ai_only=True):
    qs = DailySpend.objects.filter(permissions.spend_scope(user))
    if ai_only:
        qs = qs.filter(is_ai=True)
    return qs


def model_month_volumes(*, model_ids, months) -> dict:
    """{(model id, month start): tokens}: the month's volume of each model in each month, which
    decides the price book's volume tier (`portfolio.pricing.price_pick`'s `monthly_volume`).

    The one rule, for the gateway, the imports and the reconciliation alike: a model's volume in a
    month is every token recorded for that model in the ledger in that calendar month (UTC, by the
    start of each row's charge period), from every source (the gateway's records, usage-only
    imports, provider bills), input, cache reads and writes and output alike, and whoever may see
    them. A pair with no tokens is absent. One query, over the (model, period) index.
    """
    months = sorted(set(months))
    model_ids = set(model_ids)
    if not months or not model_ids:
        return {}
    start = datetime.datetime.combine(months[0], datetime.time.min, tzinfo=datetime.UTC)
    end = datetime.datetime.combine(
        periods.months_back(months[-1], -1), datetime.time.min, tzinfo=datetime.UTC
    )
    rows = (
        SpendRecord.objects.filter(
            model_id__in=model_ids, charge_period_start__gte=start, charge_period_start__lt=end
        )
        .annotate(month=TruncMonth("charge_period_start", tzinfo=datetime.UTC))
        .values("model_id", "month")
        .annotate(tokens=Sum(F("input_tokens") + F("cached_tokens") + F("output_tokens")))
        .order_by()
    )
    wanted = set(months)
    volumes = {}
    for r in rows:
        month = r["month"].date()
        if month in wanted and r["tokens"]:
            volumes[r["model_id"], month] = int(r["tokens"])
    return volumes


def _totals(qs):
    return {
        r["currency"]: r["total"] or Decimal("0")
        for r in qs.order_by().values("currency").annotate(total=Sum("effective_cost"))
    }


def spend_total(*, user, start, end, ai_only=True):
    """{currency: effective cost} between start and end inclusive."""
    return _totals(daily_spend_queryset(user=user, ai_only=ai_only).filter(date__gte=start, date__lte=end))


def spend_total_reporting(*, user, start, end, ai_only=True):
    """spend_total in the reporting currency, each day at its rate (a showback.fx.Converted)."""
    qs = daily_spend_queryset(user=user, ai_only=ai_only).filter(date__gte=start, date__lte=end)
    return fx.converted_sum(qs)


@dataclass
class RowsReporting:
    """`rows`: {row id: effective cost in the reporting currency, or None without a rate on its
    day}; `total`: the Converted sum of the whole queryset."""

    rows: dict
    total: fx.Converted


def daily_spend_reporting(rows, qs) -> RowsReporting:
    """The daily-spend API's reporting fields: each listed row at the rate in force on its day, and
    the whole filtered queryset converted by (currency, day). Three queries: the reporting
    currency, the sums per (currency, day), and the rates (one table for both)."""
    into = fx.reporting_currency()
    groups = [
        {"currency": r["currency"], "day": r["date"], "amount": r["total"]}
        for r in qs.order_by().values("currency", "date").annotate(total=Sum("effective_cost"))
    ]
    days = [g["day"] for g in groups] + [r.date for r in rows]
    currencies = {g["currency"] for g in groups} | {r.currency for r in rows}
    table = fx.RateTable(currencies, into, max(days, default=datetime.date.min))
    total = fx.convert_groups(groups, into=into, table=table)[1]
    converted = {}
    for row in rows:
        rate = table.rate(row.currency, row.date)
        converted[row.pk] = None if rate is None else (row.effective_cost * rate.rate).quantize(fx.MICRO)
    return RowsReporting(rows=converted, total=total)


def spend_by_reporting(*, user, dimension, start, end, ai_only=True, limit=None, into=None, table=None):
    """Spend (AI only unless ai_only=False) by team, use case, provider, model, model tier or the
    use case's stage, start..end inclusive, in the reporting currency: {"rows": [{key, label,
    amount, currency, original: {currency: amount as billed}, missing: {currency: amount without a
    rate}, foreign}], "total": the Converted of all of them}, largest first. Each (currency, day)
    counts at that day's rate; `amount` adds what had a rate, `missing` names the rest, never
    counted at 1. Three queries:
    the sums per (row, currency, day), the rates and, unless given, the reporting currency; one
    when a page that reads several figures hands in its `table` of rates (an fx.RateTable)."""
    key_field, name_field = {
        "team": ("team__slug", "team__name"),
        "use_case": ("use_case__key", "use_case__name"),
        "provider": ("provider__slug", "provider__name"),
        "model": ("model__key", "model__name"),
        "model_tier": ("model_tier", "model_tier"),
        "stage": ("use_case__stage", "use_case__stage"),
    }[dimension]
    into = table.into if table else (into or fx.reporting_currency())
    sums = (
        daily_spend_queryset(user=user, ai_only=ai_only)
        .filter(date__gte=start, date__lte=end)
        .order_by()
        .values(*dict.fromkeys((key_field, name_field)), "currency", "date")
        .annotate(total=Sum("effective_cost"))
    )
    groups = [
        {
            "key": r[key_field],
            "label": (
                _label(dimension, r[key_field], None)
                if dimension in ("model_tier", "stage")
                else r[name_field] or "Unattributed"
            ),
            "currency": r["currency"],
            "day": r["date"],
            "amount": r["total"] or Decimal("0"),
        }
        for r in sums
    ]
    converted, total = fx.convert_groups(groups, into=into, table=table)
    rows = {}
    for g, value, _rate in converted:
        row = rows.setdefault(
            g["key"],
            {
                "key": g["key"],
                "label": g["label"],
                "currency": into,
                "amount": Decimal("0"),
                "original": {},
                "missing": {},
            },
        )
        row["original"][g["currency"]] = row["original"].get(g["currency"], Decimal("0")) + g["amount"]
        if value is None:
            row["missing"][g["currency"]] = row["missing"].get(g["currency"], Decimal("0")) + g["amount"]
        else:
            row["amount"] += value
    listed = sorted(rows.values(), key=lambda r: (-r["amount"], str(r["label"])))
    for row in listed:
        row["amount"] = row["amount"].quantize(fx.MICRO)
        row["original"] = _by_currency_text(row["original"])
        row["missing"] = _by_currency_text(row["missing"])
        # The original beside the reporting figure wherever another currency was billed.
        row["foreign"] = any(c != into for c in row["original"]) or bool(row["missing"])
    return {"rows": listed[:limit] if limit else listed, "total": total}


def premium_share_reporting(*, user, start, end, into=None, table=None):
    """The share of AI spend start..end on premium models (the frontier and reasoning tiers), taken
    on amounts in the reporting currency: {"tiers": spend_by_reporting's rows by model tier,
    "premium": those of the premium tiers, "amount": their sum, "share": of the converted total
    (None unless it is positive), "total": the Converted of every tier}. Spend on a day without a
    rate is in neither side of the share and is named by `total.missing`: a share is never taken
    across currencies, nor with a missing rate counted at 1."""
    by_tier = spend_by_reporting(
        user=user, dimension="model_tier", start=start, end=end, into=into, table=table
    )
    premium = [r for r in by_tier["rows"] if r["key"] in PREMIUM_TIERS]
    amount = sum((r["amount"] for r in premium), Decimal("0"))
    return {
        "tiers": by_tier["rows"],
        "premium": premium,
        "amount": amount,
        "share": _share(amount, by_tier["total"].amount.quantize(fx.MICRO)),
        "total": by_tier["total"],
    }


def monthly_trend(
    *, user, months=12, ai_only=True, team=None, use_case=None, into=None, through=None, table=None
):
    """The last `months` months of AI spend the user may see, the current one included (or the
    months up to `through`'s, that day included), in the reporting currency: {"currency", "months":
    [(month, amount)], "missing": {month: {currency: amount without a rate}}, "conversion": the
    Converted of the whole}. Each (currency, day) counts at that day's rate, the spend without one
    is named, never counted at 1. `table` (an fx.RateTable through the last day) spares reading
    the rates again on a page that has them."""
    qs = daily_spend_queryset(user=user, ai_only=ai_only)
    if team is not None:
        qs = qs.filter(team=team)
    if use_case is not None:
        qs = qs.filter(use_case=use_case)
    return _trend(qs, months=months, into=into, through=through, table=table)


def use_case_spend_trend(*, use_case, months=12, into=None, through=None):
    """monthly_trend of one use case's AI spend (in `into`, the reporting currency by default, the
    months up to `through`'s); the caller has already checked that the user may see the use case."""
    qs = DailySpend.objects.filter(use_case=use_case, is_ai=True)
    return _trend(qs, months=months, into=into, through=through)


def use_case_spend_by_model(*, use_case, start, end, into, limit=8):
    """One use case's AI spend start..end by provider and model, in `into`, each (currency, day) at
    its rate: ([{provider, model, amount}], largest first, the Converted of all of it naming the
    rates and the spend without one, never counted at 1)."""
    sums = (
        DailySpend.objects.filter(use_case=use_case, is_ai=True, date__gte=start, date__lte=end)
        .order_by()
        .values("provider__name", "model__name", "currency", "date")
        .annotate(total=Sum("effective_cost"))
    )
    groups = [
        {
            "key": (r["provider__name"] or "", r["model__name"] or ""),
            "currency": r["currency"],
            "day": r["date"],
            "amount": r["total"] or Decimal("0"),
        }
        for r in sums
    ]
    converted, whole = fx.convert_groups(groups, into=into)
    amounts = defaultdict(Decimal)
    for g, value, _rate in converted:
        if value is not None:
            amounts[g["key"]] += value
    rows = [
        {"provider": provider, "model": model, "amount": amount}
        for (provider, model), amount in sorted(amounts.items(), key=lambda kv: -kv[1])
    ]
    return rows[:limit], whole


def _trend(qs, *, months, into=None, through=None, table=None):
    end = through or periods.today()
    start = periods.months_back(end, months - 1)
    groups = [
        {"currency": r["currency"], "day": r["date"], "amount": r["total"] or Decimal("0")}
        for r in qs.filter(date__gte=start, date__lte=end)
        .order_by()
        .values("currency", "date")
        .annotate(total=Sum("effective_cost"))
    ]
    into = table.into if table else (into or fx.reporting_currency())
    converted, whole = fx.convert_groups(groups, into=into, table=table)
    by_month, missing = defaultdict(Decimal), defaultdict(dict)
    for g, value, _rate in converted:
        month = periods.month_start(g["day"])
        if value is None:
            missing[month][g["currency"]] = missing[month].get(g["currency"], Decimal("0")) + g["amount"]
        else:
            by_month[month] += value
    return {
        "currency": whole.currency,
        "months": [
            (periods.months_back(end, n), by_month.get(periods.months_back(end, n), Decimal("0")))
            for n in range(months - 1, -1, -1)
        ],
        "missing": dict(missing),
        "conversion": whole,
    }


def team_spend_summary(*, user, team):
    day = periods.today()
    start = periods.month_start(day)
    into = fx.reporting_currency()
    qs = daily_spend_queryset(user=user).filter(team=team)
    this_month = qs.filter(date__gte=start, date__lte=day)
    last_month = qs.filter(date__gte=periods.months_back(day, 1), date__lt=start)
    return {
        "month_to_date": _totals(this_month),
        "month_to_date_reporting": fx.converted_sum(this_month, into=into),
        "last_month": _totals(last_month),
        "last_month_reporting": fx.converted_sum(last_month, into=into),
        "trend": monthly_trend(user=user, team=team, into=into),
    }


def use_case_spend_totals(*, use_case_ids):
    """{use case id: {"month_to_date": {currency: total}, "last_month": {currency: total}}} of the
    given use cases, in one query whatever their number: the use case page's figures and the
    portfolio list's columns. The caller has already kept only the use cases the user may see."""
    day = periods.today()
    start = periods.month_start(day)
    rows = (
        DailySpend.objects.filter(use_case_id__in=use_case_ids, date__gte=periods.months_back(day, 1))
        .filter(date__lte=day)
        .order_by()
        .values("use_case_id", "currency")
        .annotate(
            month_to_date=Sum("effective_cost", filter=Q(date__gte=start)),
            last_month=Sum("effective_cost", filter=Q(date__lt=start)),
            month_to_date_rows=Count("id", filter=Q(date__gte=start)),
            last_month_rows=Count("id", filter=Q(date__lt=start)),
        )
    )
    totals = {pk: {"month_to_date": {}, "last_month": {}} for pk in use_case_ids}
    for r in rows:
        for period in ("month_to_date", "last_month"):
            # A currency with rows in the period counts, even if they sum to nothing.
            if r[f"{period}_rows"]:
                totals[r["use_case_id"]][period][r["currency"]] = r[period] or Decimal("0")
    return totals


def use_case_spend_summary(*, use_case):
    """The spend of one use case; the caller has already checked that the user may see it."""
    day = periods.today()
    qs = DailySpend.objects.filter(use_case=use_case)
    by_model = (
        qs.filter(date__gte=periods.months_back(day, 2))
        .order_by()
        .values("model__name", "provider__name", "currency")
        .annotate(total=Sum("effective_cost"))
        .order_by("-total")
    )
    into = fx.reporting_currency()
    start = periods.month_start(day)
    return {
        **use_case_spend_totals(use_case_ids=[use_case.pk])[use_case.pk],
        "month_to_date_reporting": fx.converted_sum(qs.filter(date__gte=start, date__lte=day), into=into),
        "last_month_reporting": fx.converted_sum(
            qs.filter(date__gte=periods.months_back(day, 1), date__lt=start), into=into
        ),
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


def spend_data_through(*, today: datetime.date) -> datetime.date | None:
    """The latest day with imported spend, up to today: bills arrive a day or more late."""
    return DailySpend.objects.filter(date__lte=today).aggregate(last=Max("date"))["last"]


def use_case_has_recent_spend(*, use_case, days=14):
    """Whether spend was attributed to the use case in the last `days` days."""
    since = periods.today() - datetime.timedelta(days=days)
    return DailySpend.objects.filter(use_case=use_case, date__gte=since, effective_cost__gt=0).exists()


SUMMARY_GROUPS = {
    "provider": "provider__slug",
    "team": "team__slug",
    "use_case": "use_case__key",
    "model": "model__key",
    "model_tier": "model_tier",
    "environment": "environment",
    "month": "month",
}


def spend_summary(*, user, group_by, start, end, ai_only=True, filters=None, import_id=None):
    """Totals of the daily rollups the user may see, start inclusive to end exclusive, by one
    dimension and currency: [{group, currency, billed_cost, effective_cost, estimated_cost,
    input_tokens, output_tokens, requests}]. `filters` and `import_id` narrow as on the showback
    page (see parse_spend_filters)."""
    field = SUMMARY_GROUPS[group_by]
    qs = daily_spend_queryset(user=user, ai_only=ai_only).filter(date__gte=start, date__lt=end)
    qs = filter_spend(qs, filters=filters, import_id=import_id)
    if group_by == "month":
        qs = qs.annotate(month=TruncMonth("date"))
    rows = (
        qs.order_by()
        .values(field, "currency")
        .annotate(**spend_sums("billed", "effective", "estimated", "tokens_in", "tokens_out", "n_requests"))
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


def spend_summary_reporting(*, user, group_by, start, end, ai_only=True, filters=None, import_id=None):
    """The effective cost of spend_summary's groups in the reporting currency: ({(group, currency):
    amount, or None when a day of the group has no rate}, Converted of the whole). Summed per
    (group, currency, day) in the database, converted per day by showback.fx."""
    field = SUMMARY_GROUPS[group_by]
    qs = daily_spend_queryset(user=user, ai_only=ai_only).filter(date__gte=start, date__lt=end)
    qs = filter_spend(qs, filters=filters, import_id=import_id)
    if group_by == "month":
        qs = qs.annotate(month=TruncMonth("date"))
    rows = qs.order_by().values(field, "currency", "date").annotate(total=Sum("effective_cost"))
    groups = [
        {
            "group": r[field].isoformat()[:7] if group_by == "month" and r[field] else r[field],
            "currency": r["currency"],
            "day": r["date"],
            "amount": r["total"],
        }
        for r in rows
    ]
    converted, total = fx.convert_groups(groups, into=fx.reporting_currency())
    by_group = {}
    for g, value, _rate in converted:
        key = (g["group"], g["currency"])
        if value is None:
            by_group[key] = None
        elif key not in by_group or by_group[key] is not None:
            by_group[key] = by_group.get(key, Decimal("0")) + value
    return by_group, total


# The showback page: one breakdown of the rollups, by one dimension, over a chosen period.

PREMIUM_TIERS = ("frontier", "reasoning")

BREAKDOWNS = {
    "team": ("Team", ("team__slug", "team__name")),
    "use_case": ("Use case", ("use_case__key", "use_case__name")),
    # The provider as the bill names it; the catalog's provider is shown beside it where it matched.
    "provider": ("Provider", ("provider_name", "provider__name")),
    "model": ("Model", ("model__ref", "model__name")),
    "model_tier": ("Model tier", ("model_tier", "model_tier")),
    "environment": ("Environment", ("environment", "environment")),
    "service": ("Service", ("service_name", "service_name")),
    "service_category": ("Service category", ("service_category", "service_category")),
    "billing_account": ("Billing account", ("billing_account", "billing_account")),
    "sub_account": ("Sub-account", ("sub_account", "sub_account")),
    "region": ("Region", ("region", "region")),
    "charge_category": ("Charge category", ("charge_category", "charge_category")),
}
# The bill's own dimensions, which the showback page can also filter by (?service=Amazon%20Bedrock).
BILL_FILTERS = {
    "provider": "provider_name",
    "service": "service_name",
    "service_category": "service_category",
    "billing_account": "billing_account",
    "sub_account": "sub_account",
    "region": "region",
    "charge_category": "charge_category",
}

MAX_FILTER_LENGTH = 200


class BadFilter(ValueError):
    """A spend filter no bill could match, naming its field (`field`) for a 400."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field


def _filter_text(params, name):
    """A filter value as typed, or "" when absent; refused when no bill could hold it."""
    raw = params.get(name, "")
    if not isinstance(raw, str):
        raise BadFilter(name, f"The filter “{name}” must be text.")
    if "\x00" in raw or any(0xD800 <= ord(c) <= 0xDFFF for c in raw):
        raise BadFilter(
            name, f"The filter “{name}” holds a character no bill holds (NUL or a lone surrogate)."
        )
    if len(raw) > MAX_FILTER_LENGTH:
        raise BadFilter(name, f"The filter “{name}” is longer than {MAX_FILTER_LENGTH} characters.")
    return raw.strip()


def _filter_import(params):
    raw = _filter_text(params, "import")
    if not raw:
        return None
    if not raw.isascii() or not raw.isdigit() or not 0 < int(raw) < 2**63:
        raise BadFilter("import", f"The filter “import” must be an import's number; “{raw[:20]}” is not.")
    return int(raw)


def parse_spend_filters(params):
    """({bill filter: value}, import id or None) from a query (?service=Amazon%20Bedrock&import=12):
    the one reading of these filters for the showback page and the spend API. BadFilter names the
    field of a value no bill could hold."""
    filters = {}
    for name in BILL_FILTERS:
        value = _filter_text(params, name)
        if value:
            filters[name] = value
    return filters, _filter_import(params)


def filter_spend(qs, *, filters=None, import_id=None):
    """Daily rollups narrowed to the bill's own values and to the rows of one import."""
    qs = qs.filter(**{BILL_FILTERS[name]: value for name, value in (filters or {}).items()})
    if import_id is not None:
        qs = qs.filter(import_batch_id=import_id)
    return qs


TREND_SERIES = 6
MILLION = Decimal("1000000")


def _ratio(part, whole):
    return part / whole if whole else None


def _share(part, whole):
    """A part's share of a whole, only where the whole is positive: a share of a credit-only or
    zero total means nothing."""
    return part / whole if whole and whole > 0 else None


def _per_million(cost, tokens):
    return cost * MILLION / tokens if tokens else None


def _label(dimension, key, name):
    if dimension == "model_tier":
        return dict(ModelTier.choices).get(key, "No tier") if key else "No tier"
    if dimension == "environment":
        return dict(Environment.choices).get(key, key) if key else "Not tagged"
    if dimension == "stage":
        return dict(Stage.choices).get(key, key) if key else "Unattributed"
    if dimension == "provider":
        return key or name or "Unknown"
    if dimension in BILL_FILTERS:
        return key or "Not stated"
    return name or ("Unattributed" if dimension in ("team", "use_case") else "Unknown")


def _cache_savings_expression():
    """What cached tokens saved against the catalog's uncached input price, where the catalog
    knows a cached price in the row's currency."""
    saving = ExpressionWrapper(
        F("cached_tokens") * (F("model__input_price_per_mtok") - F("model__cached_input_price_per_mtok")),
        output_field=DecimalField(max_digits=40, decimal_places=10),
    )
    return Sum(
        saving,
        filter=Q(model__cached_input_price_per_mtok__isnull=False, model__currency=F("currency")),
    )


def spend_breakdown(*, user, dimension, start, end, ai_only=True, filters=None, import_id=None):
    """The showback page's figures, start..end inclusive, in a fixed handful of queries.

    `filters` narrows to the bill's own values ({"provider": "AWS", "region": "us-east-1"}, keys
    of BILL_FILTERS), `import_id` to the rows of one import.

    Returns {rows, totals, trend, overlap, outcomes, dimension_label}: rows per dimension value and
    currency with spend, shares, unit costs and cache use; totals per currency; the monthly trend of
    the top series; teams paying several providers for one model tier; cost per outcome where value
    signals exist.
    """
    dimension_label, (key_field, name_field) = BREAKDOWNS[dimension]
    qs = daily_spend_queryset(user=user, ai_only=ai_only).filter(date__gte=start, date__lte=end).order_by()
    qs = filter_spend(qs, filters=filters, import_id=import_id)
    into = fx.reporting_currency()
    name_fields = (key_field,) if name_field == key_field else (key_field, name_field)
    grouped = (
        qs.values(*name_fields, "currency")
        .annotate(
            spend=Sum("effective_cost"),
            n_requests=Sum("requests"),
            tokens_in=Sum("input_tokens"),
            tokens_cached=Sum("cached_tokens"),
            tokens_out=Sum("output_tokens"),
            premium=Sum("effective_cost", filter=Q(model_tier__in=PREMIUM_TIERS)),
            unattributed=Sum("effective_cost", filter=Q(use_case__isnull=True)),
            estimated=Sum("estimated_cost", filter=Q(is_estimated=True)),
            # Seat fees and other untokened lines would inflate the price of a token.
            token_spend=Sum(
                "effective_cost",
                filter=Q(input_tokens__gt=0) | Q(cached_tokens__gt=0) | Q(output_tokens__gt=0),
            ),
            savings=_cache_savings_expression(),
        )
        .order_by("currency", "-spend")
    )
    zero = Decimal("0")
    rows, totals = [], {}
    for r in grouped:
        spend = r["spend"] or zero
        tokens = (r["tokens_in"] or 0) + (r["tokens_cached"] or 0) + (r["tokens_out"] or 0)
        row = {
            "key": r[key_field],
            "label": _label(dimension, r[key_field], r[name_field]),
            # The catalog's name where it matched and differs from the bill's ("Microsoft" is
            # "Azure OpenAI" in the catalog).
            "catalog_name": (
                r[name_field] if dimension == "provider" and r[name_field] != r[key_field] else ""
            ),
            "currency": r["currency"],
            "spend": spend,
            "requests": r["n_requests"] or 0,
            "input_tokens": r["tokens_in"] or 0,
            "cached_tokens": r["tokens_cached"] or 0,
            "output_tokens": r["tokens_out"] or 0,
            "tokens": tokens,
            "premium": r["premium"] or zero,
            "unattributed": r["unattributed"] or zero,
            "estimated": r["estimated"] or zero,
            "token_spend": r["token_spend"] or zero,
            "cache_savings": (r["savings"] / MILLION) if r["savings"] else None,
        }
        rows.append(row)
        t = totals.setdefault(
            r["currency"],
            {
                k: (zero if isinstance(v, Decimal) else 0)
                for k, v in row.items()
                if k not in ("key", "label", "catalog_name")
            },
        )
        t["currency"] = r["currency"]
        for k in ("spend", "premium", "unattributed", "estimated", "token_spend"):
            t[k] += row[k]
        for k in ("requests", "input_tokens", "cached_tokens", "output_tokens", "tokens"):
            t[k] += row[k]
        if row["cache_savings"] is not None:
            t["cache_savings"] = (t["cache_savings"] or zero) + row["cache_savings"]
    for r in rows + list(totals.values()):
        currency_total = totals[r["currency"]]["spend"]
        r["share"] = _share(r["spend"], currency_total)
        r["cost_per_call"] = _ratio(r["spend"], r["requests"])
        r["cost_per_mtok"] = _per_million(r["token_spend"], r["tokens"])
        input_side = r["input_tokens"] + r["cached_tokens"]
        r["cached_share"] = _ratio(Decimal(r["cached_tokens"]), Decimal(input_side))
        r["premium_share"] = _share(r["premium"], r["spend"])
        r["unattributed_share"] = _share(r["unattributed"], r["spend"])
        r["is_unattributed"] = dimension in ("team", "use_case") and not r.get("key", True)
    for t in totals.values():
        t["cache_savings"] = t["cache_savings"] or None
    reporting, premium_share = _reporting_and_premium(qs, into=into)
    return {
        "dimension": dimension,
        "dimension_label": dimension_label,
        "rows": rows,
        "totals": dict(sorted(totals.items(), key=lambda kv: -kv[1]["spend"])),
        "reporting": reporting,
        "trend": _breakdown_trend(qs, dimension, key_field, name_field, rows, start, end, into=into),
        "overlap": vendor_overlap_list(qs, into=into),
        "outcomes": unit_economics_list(qs, user=user, start=start, end=end, into=into).rows,
        "explanation": _explain(
            qs, totals, premium_share=premium_share, own=not permissions.sees_all_teams(user)
        ),
    }


def _reporting_and_premium(qs, *, into):
    """(the Converted of all spend in `qs`, the premium tiers' share of it): both in the reporting
    currency, each (currency, day) at its rate, as `premium_share_reporting` takes it; spend on a day
    without a rate is in neither side. One query for the sums, one for the rates."""
    premium_spend = Sum("effective_cost", filter=Q(model_tier__in=PREMIUM_TIERS))
    sums = list(
        qs.order_by().values("currency", "date").annotate(total=Sum("effective_cost"), premium=premium_spend)
    )
    through = max((r["date"] for r in sums), default=datetime.date.min)
    table = fx.RateTable({r["currency"] for r in sums}, into, through)

    def converted(field):
        groups = ({"currency": r["currency"], "day": r["date"], "amount": r[field]} for r in sums)
        return fx.convert_groups(groups, into=into, table=table)[1]

    reporting = converted("total")
    return reporting, _share(converted("premium").amount, reporting.amount)


def _by_currency_text(amounts: dict) -> dict:
    return {c: v for c, v in sorted(amounts.items(), key=lambda kv: (-kv[1], kv[0])) if v}


def _breakdown_trend(qs, dimension, key_field, name_field, rows, start, end, *, into):
    """{currency, months, series: [(label, [amount per month])], conversion} in the reporting
    currency: each (key, currency, day) at that day's rate by showback.fx, the top series by
    converted spend over the period and one "Other" for the rest; `conversion` (a Converted) names
    the rates and the spend left out for want of one."""
    if not rows:
        return None
    labels = {r["key"]: r["label"] for r in rows}
    months = periods.month_list(start, end)
    index = {m: i for i, m in enumerate(months)}
    daily = qs.values(key_field, "currency", "date").annotate(spend=Sum("effective_cost")).order_by()
    groups = [
        {
            "key": r[key_field],
            "currency": r["currency"],
            "day": r["date"],
            "amount": r["spend"] or Decimal("0"),
        }
        for r in daily
    ]
    converted, whole = fx.convert_groups(groups, into=into)
    by_key = defaultdict(lambda: [Decimal("0")] * len(months))
    totals = defaultdict(Decimal)
    for g, value, _rate in converted:
        i = index.get(periods.month_start(g["day"]))
        if value is None or i is None:
            continue
        by_key[g["key"]][i] += value
        totals[g["key"]] += value
    ranked = sorted(totals, key=lambda k: (-totals[k], str(labels.get(k, k))))
    top = ranked[:TREND_SERIES]
    other = [Decimal("0")] * len(months)
    for key in ranked[TREND_SERIES:]:
        other = [a + b for a, b in zip(other, by_key[key], strict=True)]
    named = [(labels.get(key, key), by_key[key]) for key in top]
    if len(ranked) > TREND_SERIES:
        named.append(("Other", other))
    return {"currency": whole.currency, "months": months, "series": named, "conversion": whole}


def vendor_overlap_list(qs, *, into, table=None):
    """Teams paying more than one provider for the same model tier, over the spend rollups `qs`
    (already scoped to what the user may see and to the period): [{team_key, team, tier,
    providers: [(name, currency, spend as billed)], providers_reporting: {name: spend in `into`, or
    None when a day of it has no rate; largest first}, providers_missing: {name: {currency: spend without a
    rate}}, total (a Converted: the team and tier's spend in `into`, each day at its rate)}]. The
    one reading of vendor overlap: the showback page, the council's operating review and the
    dashboard call it. `table`, an fx.RateTable into `into` through the period's last day, spares
    reading the rates again."""
    rows = (
        qs.exclude(team__isnull=True)
        .exclude(model_tier="")
        .exclude(provider__isnull=True)
        .values("team__slug", "team__name", "model_tier", "provider__name", "currency", "date")
        .annotate(spend=Sum("effective_cost"))
        .order_by()
    )
    groups = defaultdict(list)
    for r in rows:
        groups[(r["team__slug"], r["team__name"], r["model_tier"])].append(
            {
                "provider": r["provider__name"],
                "currency": r["currency"],
                "day": r["date"],
                "amount": r["spend"] or Decimal("0"),
            }
        )
    overlapping = {k: v for k, v in groups.items() if len({g["provider"] for g in v}) > 1}
    if not overlapping:
        return []
    every = [g for v in overlapping.values() for g in v]
    table = table or fx.RateTable({g["currency"] for g in every}, into, max(g["day"] for g in every))
    out = []
    for (slug, name, tier), days in sorted(overlapping.items(), key=lambda kv: (kv[0][1], kv[0][2])):
        per_provider = defaultdict(Decimal)
        for g in days:
            per_provider[(g["provider"], g["currency"])] += g["amount"]
        providers = sorted(((p, c, v) for (p, c), v in per_provider.items()), key=lambda t: -t[2])
        converted, total = fx.convert_groups(days, into=table.into, table=table)
        reporting, missing = {}, defaultdict(dict)
        for g, value, _rate in converted:
            known = reporting.get(g["provider"], Decimal("0"))
            reporting[g["provider"]] = None if value is None or known is None else known + value
            if value is None:
                left = missing[g["provider"]]
                left[g["currency"]] = left.get(g["currency"], Decimal("0")) + g["amount"]
        # A provider with a day without a rate goes last: its amount in `into` is unknown.
        reporting = dict(sorted(reporting.items(), key=lambda kv: (kv[1] is None, -(kv[1] or 0), kv[0])))
        out.append(
            {
                "team_key": slug,
                "team": name,
                "tier": _label("model_tier", tier, None),
                "providers": providers,
                "providers_reporting": reporting,
                "providers_missing": dict(missing),
                "total": total,
            }
        )
    return out


@dataclass
class UnitEconomics:
    """`rows`: one entry per use case with value signals (see unit_economics_list); `conversion`:
    every amount of them converted (AI spend, other recorded costs, value), naming the rates used
    and the amounts without one."""

    rows: list
    conversion: fx.Converted


def unit_economics_list(qs, *, user, start, end, into, use_case_q=None) -> UnitEconomics:
    """Cost and value per outcome of the use cases with value signals in start..end, over the spend
    rollups `qs` (scoped to the user and the period): the one reading of unit economics, for the
    showback page's cost per outcome and the dashboard's unit economics alike.

    Per use case: the months with a signal, their outcomes and active users; its AI spend in those
    months as billed per currency (`spend`) and in `into` each day at its rate (`amount`); the
    other costs recorded for those months (`other_costs`) and the value delivered (outcomes x value
    per outcome, `value`) in `into` at the rate in force on the first day of their month. Whatever
    has no rate is named per currency (`missing`, `other_costs_missing`, `value_missing`) and never
    counted at 1; a ratio it would change is None, never guessed. `cost_per_outcome` is AI spend per
    outcome; `all_in_cost_per_outcome` adds the other recorded costs; `viable` compares that with
    the value per outcome."""
    signals = ValueSignal.objects.filter(
        permissions.use_case_scope(user, prefix="use_case__"),
        month__gte=periods.month_start(start),
        month__lte=end,
    )
    if use_case_q is not None:
        signals = signals.filter(use_case_q)
    signals = list(signals.select_related("use_case").order_by("use_case__name", "month"))
    if not signals:
        return UnitEconomics(rows=[], conversion=fx.Converted(currency=into))
    months_by_uc = defaultdict(set)
    for s in signals:
        months_by_uc[s.use_case_id].add(s.month)
    spend_groups = [
        g
        for g in _spend_groups(qs.filter(use_case_id__in=months_by_uc))
        if periods.month_start(g["day"]) in months_by_uc[g["use_case_id"]]
    ]
    cost_groups = [
        g
        for g in _cost_groups(
            CostLine.objects.filter(
                use_case_id__in=months_by_uc, month__gte=periods.month_start(start), month__lte=end
            )
        )
        if g["day"] in months_by_uc[g["use_case_id"]]
    ]
    value_groups = _value_groups(signals)
    table = _economics_rates(spend_groups + cost_groups + value_groups, into=into)
    whole = fx.convert_groups(spend_groups + cost_groups + value_groups, into=into, table=table)[1]

    def by_use_case(groups):
        converted = _convert_by(groups, table=table, key=lambda g: g["use_case_id"])
        return converted.amounts, converted.billed, converted.missing

    spend, spend_billed, spend_missing = by_use_case(spend_groups)
    other, _other_billed, other_missing = by_use_case(cost_groups)
    value, _value_billed, value_missing = by_use_case(value_groups)
    result = {}
    for s in signals:
        entry = result.setdefault(
            s.use_case_id,
            {"use_case": s.use_case, "months": 0, "outcomes": 0, "active_users": 0},
        )
        entry["months"] += 1
        entry["outcomes"] += s.outcomes
        entry["active_users"] += s.active_users or 0
    out = []
    for uc_id, entry in result.items():
        entry["spend"] = _by_currency_text(spend_billed[uc_id])
        entry["missing"] = _by_currency_text(spend_missing[uc_id])
        entry["currency"] = into
        entry["amount"] = spend[uc_id].quantize(fx.MICRO)
        entry["other_costs"] = other[uc_id].quantize(fx.MICRO)
        entry["other_costs_missing"] = _by_currency_text(other_missing[uc_id])
        entry["value"] = value[uc_id].quantize(fx.MICRO)
        entry["value_missing"] = _by_currency_text(value_missing[uc_id])
        complete = not entry["missing"]
        entry["cost_per_outcome"] = _ratio(entry["amount"], entry["outcomes"]) if complete else None
        # Active users are reported per month, so the cost per active user is per user-month.
        entry["cost_per_active_user"] = _ratio(entry["amount"], entry["active_users"]) if complete else None
        entry["all_in_cost_per_outcome"] = (
            _ratio(entry["amount"] + entry["other_costs"], entry["outcomes"])
            if complete and not entry["other_costs_missing"]
            else None
        )
        entry["value_per_outcome"] = (
            _ratio(entry["value"], entry["outcomes"]) if not entry["value_missing"] else None
        )
        cost_per, value_per = entry["all_in_cost_per_outcome"], entry["value_per_outcome"]
        entry["viable"] = None if cost_per is None or value_per is None else cost_per < value_per
        out.append(entry)
    return UnitEconomics(rows=out, conversion=whole)


# Unit economics: AI spend, the other recorded costs and the value delivered of use cases, in one
# currency. AI spend counts each day at its rate; other costs and value, recorded per month, at the
# rate in force on the first day of their month. The showback page, the dashboard (through
# unit_economics_list) and a use case's value tab (through use_case_month_economics) read them
# here, so the three give the same figure for the same use case, month and currency.


def _spend_groups(qs):
    """[{use_case_id, currency, day, amount}]: AI spend per use case, currency and day."""
    return [
        {
            "use_case_id": r["use_case_id"],
            "currency": r["currency"],
            "day": r["date"],
            "amount": r["spend"] or Decimal("0"),
        }
        for r in qs.order_by()
        .values("use_case_id", "currency", "date")
        .annotate(spend=Sum("effective_cost"))
        .order_by()
    ]


def _cost_groups(qs):
    """[{use_case_id, currency, day (the month), category, amount}]: recorded costs per month."""
    return [
        {
            "use_case_id": r["use_case_id"],
            "currency": r["currency"],
            "day": r["month"],
            "category": r["category"],
            "amount": r["total"] or Decimal("0"),
        }
        for r in qs.order_by()
        .values("use_case_id", "month", "category", "currency")
        .annotate(total=Sum("amount"))
    ]


def _value_groups(signals):
    """[{use_case_id, currency, day (the month), amount, signal}]: the value each signal delivered."""
    return [
        {
            "use_case_id": s.use_case_id,
            "currency": s.currency,
            "day": s.month,
            "amount": s.value_per_outcome * s.outcomes,
            "signal": s,
        }
        for s in signals
    ]


def _economics_rates(groups, *, into) -> fx.RateTable:
    """The rates every group needs, in one query (none when all are in `into`)."""
    return fx.RateTable({g["currency"] for g in groups}, into, max(g["day"] for g in groups))


@dataclass
class _ConvertedBy:
    """Groups converted and added by key: `amounts` in the target currency (what had a rate),
    `billed` {currency: original}, `missing` {currency: original without a rate}, `gaps` {currency:
    [(day, original)]} of what had no rate, `rates` the RateUsed (or None) per group."""

    amounts: dict
    billed: dict
    missing: dict
    gaps: dict
    rates: list


def _convert_by(groups, *, table, key) -> _ConvertedBy:
    out = _ConvertedBy(defaultdict(Decimal), defaultdict(dict), defaultdict(dict), defaultdict(dict), [])
    for g, value, rate in fx.convert_groups(groups, into=table.into, table=table)[0]:
        k, currency = key(g), g["currency"]
        out.billed[k][currency] = out.billed[k].get(currency, Decimal("0")) + g["amount"]
        out.rates.append((g, rate))
        if value is None:
            out.missing[k][currency] = out.missing[k].get(currency, Decimal("0")) + g["amount"]
            out.gaps[k].setdefault(currency, []).append((g["day"], g["amount"]))
        else:
            out.amounts[k] += value
    return out


def use_case_month_economics(*, use_case, months, into) -> dict:
    """One use case's unit economics for each of `months` (first days, ascending), in `into`, by
    the same conversion as unit_economics_list; the caller has already checked that the user may
    see the use case. Five queries whatever the number of months or rows.

    {"currency": into, "first_spend": the first month (up to the last of `months`) with AI spend,
    or None, "months": {month: {"spend": AI spend in `into` (what had a rate), "spend_billed":
    {currency: as billed}, "spend_missing": [fx.MissingRate], "costs": {category: amount in
    `into`}, "costs_missing": [fx.MissingRate], "signal": None or {"outcomes", "value_per_outcome"
    (in `into`, None without a rate), "value_missing": [fx.MissingRate]}}}}. Nothing without a rate
    is counted at 1: it is named, and left out of the amounts beside it."""
    first, last = months[0], months[-1]
    end = periods.month_end(last)
    ai_spend = DailySpend.objects.filter(use_case=use_case, is_ai=True)
    # Whether spend was ever attributed decides, in the caller, measured against expected cost.
    first_spend = (
        ai_spend.filter(date__lte=end)
        .annotate(month=TruncMonth("date"))
        .order_by()
        .values("month", "currency")
        .annotate(total=Sum("effective_cost"))
        .exclude(total=0)
        .order_by("month")
        .values_list("month", flat=True)
        .first()
    )
    spend_groups = _spend_groups(ai_spend.filter(date__gte=first, date__lte=end))
    cost_groups = _cost_groups(CostLine.objects.filter(use_case=use_case, month__gte=first, month__lte=last))
    value_groups = _value_groups(
        ValueSignal.objects.filter(use_case=use_case, month__gte=first, month__lte=last)
    )
    every = spend_groups + cost_groups + value_groups
    table = fx.RateTable({g["currency"] for g in every}, into, end)

    def month_of(g):
        return periods.month_start(g["day"])

    spend = _convert_by(spend_groups, table=table, key=month_of)
    costs = _convert_by(cost_groups, table=table, key=lambda g: (g["day"], g["category"]))
    value = _convert_by(value_groups, table=table, key=month_of)
    costs_gaps = defaultdict(lambda: defaultdict(list))
    for (month, _category), gaps in costs.gaps.items():
        for currency, days in gaps.items():
            costs_gaps[month][currency].extend(days)
    signals = {}
    for g, rate in value.rates:
        s = g["signal"]
        signals[s.month] = {
            "outcomes": s.outcomes,
            "value_per_outcome": s.value_per_outcome * rate.rate if rate else None,
            "value_missing": fx.missing_rates(value.gaps.get(s.month, {}), into=into),
        }
    return {
        "currency": into,
        "first_spend": first_spend,
        "months": {
            month: {
                "spend": spend.amounts.get(month, Decimal("0")),
                "spend_billed": dict(spend.billed.get(month, {})),
                "spend_missing": fx.missing_rates(spend.gaps.get(month, {}), into=into),
                "costs": {category: amount for (m, category), amount in costs.amounts.items() if m == month},
                "costs_missing": fx.missing_rates(costs_gaps.get(month, {}), into=into),
                "signal": signals.get(month),
            }
            for month in months
        },
    }


def _explain(qs, totals, *, premium_share, own):
    """What drives the spend, in a sentence a team can act on: the largest model and use case, how
    much input was served from cache, and the premium tiers' share of all of it in the reporting
    currency (the share the council's operating review gives)."""
    if not totals:
        return ""
    currency, total = max(totals.items(), key=lambda kv: kv[1]["spend"])
    if not total["spend"]:
        return ""
    top = (
        qs.filter(currency=currency)
        .values("model__name", "use_case__name")
        .annotate(spend=Sum("effective_cost"))
        .order_by("-spend")
        .first()
    )
    parts = []
    if top and top["spend"]:
        share = top["spend"] / total["spend"]
        model, use_case = top["model__name"], top["use_case__name"]
        whose = "your " if own else "the "
        lead = f"Most of {whose}spend" if share >= Decimal("0.5") else f"The largest line of {whose}spend"
        if model and use_case:
            what = f"is {model} in {use_case}"
        elif model:
            what = f"is {model}, in no use case"
        elif use_case:
            what = f"is in {use_case}, on no model the catalog knows"
        else:
            what = "is in no use case, on no model the catalog knows"
        parts.append(f"{lead} {what} ({share:.0%}).")
    if total["cached_share"] is not None:
        parts.append(f"{total['cached_share']:.0%} of input tokens were cached.")
    if premium_share:
        parts.append(f"{premium_share:.0%} went to frontier and reasoning models.")
    return " ".join(parts)


def import_label(*, import_id):
    """How the showback page names the import it is narrowed to: "#12 bill.csv"."""
    name = ImportBatch.objects.filter(pk=import_id).values_list("original_name", flat=True).first()
    return f"#{import_id} {name}" if name else f"#{import_id} (no such import)"
