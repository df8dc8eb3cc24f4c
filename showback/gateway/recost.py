"""Re-costing the gateway's estimated usage after a price of the book changes.

A usage event that brought no cost of its own (`cost_computed`) was costed with the price in force
on its day. When a price that takes effect on or before today is added or changed, portfolio sends
`model_prices_changed` inside its transaction; `usage_recost` costs again, with the same
`portfolio.pricing.usage_cost` at each event's own service tier and cache-write tokens, every
computed event of the model from that day on, and carries the differences into the gateway's
SpendRecords and the hourly telemetry with set-based UPDATEs, then rebuilds the daily rollups of
the days and use cases touched. Running it twice changes nothing the second time. An event whose
new price is in another currency than the one it was stored in is left as it is (its spend record
is keyed by currency): the re-costing counts it as skipped.

Volume tiers are settled on the month's volume as it stands when re-costing (the ledger's one
rule, `showback.selectors.model_month_volumes`: every token of the model in the month, from every
source), so a month costed event by event while its volume grew is re-costed at the tier the month
reached. An import that carries a month across a tier re-costs that month (`until` bounds it).
"""

import datetime
from collections import defaultdict
from decimal import Decimal

from django.db import connection
from django.db.models import F

from aifinops.core import periods
from portfolio.models import PriceBookEntry
from portfolio.pricing import usage_cost

from ..models import SpendRecord
from ..rollups import daily_spend_rebuild
from ..selectors import model_month_volumes
from .models import UsageEvent, UsageHourly
from .usage import _customer_and_tags_digest

CHUNK = 5000
COST_PLACES = Decimal("0.0000000001")


def usage_recost(sender, *, model, since, until=None, **kwargs) -> dict:
    """Re-cost the model's computed usage events from `since` on (before `until`, when given);
    {"events", "skipped", "before", "after"}: events whose cost changed, and the totals per
    currency of the events looked at."""
    start = datetime.datetime.combine(since, datetime.time.min, tzinfo=datetime.UTC)
    events = UsageEvent.objects.filter(model_id=model.pk, cost_computed=True, occurred_at__gte=start)
    last = periods.today()
    if until is not None:
        events = events.filter(
            occurred_at__lt=datetime.datetime.combine(until, datetime.time.min, tzinfo=datetime.UTC)
        )
        last = min(last, until - datetime.timedelta(days=1))
    prices = list(PriceBookEntry.objects.filter(model=model))
    volumes = {}
    if any(p.volume_threshold for p in prices):
        months, month = set(), periods.month_start(since)
        while month <= last:
            months.add(month)
            month = periods.months_back(month, -1)
        volumes = model_month_volumes(model_ids={model.pk}, months=months)
    events = events.order_by().values_list(
        "id",
        "occurred_at",
        "use_case_id",
        "input_tokens",
        "cached_tokens",
        "cache_write_tokens",
        "output_tokens",
        "service_tier",
        "cost",
        "currency",
        "customer",
        "tags",
    )
    before, after = defaultdict(Decimal), defaultdict(Decimal)
    changed, skipped = [], 0
    record_deltas, hourly_deltas = defaultdict(Decimal), defaultdict(Decimal)
    touched = defaultdict(set)
    for (
        ident,
        at,
        use_case_id,
        tokens_in,
        tokens_cached,
        tokens_written,
        tokens_out,
        tier,
        cost,
        currency,
        customer,
        tags,
    ) in events.iterator(chunk_size=CHUNK):
        day = at.astimezone(datetime.UTC).date()
        costed = usage_cost(
            model,
            on_date=day,
            input_tokens=tokens_in,
            cache_read_tokens=tokens_cached,
            cache_write_tokens=tokens_written,
            output_tokens=tokens_out,
            tier=tier,
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
        if new == cost:
            continue
        delta = new - cost
        changed.append((ident, at, new))
        key = f"{use_case_id}:{day:%Y-%m-%d}:{model.ref}:{currency}"
        if customer or tags:
            key += ":" + _customer_and_tags_digest({"customer": customer, "tags": tags})
        record_deltas[key] += delta
        hour = at.astimezone(datetime.UTC).replace(minute=0, second=0, microsecond=0)
        hourly_deltas[use_case_id, hour, currency] += delta
        touched[use_case_id].add(day)
    if changed:
        _apply(changed, record_deltas, hourly_deltas)
        days = {d for ds in touched.values() for d in ds}
        daily_spend_rebuild(start=min(days), end=max(days), use_case_ids=sorted(touched))
    return {"events": len(changed), "skipped": skipped, "before": dict(before), "after": dict(after)}


def _apply(changed, record_deltas, hourly_deltas):
    if connection.vendor != "postgresql":  # SQLite (make run): row by row is enough there
        for ident, at, new in changed:
            UsageEvent.objects.filter(id=ident, occurred_at=at).update(cost=new)
        for key, delta in record_deltas.items():
            SpendRecord.objects.filter(source="gateway", source_row_key=key).update(
                effective_cost=F("effective_cost") + delta, list_cost=F("list_cost") + delta
            )
        for (use_case_id, hour, currency), delta in hourly_deltas.items():
            UsageHourly.objects.filter(use_case_id=use_case_id, hour=hour, currency=currency).update(
                cost=F("cost") + delta
            )
        return
    with connection.cursor() as cursor:
        for i in range(0, len(changed), CHUNK):
            part = changed[i : i + CHUNK]
            cursor.execute(
                "UPDATE showback_usageevent AS e SET cost = v.cost "
                "FROM unnest(%s::bigint[], %s::timestamptz[], %s::numeric[]) AS v(id, at, cost) "
                "WHERE e.id = v.id AND e.occurred_at = v.at",
                [[c[0] for c in part], [c[1] for c in part], [c[2] for c in part]],
            )
        keys = list(record_deltas)
        cursor.execute(
            "UPDATE showback_spendrecord AS s "
            "SET effective_cost = s.effective_cost + v.d, list_cost = s.list_cost + v.d "
            "FROM unnest(%s::text[], %s::numeric[]) AS v(k, d) "
            "WHERE s.source = 'gateway' AND s.source_row_key = v.k",
            [keys, [record_deltas[k] for k in keys]],
        )
        hours = list(hourly_deltas)
        cursor.execute(
            "UPDATE showback_usagehourly AS h SET cost = h.cost + v.d "
            "FROM unnest(%s::bigint[], %s::timestamptz[], %s::text[], %s::numeric[]) AS v(u, hr, c, d) "
            "WHERE h.use_case_id = v.u AND h.hour = v.hr AND h.currency = v.c",
            [
                [h[0] for h in hours],
                [h[1] for h in hours],
                [h[2] for h in hours],
                [hourly_deltas[h] for h in hours],
            ],
        )
