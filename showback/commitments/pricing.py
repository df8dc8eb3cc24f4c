"""What usage would have cost at on-demand prices: the one function the commitments compare with.

On-demand is the provider's list price, not what the company negotiated: the price book's list
price in force on the usage's day (standard tier), through `portfolio.pricing.usage_cost`, so a
list price change mid-term changes the on-demand value of the days from it on only. A model with
no list price in the book is priced at its catalog fields. Usage the book cannot price (no model,
no token counts, or a price in another currency than the usage) counts at the bill's own list
cost. The rollup's cached tokens are the prompt cache's reads and writes together: they are priced
at the cache-read price.
"""

from decimal import Decimal

from django.db.models import Prefetch

from portfolio.choices import PriceKind
from portfolio.models import AIModel, PriceBookEntry
from portfolio.pricing import usage_cost

ZERO = Decimal("0")


def list_prices_load(model_ids) -> dict:
    """{model id: (AIModel, its list price rows)} for the models of the usage, in two queries
    however many models, days and commitments there are."""
    ids = {i for i in model_ids if i}
    if not ids:
        return {}
    models = AIModel.objects.filter(pk__in=ids).prefetch_related(
        Prefetch("prices", queryset=PriceBookEntry.objects.filter(kind=PriceKind.LIST), to_attr="list_prices")
    )
    return {m.pk: (m, m.list_prices) for m in models}


def on_demand_cost(row: dict, *, list_prices: dict) -> Decimal:
    """A usage row's value at on-demand prices. `row` holds the day (date), model_id, currency,
    the token counts (input_tokens, cached_tokens, output_tokens) and list_cost; `list_prices` is
    what `list_prices_load` returned for the rows' models."""
    tokens = (
        (row.get("input_tokens") or 0) + (row.get("cached_tokens") or 0) + (row.get("output_tokens") or 0)
    )
    found = list_prices.get(row.get("model_id"))
    if found is None or not tokens:
        return Decimal(row.get("list_cost") or ZERO)
    model, prices = found
    costed = usage_cost(
        model,
        on_date=row["date"],
        input_tokens=row.get("input_tokens") or 0,
        cache_read_tokens=row.get("cached_tokens") or 0,
        output_tokens=row.get("output_tokens") or 0,
        prices=prices,
    )
    if costed.currency != row.get("currency"):
        return Decimal(row.get("list_cost") or ZERO)
    return costed.amount
