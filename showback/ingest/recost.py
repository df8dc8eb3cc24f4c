"""Re-costing the usage-only rows of imports after a price of the book changes.

A usage-only row (tokens and no cost: LiteLLM or usage exports) is costed at import with the price
in force on its day, and keeps the tokens it was costed from in `raw_extras["priced_tokens"]`.
When a price in force from a past day is added or changed, `spend_estimates_recost` (a receiver of
`portfolio.signals.model_prices_changed`, in the price's transaction) costs those rows of the model
again from that day on with the same `portfolio.pricing.usage_cost`, and rebuilds the daily
rollups of the days touched. Running it twice changes nothing the second time. A row whose price is
now in another currency than its own is left as it is and counted as skipped.
"""

import datetime
from collections import defaultdict
from decimal import Decimal

from django.db import connection

from aifinops.core import periods
from portfolio.models import PriceBookEntry
from portfolio.pricing import usage_cost

from ..models import SpendRecord
from ..rollups import daily_spend_rebuild
from .services import PRICED_TOKENS

CHUNK = 5000
COST_PLACES = Decimal("0.0000000001")


def spend_estimates_recost(sender, *, model, since, **kwargs) -> dict:
    """{"events", "skipped", "before", "after"}: rows whose cost changed, and the totals per
    currency of the rows looked at."""
    start = datetime.datetime.combine(since, datetime.time.min, tzinfo=datetime.UTC)
    prices = list(PriceBookEntry.objects.filter(model=model))
    rows = (
        SpendRecord.objects.filter(
            model_id=model.pk,
            is_estimated=True,
            charge_period_start__gte=start,
            raw_extras__has_key=PRICED_TOKENS,
        )
        .exclude(source="gateway")
        .order_by()
        .values_list("id", "charge_period_start", "effective_cost", "currency", "raw_extras")
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
