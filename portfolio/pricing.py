"""The price book's one costing rule: which price is in force, and what tokens cost at it.

Every estimate of spend (the gateway's usage events, usage-only imports, the intake's monthly
estimate, planning, re-costing after a price change) calls `usage_cost`; nothing else multiplies
tokens by a price.

The price in force for a model, a day, a service tier and a monthly volume is, among the rows of
that tier whose `effective_from` is on or before the day and whose volume threshold the month has
reached: a negotiated price before a list price, then the latest `effective_from`, then the
highest volume threshold. A tier with no price of its own (a batch call where the book has only
standard prices) takes the standard tier's price. A model with no price in the book is costed at
its catalog fields (the list-price mirror), with no price row to name.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from .choices import PriceKind, PriceTier

MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class Costed:
    amount: Decimal
    currency: str
    price_id: int | None


def price_pick(prices, *, on_date: datetime.date, tier=PriceTier.STANDARD, monthly_volume: int = 0):
    """The row of `prices` (one model's PriceBookEntry rows, loaded) in force, or None."""

    def best(of_tier):
        eligible = [
            p
            for p in prices
            if p.tier == of_tier and p.effective_from <= on_date and p.volume_threshold <= monthly_volume
        ]
        if not eligible:
            return None
        return max(
            eligible, key=lambda p: (p.kind == PriceKind.NEGOTIATED, p.effective_from, p.volume_threshold)
        )

    found = best(tier)
    if found is None and tier != PriceTier.STANDARD:
        found = best(PriceTier.STANDARD)
    return found


def usage_cost(
    model,
    *,
    on_date: datetime.date,
    input_tokens: int = 0,
    output_tokens: int = 0,
    cache_read_tokens: int = 0,
    cache_write_tokens: int = 0,
    tier=PriceTier.STANDARD,
    monthly_volume: int = 0,
    prices=None,
) -> Costed:
    """What these tokens of one call (or of calls alike) cost on `on_date`.

    `input_tokens` are the uncached prompt tokens; cache reads and writes are counted apart.
    `prices` are the model's price rows when the caller has loaded them (a batch loads them once);
    otherwise they are read here, in one query.
    """
    if prices is None:
        prices = list(model.prices.all())
    price = price_pick(prices, on_date=on_date, tier=tier, monthly_volume=monthly_volume)
    if price is None:
        input_price, output_price = model.input_price_per_mtok, model.output_price_per_mtok
        cache_read_price = model.cached_input_price_per_mtok
        cache_write_price = None
        currency, price_id = model.currency, None
    else:
        input_price, output_price = price.input_price_per_mtok, price.output_price_per_mtok
        prompt = input_tokens + cache_read_tokens + cache_write_tokens
        if price.long_context_threshold is not None and prompt > price.long_context_threshold:
            if price.long_context_input_price_per_mtok is not None:
                input_price = price.long_context_input_price_per_mtok
            if price.long_context_output_price_per_mtok is not None:
                output_price = price.long_context_output_price_per_mtok
        cache_read_price = price.cache_read_price_per_mtok
        cache_write_price = price.cache_write_price_per_mtok
        currency, price_id = price.currency, price.pk
    if cache_read_price is None:
        cache_read_price = input_price
    if cache_write_price is None:
        # A floor: providers charge a premium for cache writes that the book may not hold.
        cache_write_price = input_price
    amount = (
        Decimal(input_tokens) * input_price
        + Decimal(cache_read_tokens) * cache_read_price
        + Decimal(cache_write_tokens) * cache_write_price
        + Decimal(output_tokens) * output_price
    ) / MILLION
    return Costed(amount=amount, currency=currency, price_id=price_id)
