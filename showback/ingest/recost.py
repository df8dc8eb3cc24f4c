"""Re-costing the usage-only rows of imports: after a price of the book changes, and when an import
carries a month's volume across a volume tier.

A usage-only row (tokens and no cost: LiteLLM or usage exports; and the gateway's telemetry spans
no use case claims, source "otel", at their service tier in `raw_extras["service_tier"]`) is costed
with the price in force on its day at the tier its month's volume reaches (the ledger's one rule,
`showback.selectors.model_month_volumes`), and keeps the tokens it was costed from in
`raw_extras["priced_tokens"]`. When a price in force from a past day is added or changed,
`spend_estimates_recost` (a receiver of `portfolio.signals.model_prices_changed`, in the price's
transaction) costs those rows of the model again from that day on with the same
`portfolio.pricing.usage_cost`, and rebuilds the daily rollups of the days touched. Running it
twice changes nothing the second time. A row whose price is now in another currency than its own
is left as it is and counted as skipped.

An import (or its undo) changes the volume of the months it touches: `volume_tiers_settle`, at its
end and in its transaction, re-costs through the same audited path
(`portfolio.services.prices.estimates_recost`) every month whose volume it carried across a tier
threshold of the model's prices, the gateway's events included.
"""

import datetime
from collections import defaultdict
from decimal import Decimal

from django.db import connection
from django.db.models import F, Sum
from django.db.models.functions import TruncMonth

from aifinops.core import periods
from portfolio.choices import PriceTier
from portfolio.models import AIModel, PriceBookEntry
from portfolio.pricing import usage_cost
from portfolio.services.prices import estimates_recost

from ..models import PRICED_TOKENS, SpendRecord
from ..rollups import daily_spend_rebuild
from ..selectors import model_month_volumes

CHUNK = 5000
COST_PLACES = Decimal("0.0000000001")


def spend_estimates_recost(sender, *, model, since, until=None, **kwargs) -> dict:
    """{"events", "skipped", "before", "after"}: rows whose cost changed, and the totals per
    currency of the rows looked at, from `since` (to `until`, exclusive, when given)."""
    start = datetime.datetime.combine(since, datetime.time.min, tzinfo=datetime.UTC)
    prices = list(PriceBookEntry.objects.filter(model=model))
    rows = SpendRecord.objects.filter(
        model_id=model.pk,
        is_estimated=True,
        charge_period_start__gte=start,
        raw_extras__has_key=PRICED_TOKENS,
    ).exclude(source="gateway")
    if until is not None:
        rows = rows.filter(
            charge_period_start__lt=datetime.datetime.combine(until, datetime.time.min, tzinfo=datetime.UTC)
        )
    volumes = {}
    if any(p.volume_threshold for p in prices):
        months = {
            periods.month_start(m.date())
            for m in rows.annotate(m=TruncMonth("charge_period_start", tzinfo=datetime.UTC))
            .order_by()
            .values_list("m", flat=True)
            .distinct()
        }
        volumes = model_month_volumes(model_ids={model.pk}, months=months)
    rows = rows.order_by().values_list(
        "id", "charge_period_start", "effective_cost", "currency", "raw_extras"
    )
    before, after = defaultdict(Decimal), defaultdict(Decimal)
    changed, days, skipped = [], set(), 0
    for ident, at, cost, currency, extras in rows.iterator(chunk_size=CHUNK):
        day = at.astimezone(datetime.UTC).date()
        uncached, cache_read, cache_write, output = (int(t) for t in extras[PRICED_TOKENS])
        costed = usage_cost(
            model,
            on_date=day,
            input_tokens=uncached,
            cache_read_tokens=cache_read,
            cache_write_tokens=cache_write,
            output_tokens=output,
            tier=extras.get("service_tier") or PriceTier.STANDARD,
            monthly_volume=volumes.get((model.pk, periods.month_start(day)), 0),
            prices=prices,
        )
        new = costed.amount.quantize(COST_PLACES)
        before[currency] += cost
        if costed.currency != currency:
            skipped += 1
            after[currency] += cost
            continue
        after[currency] += new
        if new != cost:
            changed.append((ident, new))
            days.add(day)
    if changed:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                for i in range(0, len(changed), CHUNK):
                    part = changed[i : i + CHUNK]
                    cursor.execute(
                        "UPDATE showback_spendrecord AS s SET effective_cost = v.cost, list_cost = v.cost "
                        "FROM unnest(%s::bigint[], %s::numeric[]) AS v(id, cost) WHERE s.id = v.id",
                        [[c[0] for c in part], [c[1] for c in part]],
                    )
        else:  # SQLite (make run)
            for ident, new in changed:
                SpendRecord.objects.filter(pk=ident).update(effective_cost=new, list_cost=new)
        daily_spend_rebuild(start=min(days), end=min(max(days), periods.today()))
    return {"events": len(changed), "skipped": skipped, "before": dict(before), "after": dict(after)}


def tiered_model_ids() -> set:
    """The models with a price that has a volume threshold: the only ones whose month volume
    matters."""
    return set(
        PriceBookEntry.objects.filter(volume_threshold__gt=0)
        .order_by()
        .values_list("model_id", flat=True)
        .distinct()
    )


def month_tokens(records) -> dict:
    """{(model id, month start): tokens} of these SpendRecords (a queryset), in one query."""
    rows = (
        records.filter(model__isnull=False)
        .annotate(month=TruncMonth("charge_period_start", tzinfo=datetime.UTC))
        .values("model_id", "month")
        .annotate(tokens=Sum(F("input_tokens") + F("cached_tokens") + F("output_tokens")))
        .order_by()
    )
    return {(r["model_id"], r["month"].date()): int(r["tokens"] or 0) for r in rows if r["tokens"]}


def volume_tiers_settle(*, actor, changes, cause, costed_at=None) -> int:
    """Re-cost, audited, each (model, month) whose volume `changes` ({(model id, month): tokens the
    import added, or took away when negative}) carried across a volume threshold of the model's
    prices. `costed_at` ({(model id, month): volume}) are the highest volumes the import costed its
    own rows at, where it went past the month's final volume (rows it read twice). Returns the rows
    and events re-costed. Three queries when no month crossed a tier."""
    changes = {key: tokens for key, tokens in changes.items() if tokens}
    costed_at = costed_at or {}
    keys = set(changes) | set(costed_at)
    if not keys:
        return 0
    thresholds = defaultdict(set)
    for model_id, threshold in PriceBookEntry.objects.filter(
        model_id__in={m for m, _ in keys}, volume_threshold__gt=0
    ).values_list("model_id", "volume_threshold"):
        thresholds[model_id].add(threshold)
    keys = {key for key in keys if thresholds[key[0]]}
    if not keys:
        return 0
    now = model_month_volumes(model_ids={m for m, _ in keys}, months={month for _, month in keys})
    crossed = []
    for model_id, month in sorted(keys, key=lambda k: (k[1], k[0])):
        final = now.get((model_id, month), 0)
        earlier = final - changes.get((model_id, month), 0)
        low, high = sorted((earlier, final))
        high = max(high, costed_at.get((model_id, month), 0))
        if any(low < t <= high for t in thresholds[model_id]):
            crossed.append((model_id, month))
    if not crossed:
        return 0
    models = AIModel.objects.in_bulk({m for m, _ in crossed})
    recosted = 0
    for model_id, month in crossed:
        result = estimates_recost(
            actor=actor,
            model=models[model_id],
            since=month,
            until=periods.months_back(month, -1),
            cause={**cause, "volume_month": month.isoformat(), "volume": now.get((model_id, month), 0)},
        )
        recosted += result.events
    return recosted
